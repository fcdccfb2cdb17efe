"""The fair-division plugin of the batch runner (:mod:`fairsim.sim.domains`).

One task = one ``(design point, replication)``: an instance of TRUE valuations is drawn
(:mod:`fairsim.agents.division`; utility form, ``-costs`` for chores), behaviours are assigned to
agents, and every mechanism runs on the REPORTS of its own agents: strategic (``best_response``)
agents best-respond to THAT mechanism (spec ``divsim``: each agent in turn picks the candidate
report maximising the true value of its bundle). Metrics and axioms are scored on the TRUE
valuations (paired comparison: every mechanism sees the same instance and arrival order).

Online mechanisms (registry metadata ``online=True``) see the items in the instance's arrival
order (``instances.arrival``: a random permutation per instance, or index order); the assignment
is mapped back to item indices. Offline mechanisms see the items in index order.

Seeds (children of ``SeedSequence(root, spawn_key=(dp, rep))``): ``(0,)`` instance, ``(1,)``
behaviour assignment (:func:`fairsim.sim.facility.assign_behaviours`), ``(3,)`` arrival order.

Columns (besides the common ones): head ``distribution``, ``behaviour``; mid ``m``, ``items``
(``goods``/``chores``), ``assignment`` (list<int64>: the agent of each item), ``utilities``
(list<float64>: each agent's TRUE utility, negative for chores). ``metric.mms_ratio`` is the
minimum over agents of :func:`fairsim.axioms.division.mms_ratio` (exact MMS kernel); ``axiom.*``
columns are named by the axiom's label (``mms`` with ``params: {alpha: 0.5}`` can be labelled
``mms_half``). No ``rounds.parquet`` rows. Analyses (``type: adversarial_online``): see
:func:`run_analyses`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

import fairsim.agents.division as agents
import fairsim.axioms.division  # noqa: F401 - registers the division.* axioms
import fairsim.mechanisms.division  # noqa: F401 - registers the division.* mechanisms
from fairsim import registry
from fairsim.errors import InputError
from fairsim.sim import schema as S
from fairsim.sim import store
from fairsim.sim._plugin_common import error_text, mechanism_row, record_error, task_row
from fairsim.sim.facility import assign_behaviours, behaviour_label, child_seed, witness_json

_DOMAIN = "division"
HEAD = list(store.FACILITY_HEAD)  # distribution, behaviour
MID = [
    ("m", pa.int64()),
    ("items", pa.string()),
    ("assignment", pa.list_(pa.int64())),
    ("utilities", pa.list_(pa.float64())),
]
ROUNDS = pa.schema(store.ROUNDS_KEY)


def draw_instance(spec: Any, rng: np.random.Generator) -> np.ndarray:
    """TRUE valuations (n, m) in utility form (``-costs`` for chores) of one instance."""
    V = agents.draw_valuations(
        spec.generator,
        int(spec.n),
        int(spec.m),
        rng,
        low=int(spec.low),
        high=int(spec.high),
        noise=float(spec.noise),
        a=float(spec.a),
        p=float(spec.p),
    )
    return -V if spec.items == "chores" else V


def mechanism_runner(
    entry: Any, params: dict[str, Any], order: np.ndarray | None
) -> Callable[[np.ndarray], np.ndarray]:
    """``R -> assignment`` for a registered division mechanism.

    Online mechanisms get the columns of ``R`` in ``order`` (when given) and their answer is mapped
    back to item indices; a mechanism returning ``None`` (no allocation exists) raises.
    """
    online = bool(entry.extra.get("online")) and order is not None

    def run(R: np.ndarray) -> np.ndarray:
        X = R[:, order] if online else R
        res = entry.func(X, **params)
        if res is None:
            raise InputError(f"{entry.short_name} found no allocation (None)")
        x = np.asarray(getattr(res, "assignment", res), dtype=np.int64)
        if online:
            out = np.empty_like(x)
            out[order] = x
            return out
        return x

    return run


def _metric(entry: Any, V: np.ndarray, x: np.ndarray) -> float:
    val = entry.func(V, x)
    return float(val[0] if isinstance(val, tuple) else val)


def _axiom(entry: Any, V: np.ndarray, x: np.ndarray, params: dict[str, Any]) -> Any:
    sig = inspect.signature(entry.func).parameters
    kw = {k: v for k, v in params.items() if k in sig}
    return entry.func(V, x, **kw)


def _reports(
    scenario: Any, V: np.ndarray, which: np.ndarray, run: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """The report matrix: each behaviour group applied in turn to its agents."""
    R = V.copy()
    for b, bspec in enumerate(scenario.behaviours):
        idx = np.flatnonzero(which == b)
        if idx.size == 0:
            continue
        f = registry.get(bspec.name, "behaviour", domain=_DOMAIN).func
        if bspec.name.endswith("truthful"):
            continue
        R = f(V, idx, run, R, **bspec.params)
    return R


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
        n=int(spec.n),
        m=int(spec.m),
        items=spec.items,
    )
    rows: list[dict[str, Any]] = []
    try:
        V = draw_instance(spec, np.random.default_rng(child_seed(seq, 0)))
        which = assign_behaviours(
            int(spec.n),
            [b.share for b in scenario.behaviours],
            np.random.default_rng(child_seed(seq, 1)),
        )
        order = (
            np.random.default_rng(child_seed(seq, 3)).permutation(int(spec.m))
            if spec.arrival == "random"
            else None
        )
        axioms = [(a, registry.get(a.name, "axiom", domain=_DOMAIN)) for a in scenario.axioms]
        metrics = [registry.get(m, "metric", domain=_DOMAIN) for m in scenario.metrics]
        setup_error = None
    except Exception as exc:  # noqa: BLE001 - recorded in the error column
        setup_error = error_text(exc)
    for k, mspec in enumerate(scenario.mechanisms):
        row, entry = mechanism_row(base, k, mspec, _DOMAIN, setup_error)
        if entry is None:
            rows.append(row)
            continue
        try:
            run = mechanism_runner(entry, dict(mspec.params), order)
            R = _reports(scenario, V, which, run)
            x = run(R)
            row["assignment"] = [int(i) for i in x]
            row["utilities"] = [agents.true_value(V, x, i) for i in range(V.shape[0])]
            for me in metrics:
                row[S.METRIC_PREFIX + me.short_name] = _metric(me, V, x)
            for aspec, ae in axioms:
                v = _axiom(ae, V, x, dict(aspec.params))
                col = aspec.column
                row[S.AXIOM_PREFIX + col] = bool(v.holds)
                row[S.SLACK_PREFIX + col] = float(v.slack)
                row[S.WITNESS_PREFIX + col] = witness_json(v.witness)
        except Exception as exc:  # noqa: BLE001 - recorded in the error column
            record_error(row, exc, ("assignment", "utilities"))
        rows.append(row)
    return rows, []


def schemas(points: Sequence[Any], kinds: Sequence[tuple[str, str]]) -> tuple[Any, Any]:
    """(results schema, rounds schema) of the fair-division design points ``points``."""
    metrics = store.registered_names(points, "metrics", "metric", _DOMAIN)
    axioms = store.unique([a.column for dp in points for a in dp.scenario.axioms])
    return store.results_schema(kinds, metrics, axioms, head=HEAD, mid=MID), ROUNDS


ANALYSIS_KEY = 0xA7A1
"""First spawn-key word of the analyses' seeds (as :mod:`fairsim.sim.runner`)."""


