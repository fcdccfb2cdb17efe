"""The participatory-budgeting plugin of the batch runner (:mod:`fairsim.sim.domains`).

One task = one ``(design point, replication)``: for each election year ``y`` an instance is drawn
(:mod:`fairsim.agents.budgeting`; a real ``.pb`` file is read once per process) and every
mechanism runs on the voters' REPORTED ballots; metrics and axioms are scored on the TRUE ballots
(paired comparison: all mechanisms see the same instance and the same reports).

Seeds (children of ``SeedSequence(root, spawn_key=(dp, rep))``): ``(0, y)`` instance of year y,
``(1, y)`` behaviour assignment (:func:`fairsim.sim.facility.assign_behaviours`), ``(2, k, y)``
mechanism k's draws (a lottery's marginals are deterministic; its ex-post outcome is one draw).

Axioms (spec ``budgeting.md`` §6): ex-post ones (``jr``, ``pjr``, ``ejr``, ``fjr``,
``ejr_up_to_one``, ``exhaustive``) on the selected set W with the scenario's ``utility`` and
``method="auto"``; ex-ante ones (``ifs``, ``ufs``, ``strong_ufs``, ``gfs``) on a lottery's
marginals (the 0/1 indicator of W for a deterministic rule [F]); ``bb1`` on the lottery (a
deterministic rule as the one-point lottery [F]).

Years [F]: the result row holds the last year's ``selected``/``cost``; ``metric.*`` is the mean
over years, ``axiom.*`` holds when it holds every year (``slack.*`` the minimum, ``witness.*``
the first failing year's witness with its ``"year"``). With ``years > 1`` each year is a row of
``rounds.parquet`` (``round`` = year, ``outcome`` = cost spent, ``selected``, scores).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from scipy import sparse

import fairsim.axioms.budgeting  # noqa: F401 - registers the budgeting.* axioms
import fairsim.mechanisms._budgeting_lottery  # noqa: F401 - registers fair_lottery etc.
import fairsim.mechanisms.budgeting  # noqa: F401 - registers the budgeting.* rules
from fairsim import registry
from fairsim.agents import budgeting as agents
from fairsim.errors import InputError
from fairsim.sim import schema as S
from fairsim.sim import store
from fairsim.sim.facility import assign_behaviours, behaviour_label, child_seed, witness_json

_DOMAIN = "budgeting"
HEAD = [("distribution", pa.string()), ("behaviour", pa.string())]
MID = [
    ("m", pa.int64()),
    ("budget", pa.float64()),
    ("selected", pa.list_(pa.string())),
    ("cost", pa.float64()),
    ("years", pa.int64()),
]
ROUNDS_HEAD = [
    ("run_id", pa.string()),
    ("design_point", pa.int64()),
    ("replication", pa.int64()),
    ("mechanism", pa.string()),
    ("round", pa.int64()),
    ("outcome", pa.float64()),
    ("selected", pa.list_(pa.string())),
]


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


@lru_cache(maxsize=16)
def _read_pb(path: str) -> Any:
    import warnings

    from fairsim.io.pabulib import PabulibWarning, read

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PabulibWarning)
        return read(path)


def _election(ids: list[str], costs: np.ndarray, budget: float, ballots: np.ndarray) -> Any:
    from fairsim.io.pabulib import Election

    return Election(
        project_ids=ids,
        costs=np.asarray(costs, dtype=np.float64),
        budget=float(budget),
        approvals=sparse.csr_matrix(np.asarray(ballots, dtype=np.bool_)),
    )


def draw_instance(
    spec: Any, rng: np.random.Generator, base_dir: str | Path | None = None
) -> tuple[Any, np.ndarray, np.ndarray, str]:
    """``(template election, true ballots (n, m), private utilities (n, m), source label)``."""
    if spec.generator == "pabulib":
        path = Path(spec.path)
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        e = _read_pb(str(path))
        A = np.asarray(e.approvals.toarray(), dtype=np.bool_)
        w = (
            np.ones(A.shape[0], dtype=np.int64)
            if e.multiplicities is None
            else np.asarray(e.multiplicities, dtype=np.int64)
        )
        if spec.n is not None:
            rows = rng.choice(A.shape[0], size=int(spec.n), replace=True, p=w / w.sum())
            A = A[rows]
        else:
            A = np.repeat(A, w, axis=0)
        utilities = rng.uniform(size=A.shape)
        return e, A, utilities, f"pabulib:{path.stem}"
    n, m = int(spec.n), int(spec.m)
    costs = agents.draw_costs(m, rng, spec.costs.low, spec.costs.high)
    A, utilities = agents.draw_ballots(
        spec.generator, n, m, rng, p=spec.p, phi=spec.phi, radius=spec.radius, dim=spec.dim
    )
    ids = [f"p{j}" for j in range(m)]
    e = _election(ids, costs, float(spec.budget_fraction * costs.sum()), A)
    return e, A, utilities, spec.generator


def _call(entry: Any, *args: Any, **kw: Any) -> Any:
    """Call ``entry.func`` with the keywords of ``kw`` that its signature accepts."""
    sig = inspect.signature(entry.func).parameters
    return entry.func(*args, **{k: v for k, v in kw.items() if k in sig})


def _lottery_of(e: Any, selected: list[str]) -> Any:
    from fairsim.mechanisms._budgeting_lottery import Lottery

    chosen = set(selected)
    pm = np.array([1.0 if p in chosen else 0.0 for p in e.project_ids])
    return Lottery(list(e.project_ids), np.asarray(e.costs, dtype=np.float64), e.budget, pm)


def _run_mechanism(entry: Any, spec: Any, e_rep: Any, utility: str, seq: Any) -> tuple[Any, Any]:
    """``(selected ids, lottery or None)`` of one rule on the reported election."""
    params = dict(spec.params)
    if "utility" in entry.params and "utility" not in params:
        params["utility"] = utility
    if entry.randomized:
        rng = np.random.default_rng(seq)
        res = entry.func(e_rep, rng=rng, **params)
        if hasattr(res, "marginals"):
            return list(res.sample(rng)), res
        return list(getattr(res, "selected", res)), None
    res = entry.func(e_rep, **params)
    return list(getattr(res, "selected", res)), None


def _score(
    e: Any, selected: list[str], lottery: Any, axioms: Sequence[Any], metrics: Sequence[Any], u: str
) -> tuple[dict[str, float], dict[str, Any]]:
    mets = {m.short_name: float(m.func(e, selected)) for m in metrics}
    verdicts: dict[str, Any] = {}
    for a in axioms:
        sigkind = a.extra.get("signature", "outcome")
        if sigkind == "lottery":
            verdicts[a.short_name] = a.func(
                lottery if lottery is not None else _lottery_of(e, selected)
            )
        elif a.extra.get("stage") == "ex_ante":
            p = lottery.marginals if lottery is not None else _lottery_of(e, selected).marginals
            verdicts[a.short_name] = _call(a, e, np.asarray(p, dtype=np.float64), method="auto")
        else:
            verdicts[a.short_name] = _call(a, e, selected, utility=u, method="auto")
    return mets, verdicts


def run_one(
    scenario: Any, dp: int, rep: int, root_seed: int, base_dir: str | Path | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every mechanism of design point ``dp``, replication ``rep`` (see the module docstring)."""
    seq = np.random.SeedSequence(root_seed, spawn_key=(dp, rep))
    run_id = f"{dp}-{rep}"
    years = int(scenario.elections.years)
    mechs = scenario.mechanisms
    axioms = [registry.get(a, "axiom", domain=_DOMAIN) for a in scenario.axioms]
    metrics = [registry.get(m, "metric", domain=_DOMAIN) for m in scenario.metrics]
    shares = [b.share for b in scenario.behaviours]
    base: dict[str, Any] = {
        "run_id": run_id,
        "design_point": dp,
        "replication": rep,
        "domain": scenario.kind,
        "behaviour": behaviour_label(scenario.behaviours),
        "seed": f"{root_seed}/{dp}/{rep}",
        "years": years,
    }
    rows = []
    for k, spec in enumerate(mechs):
        try:
            entry = registry.get(spec.name, "mechanism", domain=_DOMAIN)
            name, randomized = entry.short_name, bool(entry.randomized)
        except Exception:  # noqa: BLE001
            name, randomized = spec.name, False
        row = dict(base, mechanism=spec.display, mechanism_name=name)
        row.update(mechanism_order=k, randomized=randomized)
        rows.append(row)
    round_rows: list[dict[str, Any]] = []
    per_mech: list[list[tuple[dict[str, float], dict[str, Any]]]] = [[] for _ in mechs]
    failed: list[str | None] = [None] * len(mechs)
    for y in range(years):
        try:
            rng = np.random.default_rng(child_seed(seq, 0, y))
            e, A, U, label = draw_instance(scenario.instances, rng, base_dir)
            which = assign_behaviours(
                A.shape[0], shares, np.random.default_rng(child_seed(seq, 1, y))
            )
            R = A.copy()
            for b, bspec in enumerate(scenario.behaviours):
                idx = np.flatnonzero(which == b)
                if idx.size:
                    f = registry.get(bspec.name, "behaviour", domain=_DOMAIN).func
                    R[idx] = f(A[idx], U[idx], **bspec.params)
            ids = list(e.project_ids)
            e_true = _election(ids, e.costs, e.budget, A)
            e_rep = _election(ids, e.costs, e.budget, R)
        except Exception as exc:  # noqa: BLE001 - recorded in the error column
            for k in range(len(mechs)):
                failed[k] = failed[k] or _error_text(exc)
            continue
        for k, spec in enumerate(mechs):
            row = rows[k]
            row.update(distribution=label, n=int(A.shape[0]), m=len(ids), budget=float(e.budget))
            if failed[k] is not None:
                continue
            try:
                entry = registry.get(spec.name, "mechanism", domain=_DOMAIN)
                mseq = child_seed(seq, 2, k, y)
                selected, lottery = _run_mechanism(entry, spec, e_rep, scenario.utility, mseq)
                mets, verdicts = _score(
                    e_true, selected, lottery, axioms, metrics, scenario.utility
                )
            except Exception as exc:  # noqa: BLE001 - recorded in the error column
                failed[k] = _error_text(exc)
                continue
            pos = {p: j for j, p in enumerate(ids)}
            cost = float(sum(float(e.costs[pos[p]]) for p in selected))
            row.update(selected=[str(p) for p in selected], cost=cost)
            per_mech[k].append((mets, verdicts))
            if years > 1:
                rr = {
                    "run_id": run_id,
                    "design_point": dp,
                    "replication": rep,
                    "mechanism": spec.display,
                    "round": y,
                    "outcome": cost,
                    "selected": [str(p) for p in selected],
                }
                rr.update({S.METRIC_PREFIX + m: v for m, v in mets.items()})
                rr.update({S.AXIOM_PREFIX + a: bool(v.holds) for a, v in verdicts.items()})
                round_rows.append(rr)
    for k, row in enumerate(rows):
        if failed[k] is not None:
            for key in ("selected", "cost"):
                row.pop(key, None)
            row["error"] = failed[k]
            continue
        _aggregate(row, per_mech[k])
    return rows, round_rows


