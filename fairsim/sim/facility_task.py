"""The facility-location plugin of the batch runner (:mod:`fairsim.sim.domains`).

One task = one instance (locations) drawn per ``(design point, replication)`` and every mechanism
run on it (paired comparison); seeds as in :mod:`fairsim.sim.runner`. Also the facility analyses
(``approximation_ratio`` searches, spec §8.1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fairsim import registry
from fairsim.sim import schema as S
from fairsim.sim import store
from fairsim.sim._plugin_common import error_text, task_row

ANALYSIS_KEY = 0xA7A1
"""First spawn-key word of the analyses' seeds (design points use ``(dp, rep)``)."""

_DOMAIN = "facility"


def _mechanism_meta(spec: Any) -> tuple[str, bool]:
    try:
        entry = registry.get(spec.name, "mechanism", domain=_DOMAIN)
    except Exception:
        return spec.name, False
    return entry.short_name, bool(entry.randomized)


def run_one(
    scenario: Any, dp: int, rep: int, root_seed: int, base_dir: str | Path | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """All mechanisms of design point ``dp``, replication ``rep``: (result rows, round rows).

    ``scenario`` is the design point's scenario. Result rows lack the ``param.*`` columns (the
    runner adds them). Never raises for a failing run: the failure goes into the ``error`` column.
    """
    from fairsim.sim.facility import (
        SEED_INSTANCE,
        behaviour_label,
        child_seed,
        simulate_facility,
    )

    agents = scenario.agents
    n = int(agents.n)
    seq = np.random.SeedSequence(root_seed, spawn_key=(dp, rep))
    run_id = f"{dp}-{rep}"
    base = task_row(
        scenario,
        dp,
        rep,
        root_seed,
        n=n,
        distribution=agents.locations.distribution,
        behaviour=behaviour_label(agents.behaviours),
    )
    draw_error: str | None = None
    locations: list[float] | None = None
    try:
        from fairsim.agents.locations import draw_locations

        rng = np.random.default_rng(child_seed(seq, SEED_INSTANCE))
        x = draw_locations(agents.locations, n, rng, base_dir=base_dir, replication=rep)
        locations = np.asarray(x, dtype=np.float64).reshape(-1).tolist()
    except Exception as exc:  # noqa: BLE001 - recorded in the error column
        draw_error = error_text(exc)

    rows: list[dict[str, Any]] = []
    round_rows: list[dict[str, Any]] = []
    for k, spec in enumerate(scenario.mechanisms):
        name, randomized = _mechanism_meta(spec)
        row = dict(base)
        row.update(
            mechanism=spec.display,
            mechanism_name=name,
            mechanism_order=k,
            randomized=randomized,
            locations=locations,
        )
        if draw_error is not None:
            row["error"] = draw_error
            rows.append(row)
            continue
        try:
            rec = simulate_facility(
                locations,
                spec,
                agents.behaviours,
                scenario.dynamics,
                scenario.axioms,
                scenario.metrics,
                seq,
                mechanism_order=k,
            )
        except Exception as exc:  # noqa: BLE001 - recorded in the error column
            row["error"] = error_text(exc)
            rows.append(row)
            continue
        row.update(
            reports=rec.reports,
            outcome=rec.outcome,
            truthful_outcome=rec.truthful_outcome,
            rounds=rec.rounds,
            converged=rec.converged,
        )
        for m, value in rec.metrics.items():
            row[S.METRIC_PREFIX + m] = value
        for a, verdict in rec.axioms.items():
            row[S.AXIOM_PREFIX + a] = verdict.holds
            row[S.SLACK_PREFIX + a] = verdict.slack
            row[S.WITNESS_PREFIX + a] = verdict.witness
        rows.append(row)
        for r in rec.round_rows:
            rr = {
                "run_id": run_id,
                "design_point": dp,
                "replication": rep,
                "mechanism": spec.display,
            }
            rr.update(r)
            round_rows.append(rr)
    return rows, round_rows


# ------------------------------------------------------------------------------------------
# Analyses
# ------------------------------------------------------------------------------------------


def profiles_checked(
    anonymous: bool, n: int, method: str, grid: int | None, samples: int | None
) -> int:
    """Number of profiles ``approximation_ratio`` examines (spec §8.1): exhaustive C(G+n, n)
    multisets (anonymous mechanisms) or (G+1)^n tuples with default G = n·max(2, ⌈12/n⌉); random
    ``samples`` (default 10^5) plus the n+1 endpoint profiles."""
    if method == "random":
        return int(samples if samples is not None else 100_000) + n + 1
    g = grid if grid is not None else n * max(2, math.ceil(12 / n))
    return math.comb(g + n, n) if anonymous else (g + 1) ** n


def run_analyses(
    scenario: Any, root_seed: int, rows: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Rows of ``analyses.parquet``: each analysis x mechanism x n (errors go to ``error``).

    Rows are appended to ``rows`` (a new list by default) as they are computed.
    """
    rows = [] if rows is None else rows
    for a_idx, an in enumerate(scenario.analyses):
        for m_idx, spec in enumerate(an.mechanisms):
            for n in an.n:
                row: dict[str, Any] = {
                    "analysis": an.id,
                    "type": an.type,
                    "mechanism": spec.display,
                    "n": int(n),
                    "objective": an.objective,
                    "method": an.method,
                }
                try:
                    from fairsim.axioms.facility import approximation_ratio

                    entry = registry.get(spec.name, "mechanism", domain=_DOMAIN)
                    seq = np.random.SeedSequence(
                        root_seed, spawn_key=(ANALYSIS_KEY, a_idx, m_idx, int(n))
                    )
                    kwargs: dict[str, Any] = {}
                    if an.grid is not None:
                        kwargs["grid"] = an.grid
                    if an.samples is not None:
                        kwargs["samples"] = an.samples
                    ratio, worst = approximation_ratio(
                        spec.name,
                        int(n),
                        objective=an.objective,
                        method=an.method,
                        rng=np.random.default_rng(seq),
                        params=dict(spec.params),
                        **kwargs,
                    )
                    row["ratio"] = float(ratio)
                    row["worst_profile"] = (
                        None
                        if worst is None
                        else np.asarray(worst, dtype=np.float64).reshape(-1).tolist()
                    )
                    row["profiles_checked"] = profiles_checked(
                        bool(entry.extra.get("anonymous", False)),
                        int(n),
                        an.method,
                        an.grid,
                        an.samples,
                    )
                    if an.expected is not None:
                        f = registry.get(an.expected, "formula", domain=_DOMAIN).func
                        row["expected"] = float(f(int(n)))
                except Exception as exc:  # noqa: BLE001 - recorded in the error column
                    row["error"] = error_text(exc)
                rows.append(row)
    return rows


def schemas(points: Sequence[Any], kinds: Sequence[tuple[str, str]]) -> tuple[Any, Any]:
    """(results schema, rounds schema) of the facility design points ``points``."""

    def names(kind: str, attr: str, outcome_only: bool = False) -> list[str]:
        out_names = []
        for dp in points:
            for name in getattr(dp.scenario, attr):
                e = registry.get(name, kind, domain=_DOMAIN)
                if outcome_only and e.extra.get("signature", "outcome") != "outcome":
                    continue
                out_names.append(e.short_name)
        return store.unique(out_names)

    axioms = names("axiom", "axioms")
    metrics = names("metric", "metrics")
    outcome_axioms = names("axiom", "axioms", outcome_only=True)
    return store.results_schema(kinds, metrics, axioms), store.rounds_schema(outcome_axioms)


__all__ = ["ANALYSIS_KEY", "profiles_checked", "run_analyses", "run_one", "schemas"]
