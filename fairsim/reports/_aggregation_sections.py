"""Report sections of ``kind: budget_aggregation`` results (:data:`fairsim.reports.domains.BUILDERS`).

* ``ba-distances``: distribution over runs of the ℓ1 distances (``mean_distance``,
  ``max_distance``, ``distance_to_mean``; :mod:`fairsim.axioms.budget_aggregation`) per mechanism,
  as box plots and a quantile table;
* ``ba-manipulation``: per mechanism, the runs whose deviation search found a profitable
  misreport, the largest gain found (ℓ1 distance a single voter saves by misreporting, read from
  ``slack.strategyproofness`` = tol - gain), and the mean ℓ1 shift ||allocation -
  truthful_allocation||_1 that the scenario's behaviours caused [F].

The axiom matrix itself is the generic section.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fairsim.sim import schema as S

if TYPE_CHECKING:
    from fairsim.reports.domains import DomainSection
    from fairsim.reports.summary import Summary

DISTANCE_METRICS = ("mean_distance", "max_distance", "distance_to_mean")
SP = "strategyproofness"
DEVIATION_TOL = 1e-7


def _shift(row: Any) -> float:
    a, b = row["allocation"], row["truthful_allocation"]
    if a is None or b is None:
        return float("nan")
    return float(np.abs(np.asarray(a, dtype=float) - np.asarray(b, dtype=float)).sum())


def manipulation_table(summary: Summary) -> pd.DataFrame:
    """One row per mechanism: ``runs``, ``sp_violations``, ``max_gain``, ``mean_shift``."""
    from fairsim.reports.data import ok_rows

    df = summary.data.results
    df = df[ok_rows(df)]
    out = []
    for mech in summary.mechanisms:
        sub = df[df["mechanism"] == mech]
        rec: dict[str, Any] = {"mechanism": mech, "runs": len(sub)}
        if S.AXIOM_PREFIX + SP in sub.columns:
            holds = sub[S.AXIOM_PREFIX + SP].astype("boolean")
            rec["sp_violations"] = int((~holds.fillna(True)).sum())
            slack = pd.to_numeric(sub[S.SLACK_PREFIX + SP], errors="coerce")
            rec["max_gain"] = float(max(0.0, DEVIATION_TOL - slack.min())) if len(slack) else 0.0
        if {"allocation", "truthful_allocation"} <= set(sub.columns) and len(sub):
            rec["mean_shift"] = float(np.nanmean([_shift(r) for _, r in sub.iterrows()]))
        out.append(rec)
    return pd.DataFrame(out)


def distances_section(summary: Summary) -> list[DomainSection]:
    """``ba-distances`` (see the module docstring)."""
    from fairsim.reports.domains import DomainSection, distribution_block

    metrics = [m for m in DISTANCE_METRICS if m in summary.metrics]
    if not metrics:
        return []
    return [
        DomainSection(
            "ba-distances",
            "ℓ1 distances to the voters",
            "Per run: the mean and the largest ℓ1 distance ||a − p_i||₁ between the allocation "
            "and a voter's true division, and the distance to the coordinate-wise mean report "
            "(lower is better).",
            distribution_block(summary, metrics, "ba-distances", "ℓ1 distances"),
        )
    ]


def manipulation_section(summary: Summary) -> list[DomainSection]:
    """``ba-manipulation`` (see the module docstring)."""
    from fairsim.reports.build import _table
    from fairsim.reports.domains import DomainSection

    t = manipulation_table(summary)
    if len(t) == 0 or len(t.columns) <= 2:
        return []
    return [
        DomainSection(
            "ba-manipulation",
            "Manipulability",
            "sp_violations: runs in which the deviation search found a misreport bringing the "
            "allocation closer to some voter's true division; max_gain: the largest ℓ1 distance "
            "saved; mean_shift: mean ||allocation − truthful allocation||₁ under the scenario's "
            "behaviours.",
            [{"type": "table", "table": _table(t), "summary": ""}],
        )
    ]


BUILDERS = (distances_section, manipulation_section)

__all__ = ["BUILDERS", "distances_section", "manipulation_section", "manipulation_table"]
