"""Report sections of ``kind: federated`` results (:data:`fairsim.reports.domains.BUILDERS`) [F].

* ``fl-table``: one row per mechanism with the means over runs without errors of accuracy,
  collaborative fairness (Pearson, Spearman), free-rider detection rate, false-positive rate,
  detection round, final equality gap and its area, communication (MB) and server-side model
  evaluations, the spread and minimum of the honest clients' local-validation accuracies
  (performance fairness), and, when the scenario names a ``reference`` estimator, the Spearman
  correlation with its contributions and the evaluation ratio (columns that are NaN in every row
  are left out), and in how many runs every free rider and no honest client was flagged;
* ``fl-rounds``: from ``rounds.parquet`` (:mod:`fairsim.sim.federated_task`), the mean global
  accuracy, equality gap, spread of the honest clients' local-validation accuracies and
  contribution share of free riders and of honest clients per round, with 95% Student-t bands.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fairsim.sim import schema as S

if TYPE_CHECKING:
    from fairsim.reports.domains import DomainSection
    from fairsim.reports.summary import Summary

#: (metric, column header) of the per-mechanism table, in this order.
TABLE_METRICS = (
    ("accuracy", "accuracy"),
    ("fairness", "fairness (Pearson)"),
    ("fairness_spearman", "fairness (Spearman)"),
    ("detection_rate", "FR detected"),
    ("false_positive_rate", "honest flagged"),
    ("detection_round", "detection round"),
    ("gap_final", "gap(T)"),
    ("gap_auc", "gap AUC"),
    ("comm_mb", "MB total"),
    ("evaluations", "evaluations"),
    ("local_acc_std", "local acc std"),
    ("local_acc_min", "local acc min"),
    ("rank_corr_ref", "rank corr vs ref"),
    ("eval_ratio_ref", "evals / ref"),
)
#: Table columns dropped when no mechanism has a finite value (e.g. no ``reference``).
OPTIONAL = ("local acc std", "local acc min", "rank corr vs ref", "evals / ref")
AXIOM = "free_riders_removed"


def _finite_mean(values: Any) -> float:
    arr = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    return float(arr.mean()) if arr.size else math.nan


def mechanism_table(summary: Summary) -> pd.DataFrame:
    """The ``fl-table`` rows: ``mechanism``, ``runs`` (without errors), the finite means of
    :data:`TABLE_METRICS` present in the results (a detection round is infinite for a run that
    never detects every free rider; such runs are left out of its mean) and ``FR removed``
    (``k/n`` runs where ``axiom.free_riders_removed`` held), in scenario mechanism order."""
    from fairsim.reports.domains import _ok

    df = _ok(summary)
    mets = [(m, h) for m, h in TABLE_METRICS if S.METRIC_PREFIX + m in df.columns]
    out = []
    for mech in summary.mechanisms:
        sub = df[df["mechanism"] == mech]
        rec: dict[str, Any] = {"mechanism": mech, "runs": len(sub)}
        for m, h in mets:
            rec[h] = _finite_mean(sub[S.METRIC_PREFIX + m])
        col = S.AXIOM_PREFIX + AXIOM
        if col in sub.columns:
            v = sub[col].dropna().astype(bool)
            rec["FR removed"] = f"{int(v.sum())}/{len(v)}" if len(v) else "–"
        out.append(rec)
    table = pd.DataFrame(out)
    empty = [c for c in OPTIONAL if c in table.columns and not table[c].notna().any()]
    return table.drop(columns=empty)


def group_lines(summary: Summary) -> pd.DataFrame:
    """Mean contribution share per (``<mechanism> · free riders`` / ``· honest``, round), from
    ``metric.fr_contribution`` and ``metric.honest_contribution`` of ``rounds.parquet``."""
    from fairsim.reports.domains import accuracy_by_round

    parts = []
    for metric, what in (("fr_contribution", "free riders"), ("honest_contribution", "honest")):
        t = accuracy_by_round(summary, metric)
        if len(t):
            parts.append(t.assign(mechanism=t["mechanism"].astype(str) + f" · {what}"))
    if not parts:
        return pd.DataFrame(columns=["mechanism", "round", "count", "mean", "ci_low", "ci_high"])
    return pd.concat(parts, ignore_index=True)


def _figure(svg: str | None, caption: str) -> list[dict[str, Any]]:
    return [{"type": "figure", "svg": svg, "caption": caption}] if svg else []


def federated_table(summary: Summary) -> list[DomainSection]:
    """The ``fl-table`` section (module docstring); none without results."""
    from fairsim.reports.build import _table
    from fairsim.reports.domains import DomainSection

    t = mechanism_table(summary)
    if len(t) == 0 or t["runs"].sum() == 0:
        return []
    note = (
        "Means over the runs without errors. Fairness: correlation over honest clients of "
        "standalone accuracy with the reward (normalised contribution; own-model accuracy for "
        "personal-model mechanisms). FR detected / honest flagged: share of free riders / "
        "honest clients flagged at the last round (removed, or contribution below 1/(3K)). "
        "Detection round: mean over runs that detect every free rider. gap: max minus min "
        "accuracy of the honest clients' models. local acc: accuracy of the model each honest "
        "client holds on its own local validation split (std and min over clients). rank corr "
        "vs ref / evals / ref: Spearman correlation of the final contributions with the "
        "reference estimator's on the same run, and model evaluations relative to it."
    )
    return [
        DomainSection(
            "fl-table",
            "Accuracy, fairness and free-rider detection per mechanism",
            note,
            [{"type": "table", "table": _table(t), "summary": ""}],
        )
    ]


def federated_rounds(summary: Summary) -> list[DomainSection]:
    """The ``fl-rounds`` section (module docstring); none without round metrics."""
    from fairsim.reports import plots
    from fairsim.reports.build import _table
    from fairsim.reports.domains import DomainSection, accuracy_by_round

    mechs = summary.mechanisms
    blocks: list[dict[str, Any]] = []
    acc = accuracy_by_round(summary, "accuracy")
    if len(acc):
        svg = plots.round_lines(acc, mechs, "global test accuracy", "fl-accuracy")
        blocks += _figure(svg, "Mean global test accuracy by round, 95% Student-t bands.")
    gap = accuracy_by_round(summary, "gap")
    if len(gap):
        svg = plots.round_lines(gap, mechs, "equality gap", "fl-gap")
        blocks += _figure(
            svg, "Mean equality gap (max − min accuracy of honest clients' models) by round."
        )
    local = accuracy_by_round(summary, "local_acc_std")
    if len(local) and np.isfinite(pd.to_numeric(local["mean"], errors="coerce")).any():
        svg = plots.round_lines(local, mechs, "std of local accuracy", "fl-local")
        blocks += _figure(
            svg,
            "Mean standard deviation over honest clients of the accuracy of the model each "
            "holds on its own local validation split, by round (lower = more uniform).",
        )
    groups = group_lines(summary)
    if len(groups):
        labels = [f"{m} · {w}" for m in mechs for w in ("free riders", "honest")]
        svg = plots.round_lines(groups, labels, "contribution share (1 = equal)", "fl-contrib")
        blocks += _figure(
            svg,
            "Mean contribution share K·c_i/Σ|c_j| of free riders and of honest clients by round "
            "(1 is an equal share).",
        )
    if not blocks and not len(acc):
        return []
    if len(acc):
        blocks.append({"type": "table", "table": _table(acc), "summary": "accuracy by round"})
    return [
        DomainSection(
            "fl-rounds",
            "Accuracy, equality gap and contributions over rounds",
            "From rounds.parquet: means over runs without errors at each round.",
            blocks,
        )
    ]


BUILDERS = (federated_table, federated_rounds)

__all__ = ["BUILDERS", "federated_rounds", "federated_table", "group_lines", "mechanism_table"]
