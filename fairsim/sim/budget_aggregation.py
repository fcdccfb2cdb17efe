"""The divisible-budget-aggregation plugin of the batch runner (:mod:`fairsim.sim.domains`).

One task = one ``(design point, replication)``: a TRUE profile P is drawn
(:mod:`fairsim.agents.budget_aggregation`; a real ``.pb`` file is read once per process and its
approval ballots split uniformly [F]), behaviours are assigned to voters, and every mechanism
runs on the REPORTS of its own voters: ``best_response`` voters optimise against THAT mechanism
(Gauss–Seidel, from truthful reports). Metrics and axioms are scored on P and the final
allocation; ``strategyproofness`` is a deviation search on the mechanism at the TRUE profile
(a property of the rule at this profile, whatever the behaviours) [F].

Seeds (children of ``SeedSequence(root, spawn_key=(dp, rep))``): ``(0,)`` profile, ``(1,)``
behaviour assignment (:func:`fairsim.sim.facility.assign_behaviours`), ``(2, k)`` the
best-response search of mechanism k, ``(4,)`` the deviation search (the same for every
mechanism: paired).

Columns (besides the common ones): head ``distribution``, ``behaviour``; mid ``m``,
``allocation`` (list<float64>: the final allocation), ``truthful_allocation`` (list<float64>:
under truthful reports). No ``rounds.parquet`` rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

import fairsim.agents.budget_aggregation as agents
import fairsim.axioms.budget_aggregation  # noqa: F401 - registers axioms and metrics
import fairsim.mechanisms._aggregation_baselines  # noqa: F401 - registers the baselines
import fairsim.mechanisms.budget_aggregation  # noqa: F401 - registers the moving phantoms
from fairsim import registry
from fairsim.agents.budgeting import election_ballots
from fairsim.errors import InputError
from fairsim.sim import schema as S
from fairsim.sim import store
from fairsim.sim._plugin_common import (
    error_text,
    mechanism_row,
    read_pb,
    record_error,
    resolve_path,
    sample_ballots,
    task_row,
)
from fairsim.sim.facility import assign_behaviours, behaviour_label, child_seed, witness_json

_DOMAIN = "budget_aggregation"
HEAD = list(store.FACILITY_HEAD)  # distribution, behaviour
MID = [
    ("m", pa.int64()),
    ("allocation", pa.list_(pa.float64())),
    ("truthful_allocation", pa.list_(pa.float64())),
]
ROUNDS = pa.schema(store.ROUNDS_KEY)


@lru_cache(maxsize=16)
def _approvals(path: str) -> tuple[np.ndarray, np.ndarray]:
    A, w = election_ballots(read_pb(path), np.int64)
    keep = A.any(axis=1)
    return A[keep], w[keep]


def draw_instance(
    spec: Any, rng: np.random.Generator, base_dir: str | Path | None = None
) -> tuple[np.ndarray, str]:
    """``(true profile (n, m), source label)`` of one instance."""
    if spec.generator == "pabulib":
        path = resolve_path(spec.path, base_dir)
        A, w = _approvals(str(path))
        A = sample_ballots(A, w, spec.n, rng)
        return agents.profile_from_approvals(A), f"pabulib:{path.stem}"
    P = agents.draw_profile(
        spec.generator,
        int(spec.n),
        int(spec.m),
        rng,
        alpha=float(spec.alpha),
        parties=int(spec.parties),
        noise=float(spec.noise),
    )
    return P, spec.generator


def _reports(
    scenario: Any, P: np.ndarray, which: np.ndarray, mech: Any, rng: np.random.Generator
) -> np.ndarray:
    """Truthful reports, then each non-truthful behaviour group in scenario order."""
    R = P.copy()
    for b, bspec in enumerate(scenario.behaviours):
        idx = np.flatnonzero(which == b)
        if idx.size == 0 or bspec.name.endswith("truthful"):
            continue
        f = registry.get(bspec.name, "behaviour", domain=_DOMAIN).func
        R = f(P, idx, mech, R, rng, **bspec.params)
    return R


def _score(
    row: dict[str, Any], scenario: Any, P: np.ndarray, a: np.ndarray, mech: Any, sp_seed: int
) -> None:
    for name in scenario.metrics:
        me = registry.get(name, "metric", domain=_DOMAIN)
        row[S.METRIC_PREFIX + me.short_name] = float(me.func(P, a))
    dev = scenario.deviation
    for name in scenario.axioms:
        ae = registry.get(name, "axiom", domain=_DOMAIN)
        if ae.extra.get("signature") == "mechanism":
            v = ae.func(
                mech,
                P,
                random=dev.random,
                passes=dev.passes,
                max_voters=dev.max_voters,
                seed=sp_seed,
                tol=dev.tol,
            )
        else:
            v = ae.func(P, a)
        row[S.AXIOM_PREFIX + ae.short_name] = bool(v.holds)
        row[S.SLACK_PREFIX + ae.short_name] = float(v.slack)
        row[S.WITNESS_PREFIX + ae.short_name] = witness_json(v.witness)


def run_one(
    scenario: Any, dp: int, rep: int, root_seed: int, base_dir: str | Path | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every mechanism of design point ``dp``, replication ``rep`` (see the module docstring)."""
    seq = np.random.SeedSequence(root_seed, spawn_key=(dp, rep))
    spec = scenario.instances
    base: dict[str, Any] = task_row(
        scenario,
        dp,
        rep,
        root_seed,
        behaviour=behaviour_label(scenario.behaviours),
        distribution=spec.generator,
    )
    setup_error = None
    try:
        P, label = draw_instance(spec, np.random.default_rng(child_seed(seq, 0)), base_dir)
        base.update(distribution=label, n=int(P.shape[0]), m=int(P.shape[1]))
        which = assign_behaviours(
            int(P.shape[0]),
            [b.share for b in scenario.behaviours],
            np.random.default_rng(child_seed(seq, 1)),
        )
        sp_seed = int(child_seed(seq, 4).generate_state(1)[0])
    except Exception as exc:  # noqa: BLE001 - recorded in the error column
        setup_error = error_text(exc)
    rows: list[dict[str, Any]] = []
    for k, mspec in enumerate(scenario.mechanisms):
        row, entry = mechanism_row(base, k, mspec, _DOMAIN, setup_error)
        if entry is None:
            rows.append(row)
            continue
        params = dict(mspec.params)

        def mech(R: np.ndarray, _f: Any = entry.func, _p: dict[str, Any] = params) -> np.ndarray:
            return np.asarray(_f(R, **_p), dtype=np.float64)

        try:
            a0 = mech(P)
            R = _reports(scenario, P, which, mech, np.random.default_rng(child_seed(seq, 2, k)))
            a = mech(R)
            row.update(allocation=a.tolist(), truthful_allocation=a0.tolist())
            _score(row, scenario, P, a, mech, sp_seed)
        except Exception as exc:  # noqa: BLE001 - recorded in the error column
            record_error(row, exc, ("allocation", "truthful_allocation"))
        rows.append(row)
    return rows, []


def schemas(points: Sequence[Any], kinds: Sequence[tuple[str, str]]) -> tuple[Any, Any]:
    """(results schema, rounds schema) of the budget-aggregation design points ``points``."""
    metrics = store.registered_names(points, "metrics", "metric", _DOMAIN)
    axioms = store.registered_names(points, "axioms", "axiom", _DOMAIN)
    return store.results_schema(kinds, metrics, axioms, head=HEAD, mid=MID), ROUNDS


def run_analyses(scenario: Any, root_seed: int) -> list[dict[str, Any]]:
    """Budget-aggregation scenarios have no analyses (an empty list)."""
    if getattr(scenario, "analyses", []):
        raise InputError("budget_aggregation scenarios have no analyses")
    return []


__all__ = ["draw_instance", "run_analyses", "run_one", "schemas"]