def _bound(algorithm: str, n: int) -> float:
    """The guarantee the search tests: 0.5 (goods, spec §6.1) or 2 - 1/n (chores, spec §6.2)."""
    return 0.5 if algorithm == "goods_two_agents" else 2.0 - 1.0 / n


def run_analyses(scenario: Any, root_seed: int) -> list[dict[str, Any]]:
    """Rows of ``analyses.parquet``: one per ``adversarial_online`` analysis x n x m.

    Each row holds ``ratio`` = the worst ratio found by
    :func:`fairsim.mechanisms._division_adversary.adversarial_online_search` (goods: the smallest
    u_i/MMS_i; chores: the largest c_i/MMS^c_i; exact MMS only), ``expected`` = the bound (0.5 or
    2 - 1/n), ``worst_profile`` = the worst instance as the rule saw it (``V[:, order]`` flattened
    row-major, n x m), ``profiles_checked`` = the evaluations. ``mechanism`` is the online rule,
    ``objective`` ``"min_mms_ratio"`` (goods) or ``"max_cost_over_mms"`` (chores), ``method``
    ``"adversarial_m=<m>"``. Seeds: ``SeedSequence(root_seed, spawn_key=(ANALYSIS_KEY, a, n, m))``.
    Errors go to ``error``.
    """
    from fairsim.mechanisms._division_adversary import adversarial_online_search

    rows: list[dict[str, Any]] = []
    for a_idx, an in enumerate(getattr(scenario, "analyses", [])):
        goods = an.algorithm == "goods_two_agents"
        for n in an.n:
            for m in an.m:
                row: dict[str, Any] = {
                    "analysis": an.id,
                    "type": an.type,
                    "mechanism": "online_goods_two_agents" if goods else "online_chores",
                    "n": int(n),
                    "objective": "min_mms_ratio" if goods else "max_cost_over_mms",
                    "method": f"adversarial_m={int(m)}",
                }
                try:
                    seq = np.random.SeedSequence(
                        root_seed, spawn_key=(ANALYSIS_KEY, a_idx, int(n), int(m))
                    )
                    ratio, V, order, evals = adversarial_online_search(
                        an.algorithm,
                        int(n),
                        int(m),
                        restarts=int(an.restarts),
                        iterations=int(an.iterations),
                        rng=np.random.default_rng(seq),
                        values_range=(int(an.values_range[0]), int(an.values_range[1])),
                        temperature=float(an.temperature),
                        params=dict(an.params),
                    )
                    row["ratio"] = float(ratio)
                    row["worst_profile"] = (
                        None
                        if V is None or order is None
                        else V[:, order].astype(np.float64).reshape(-1).tolist()
                    )
                    row["profiles_checked"] = int(evals)
                    row["expected"] = _bound(an.algorithm, int(n))
                except Exception as exc:  # noqa: BLE001 - recorded in the error column
                    row["error"] = error_text(exc)
                rows.append(row)
    return rows


__all__ = ["draw_instance", "mechanism_runner", "run_analyses", "run_one", "schemas"]