def _aggregate(row: dict[str, Any], years: list[tuple[dict[str, float], dict[str, Any]]]) -> None:
    """Metric means, axiom conjunctions, minimum slacks and the first failing witness."""
    for m in years[0][0]:
        row[S.METRIC_PREFIX + m] = float(np.mean([mets[m] for mets, _ in years]))
    for a in years[0][1]:
        holds = all(bool(v[a].holds) for _, v in years)
        row[S.AXIOM_PREFIX + a] = holds
        row[S.SLACK_PREFIX + a] = float(min(float(v[a].slack) for _, v in years))
        witness = None
        for y, (_, v) in enumerate(years):
            if not v[a].holds:
                w = v[a].witness
                witness = dict(w, year=y) if isinstance(w, dict) and len(years) > 1 else w
                break
        row[S.WITNESS_PREFIX + a] = witness_json(witness)


def schemas(points: Sequence[Any], kinds: Sequence[tuple[str, str]]) -> tuple[Any, Any]:
    """(results schema, rounds schema) of the PB design points ``points``."""
    axioms = store.registered_names(points, "axioms", "axiom", _DOMAIN)
    metrics = store.registered_names(points, "metrics", "metric", _DOMAIN)
    results = store.results_schema(kinds, metrics, axioms, head=HEAD, mid=MID)
    return results, store.scored_rounds_schema(ROUNDS_HEAD, metrics, axioms)


def run_analyses(scenario: Any, root_seed: int) -> list[dict[str, Any]]:
    """PB scenarios have no analyses (an empty list)."""
    if getattr(scenario, "analyses", []):
        raise InputError("participatory_budgeting scenarios have no analyses")
    return []


__all__ = ["draw_instance", "run_analyses", "run_one", "schemas"]
