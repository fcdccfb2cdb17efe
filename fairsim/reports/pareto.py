"""Welfare-versus-fairness Pareto fronts across mechanisms [F].

Each mechanism is a point: x = its mean welfare over runs (the ``welfare`` metric, default
:func:`welfare_metric`), y = a fairness score, either the mean over the chosen axioms of the
share of runs satisfying each axiom (default: the scenario's outcome axioms, see
:func:`outcome_axioms`; higher is fairer), or the mean ``max_cost`` (egalitarian cost, lower is
fairer; Procaccia & Tennenholtz, EC 2009). A mechanism is on the front (non-dominated) when no
other mechanism is at least as good on both coordinates and strictly better on one (Pareto
dominance; e.g. Miettinen, *Nonlinear Multiobjective Optimization*, 1999, Def. 2.2.1).
Mechanisms with a NaN coordinate are shown in the table but are never on the front.
Everything works from the generic ``metric.*``/``axiom.*`` columns, so it applies to any domain.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fairsim.errors import InputError
from fairsim.sim import schema as S

if TYPE_CHECKING:
    from fairsim.reports.summary import Summary

#: Fairness measures understood by :func:`pareto_table`.
FAIRNESS_CHOICES = ("axioms", "max_cost")
PARETO_COLUMNS = ["mechanism", "welfare", "fairness", "on_front"]


def welfare_metric(metrics: list[str]) -> str | None:
    """``social_welfare`` if present, else the first metric whose name contains ``welfare`` and
    is not a ratio, else ``None`` [F]."""
    if "social_welfare" in metrics:
        return "social_welfare"
    for m in metrics:
        if "welfare" in m and not m.endswith("_ratio"):
            return m
    return None


def outcome_axioms(summary: Summary) -> list[str]:
    """The scenario's outcome axioms: the ``axiom.*`` columns of ``rounds.parquet`` (the runner
    records exactly the outcome axioms there, per round); when the rounds table is empty or has
    none, every axiom of the results [F]."""
    rd = summary.data.rounds
    names = [c[len(S.AXIOM_PREFIX) :] for c in rd.columns if c.startswith(S.AXIOM_PREFIX)]
    names = [a for a in names if a in summary.axioms]
    return names or list(summary.axioms)


def dominated(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Boolean mask of the points dominated by another (both coordinates maximised); points with
    a NaN coordinate count as dominated."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    bad = ~(np.isfinite(x) & np.isfinite(y))
    out = bad.copy()
    for i in np.flatnonzero(~bad):
        ge = (x >= x[i]) & (y >= y[i]) & ~bad
        gt = (x > x[i]) | (y > y[i])
        out[i] = bool((ge & gt).any())
    return out


def pareto_table(
    summary: Summary,
    *,
    welfare: str | None = None,
    fairness: str = "axioms",
    axioms: list[str] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per-mechanism (welfare, fairness) points and the non-dominated set.

    Returns the table (columns :data:`PARETO_COLUMNS`) and a dict describing the axes
    (``welfare``, ``fairness``, ``fairness_label``, ``axioms``, ``minimise_fairness``). An empty
    table when the results have no welfare-type metric or no fairness measure.
    """
    if fairness not in FAIRNESS_CHOICES:
        raise InputError(f"fairness={fairness!r} is not one of {', '.join(FAIRNESS_CHOICES)}")
    w = welfare if welfare is not None else welfare_metric(summary.metrics)
    if w is not None and w not in summary.metrics:
        raise InputError(
            f"welfare={w!r} is not a metric of these results; "
            f"choose one of: {', '.join(summary.metrics) or '(none)'}"
        )
    info: dict[str, Any] = {"welfare": w, "fairness": fairness, "axioms": []}
    info["minimise_fairness"] = fairness == "max_cost"
    empty = pd.DataFrame(columns=PARETO_COLUMNS)
    if w is None:
        return empty, info
    mt = summary.metric_table
    mt = mt[mt["group"] == "all"].set_index(["mechanism", "metric"])["mean"]
    mechs = summary.mechanisms
    wx = np.array([float(mt.get((m, w), math.nan)) for m in mechs])
    if fairness == "max_cost":
        if "max_cost" not in summary.metrics:
            return empty, info
        fy = np.array([float(mt.get((m, "max_cost"), math.nan)) for m in mechs])
        info["fairness_label"] = "mean max_cost (lower is fairer)"
        score = -fy
    else:
        chosen = list(axioms) if axioms is not None else outcome_axioms(summary)
        unknown = [a for a in chosen if a not in summary.axioms]
        if unknown:
            raise InputError(
                f"axioms={unknown!r} are not axioms of these results; "
                f"choose among: {', '.join(summary.axioms) or '(none)'}"
            )
        if not chosen:
            return empty, info
        info["axioms"] = chosen
        at = summary.axiom_table.set_index(["mechanism", "axiom"])["share"]
        shares = np.array([[float(at.get((m, a), math.nan)) for a in chosen] for m in mechs])
        with np.errstate(invalid="ignore"):
            fy = shares.mean(axis=1)
        info["fairness_label"] = "mean share of runs satisfying " + ", ".join(chosen)
        score = fy
    front = ~dominated(wx, score)
    table = pd.DataFrame({"mechanism": mechs, "welfare": wx, "fairness": fy, "on_front": front})
    return table, info


def pareto_svg(table: pd.DataFrame, info: dict[str, Any]) -> str | None:
    """Scatter of the mechanisms (welfare x, fairness y) with the front drawn as a step line."""
    from fairsim.reports.plots import _figure, _to_svg, _tx

    ok = table[
        np.isfinite(table["welfare"].astype(float)) & np.isfinite(table["fairness"].astype(float))
    ]
    if len(ok) == 0:
        return None
    with _figure("pareto", 5.6, 3.8) as fig:
        ax = fig.subplots()
        for i, r in enumerate(table.itertuples(index=False)):
            if not (math.isfinite(r.welfare) and math.isfinite(r.fairness)):
                continue
            ax.scatter(
                [r.welfare],
                [r.fairness],
                s=60 if r.on_front else 30,
                color=f"C{i % 10}",
                edgecolors="black" if r.on_front else "none",
                zorder=3,
                label=_tx(r.mechanism),
            )
            ax.annotate(
                _tx(r.mechanism),
                (r.welfare, r.fairness),
                xytext=(4, 4),
                textcoords="offset points",
                fontsize=8,
            )
        fr = ok[ok["on_front"].astype(bool)].sort_values("welfare")
        if len(fr) > 1:
            ax.plot(
                fr["welfare"],
                fr["fairness"],
                "--",
                color="0.35",
                zorder=2,
                drawstyle="steps-pre",
                label="Pareto front",
            )
        ax.set_xlabel(_tx(f"mean {info['welfare']} (higher is better)"))
        ax.set_ylabel(_tx(info.get("fairness_label", "fairness")), fontsize=8)
        ax.grid(alpha=0.3)
        ax.margins(0.15)
        return _to_svg(fig)
