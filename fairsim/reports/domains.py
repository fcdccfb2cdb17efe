"""Domain-aware report sections: one small table of section builders per scenario kind [F].

The generic sections (metrics, axiom matrix, paired differences, Pareto, sweeps, failures) are
shown for every kind. Each kind then adds its own sections through :data:`BUILDERS`
(``kind -> tuple of builders``; a builder maps a :class:`~fairsim.reports.summary.Summary` to
zero or more :class:`DomainSection`). The facility-location sections (approximation ratios and
best-response dynamics) are always shown for ``facility_location`` and, for another kind, only
when their data are present (:func:`facility_sections`).

The kind is read from the manifest (``kind`` or ``scenario.kind``), then ``scenario.yaml``, then
the ``domain`` column of ``results.parquet``; default ``facility_location``.

Sections are plain data (strings, SVG text, table dicts) rendered by ``report.html.j2``; every
user string is escaped there.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fairsim.reports.stats import grouped_mean_ci
from fairsim.sim import schema as S

if TYPE_CHECKING:
    from fairsim.reports.summary import Summary

FACILITY = "facility_location"
PB = "participatory_budgeting"
DIVISION = "fair_division"
DATA_SHARING = "data_sharing"
FEDERATED = "federated"

#: Participatory-budgeting axioms shown in the per-instance table, in this order.
PB_INSTANCE_AXIOMS = ("jr", "pjr", "ejr", "fjr")
#: ``*_ratio`` metrics a kind's own sections show (not approximation ratios) [F].
OWN_RATIO_METRICS: dict[str, frozenset[str]] = {DIVISION: frozenset({"mms_ratio"})}
#: ``analyses.parquet`` row types that are not approximation ratios: a domain section shows them
#: (PB compatibility searches), so the generic ratio section leaves them out [F].
OWN_ANALYSIS_TYPES: frozenset[str] = frozenset({"compatibility_search"})


def ratio_analyses(analyses: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``analyses`` that the approximation-ratio section shows."""
    if len(analyses) == 0 or "type" not in analyses.columns:
        return analyses
    return analyses[~analyses["type"].isin(OWN_ANALYSIS_TYPES)]


#: Most rows of the per-instance table (the CSV summary has everything) [F].
MAX_INSTANCE_ROWS = 300
MAX_TITLE_CHARS = 1500


@dataclass
class DomainSection:
    """One report section: ``id`` (HTML anchor), ``title``, ``note`` and ``blocks``.

    A block is a dict with ``type`` one of ``"figure"`` (``svg``, ``caption``), ``"table"``
    (``table`` as built by ``_table``, optional ``summary`` to fold it in ``<details>``),
    ``"instances"`` (``headers``, ``rows`` of cells ``{"text", "title", "witness"}``) or
    ``"note"`` (``text``).
    """

    id: str
    title: str
    note: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)


# ------------------------------------------------------------------------------------------
# kind
# ------------------------------------------------------------------------------------------


def report_kind(data: Any) -> str:
    """The scenario kind of a :class:`~fairsim.reports.data.ResultsData` (see module doc)."""
    man = data.manifest
    for cand in (
        man.get("kind"),
        (man.get("scenario") or {}).get("kind") if isinstance(man.get("scenario"), dict) else None,
    ):
        if isinstance(cand, str) and cand:
            return cand
    if data.scenario_text:
        try:
            import yaml

            doc = yaml.safe_load(data.scenario_text)
            if isinstance(doc, dict) and isinstance(doc.get("kind"), str):
                return str(doc["kind"])
        except Exception:
            pass
    dom = data.results.get("domain")
    if dom is not None and len(dom.dropna()):
        return str(dom.dropna().iloc[0])
    return FACILITY


def facility_sections(kind: str, summary: Summary) -> tuple[bool, bool]:
    """Whether to show (approximation ratios, best-response dynamics).

    Always for facility location (with a note when empty); for another kind the ratio section
    only with ``*_ratio`` metrics (other than those of :data:`OWN_RATIO_METRICS`, which the
    kind's own sections show) or analyses rows, and the dynamics only when ``results`` has a
    ``rounds`` column with at least one finite value (best-response rounds) [F].
    """
    if kind == FACILITY:
        return True, True
    own = OWN_RATIO_METRICS.get(kind, frozenset())
    ratios = (
        any(m not in own for m in summary.ratio_metrics)
        or len(ratio_analyses(summary.analyses)) > 0
    )
    res = summary.data.results
    dyn = "rounds" in res.columns and bool(
        pd.to_numeric(res["rounds"], errors="coerce").notna().any()
    )
    return ratios, dyn


def domain_sections(summary: Summary, kind: str | None = None) -> list[DomainSection]:
    """The kind-specific sections of ``summary`` (empty for a kind without builders)."""
    k = kind if kind is not None else report_kind(summary.data)
    out: list[DomainSection] = []
    for builder in BUILDERS.get(k, ()):
        out.extend(builder(summary))
    return out


# ------------------------------------------------------------------------------------------
# shared pieces
# ------------------------------------------------------------------------------------------


def _ok(summary: Summary) -> pd.DataFrame:
    from fairsim.reports.data import ok_rows

    df = summary.data.results
    return df[ok_rows(df)]


def _present(summary: Summary, names: tuple[str, ...] | list[str]) -> list[str]:
    return [m for m in names if m in summary.metrics]


def distribution_block(summary: Summary, metrics: list[str], name: str, what: str) -> list[dict]:
    """A box-plot figure and a quantile table of ``metrics`` per mechanism (finite values of
    runs without errors; quantiles by numpy's default linear interpolation)."""
    from fairsim.reports import plots
    from fairsim.reports.build import _table
    from fairsim.reports.summary import _ratios

    if not metrics:
        return []
    table, values = _ratios(_ok(summary), summary.mechanisms, metrics)
    svg = plots.metric_boxes(values, metrics, summary.mechanisms, name)
    blocks: list[dict[str, Any]] = []
    if svg:
        blocks.append(
            {
                "type": "figure",
                "svg": svg,
                "caption": f"{what} per mechanism (box: quartiles; whiskers: 5th–95th "
                "percentile; ×: maximum).",
            }
        )
    blocks.append({"type": "table", "table": _table(table), "summary": ""})
    return blocks


def means_block(summary: Summary, metrics: list[str]) -> list[dict]:
    """Mean with the 95% Student-t interval of ``metrics`` per mechanism, as a table
    (from the summary's overall metric table)."""
    from fairsim.reports.build import _table

    t = summary.metric_table
    t = t[(t["group"] == "all") & t["metric"].isin(metrics)]
    if len(t) == 0:
        return []
    cols = ["mechanism", "metric", "count", "excluded", "mean", "std", "ci_low", "ci_high"]
    return [{"type": "table", "table": _table(t[cols].reset_index(drop=True)), "summary": ""}]


# ------------------------------------------------------------------------------------------
# participatory budgeting
# ------------------------------------------------------------------------------------------


def _pb_distributions(summary: Summary) -> list[DomainSection]:
    metrics = _present(summary, ("spend_share", "welfare_cost", "welfare_cardinality"))
    if not metrics:
        return []
    return [
        DomainSection(
            "pb-distributions",
            "Spend and welfare per rule",
            "Distribution over runs of the share of the budget spent (spend_share = cost / "
            "budget) and of the voters' mean utility (welfare_cost, welfare_cardinality).",
            distribution_block(summary, metrics, "pb-distributions", "Spend and welfare"),
        )
    ]


def _witness_text(raw: Any) -> str:
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return ""
    text = str(raw)
    try:
        text = json.dumps(json.loads(text), sort_keys=False)
    except ValueError:
        pass
    return text if len(text) <= MAX_TITLE_CHARS else text[:MAX_TITLE_CHARS] + " …"


def _axiom_cell(sub: pd.DataFrame, axiom: str) -> dict[str, Any]:
    col = sub[S.AXIOM_PREFIX + axiom]
    valid = col.notna()
    n = int(valid.sum())
    if n == 0:
        return {"text": "–", "title": "", "witness": "", "cls": ""}
    vals = col[valid].astype(bool)
    k = int(vals.sum())
    text = ("yes" if k == n else "no") if n == 1 else f"{k}/{n}"
    witness = ""
    if k < n:
        first = sub.loc[vals.index[~vals.to_numpy()][0]]
        witness = _witness_text(first.get(S.WITNESS_PREFIX + axiom))
        title = f"run {first['run_id']}: {witness}" if witness else f"run {first['run_id']}"
    else:
        title = "held on every run"
    return {"text": text, "title": title, "witness": witness, "cls": "pos" if k == n else "neg"}


def pb_instance_table(summary: Summary) -> tuple[list[str], list[list[dict[str, Any]]], int]:
    """Rows of the per-instance table: one per (distribution, ``param.*`` values) x rule, in
    order of first appearance and scenario rule order.

    Columns: the instance keys, ``rule``, ``runs``, mean ``projects`` (``metric.num_projects``,
    else the length of ``selected``), mean ``cost`` / mean ``budget``, mean ``welfare_cost`` and
    ``welfare_cardinality``, and for each of JR/PJR/EJR/FJR present ``yes``/``no`` (one run) or
    ``k/n`` runs where it held, with the first failing run's witness. Returns (headers, rows,
    total row count before truncation to :data:`MAX_INSTANCE_ROWS`).
    """
    from fairsim.reports.build import _f, _same_partition

    df = _ok(summary)
    keys: list[str] = []
    for c in ("distribution", *summary.params):
        # a parameter that varies exactly with an earlier key (the pabulib path) adds nothing
        if c in df.columns and not any(_same_partition(df, k, c) for k in keys):
            keys.append(c)
    axioms = [a for a in PB_INSTANCE_AXIOMS if a in summary.axioms]
    welfare = _present(summary, ("welfare_cost", "welfare_cardinality"))
    headers = [k.removeprefix(S.PARAM_PREFIX) for k in keys]
    headers += ["rule", "runs", "projects", "cost / budget", *welfare, *(a.upper() for a in axioms)]
    if len(df) == 0:
        return headers, [], 0
    work = df.copy()
    if "metric.num_projects" in work.columns:
        work["_projects"] = pd.to_numeric(work["metric.num_projects"], errors="coerce")
    elif "selected" in work.columns:
        work["_projects"] = [
            float(len(v)) if v is not None and not np.isscalar(v) else math.nan
            for v in work["selected"]
        ]
    else:
        work["_projects"] = math.nan
    for k in keys:
        work[k] = [_plain(v) for v in work[k]]
    order = {m: i for i, m in enumerate(summary.mechanisms)}
    work["_order"] = work["mechanism"].map(order)
    rows: list[list[dict[str, Any]]] = []
    groups = work.groupby(keys, sort=False) if keys else [((), work)]
    for inst, g in groups:
        inst_vals = inst if isinstance(inst, tuple) else (inst,)
        for mech, sub in sorted(
            g.groupby("mechanism", sort=False), key=lambda t: order.get(t[0], 0)
        ):
            cells = [{"text": str(v), "title": "", "witness": "", "cls": ""} for v in inst_vals]
            cost = _mean(sub, "cost")
            budget = _mean(sub, "budget")
            cells.append({"text": str(mech), "title": "", "witness": "", "cls": ""})
            cells.append(_num(float(len(sub)), _f))
            cells.append(_num(_mean(sub, "_projects"), _f))
            cells.append(
                {
                    "text": f"{_f(cost, 8)} / {_f(budget, 8)}",
                    "title": "",
                    "witness": "",
                    "cls": "num",
                }
            )
            for w in welfare:
                cells.append(_num(_mean(sub, S.METRIC_PREFIX + w), _f))
            for a in axioms:
                cells.append(_axiom_cell(sub, a))
            rows.append(cells)
    return headers, rows[:MAX_INSTANCE_ROWS], len(rows)


def _plain(v: Any) -> str:
    """A parameter value as text: JSON strings (how ``param.*`` columns store text) unquoted."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    text = str(v)
    if len(text) >= 2 and text[0] == text[-1] == '"':
        try:
            return str(json.loads(text))
        except ValueError:
            return text
    return text


def _mean(df: pd.DataFrame, col: str) -> float:
    if col not in df.columns:
        return math.nan
    arr = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    return float(arr.mean()) if arr.size else math.nan


def _num(x: float, f: Callable[..., str]) -> dict[str, Any]:
    return {"text": f(x, 6), "title": "", "witness": "", "cls": "num"}


def _pb_instances(summary: Summary) -> list[DomainSection]:
    headers, rows, total = pb_instance_table(summary)
    if not rows:
        return []
    note = (
        "One row per instance (distribution or pabulib file, swept parameter values) and rule: "
        "means over the runs without errors; an axiom cell is yes/no for a single run, else the "
        "runs where it held out of those evaluated. Hover over or open a violated cell for the "
        "witness of its first failing run."
    )
    if total > len(rows):
        note += f" The first {len(rows)} of {total} rows are shown; summary.csv has the rest."
    block = {"type": "instances", "headers": headers, "rows": rows}
    return [DomainSection("pb-instances", "Instances × rules", note, [block])]


# ------------------------------------------------------------------------------------------
# fair division
# ------------------------------------------------------------------------------------------


def _division(summary: Summary) -> list[DomainSection]:
    out: list[DomainSection] = []
    mms = _present(summary, ("mms_ratio",))
    if mms:
        out.append(
            DomainSection(
                "fd-mms",
                "Maximin-share ratios",
                "Per run, the smallest ratio of an agent's value to its maximin share (1 = every "
                "agent gets its MMS); distribution over runs per algorithm.",
                distribution_block(summary, mms, "fd-mms", "MMS ratio"),
            )
        )
    welfare = _present(summary, ("nash_welfare", "utilitarian_welfare", "envy_count"))
    if welfare:
        from fairsim.reports import plots

        blocks = means_block(summary, welfare)
        sub = _sub_summary_means(summary, welfare)
        svg = plots.metric_means(sub) if sub is not None else None
        if svg:
            blocks.insert(
                0,
                {
                    "type": "figure",
                    "svg": svg,
                    "caption": "Welfare means per algorithm with 95% Student-t intervals.",
                },
            )
        out.append(
            DomainSection(
                "fd-welfare",
                "Nash and utilitarian welfare",
                "Mean over runs without errors with the 95% Student-t interval.",
                blocks,
            )
        )
    return out


def _sub_summary_means(summary: Summary, metrics: list[str]) -> Any:
    """A shallow copy of ``summary`` whose metric table holds only ``metrics`` (for plotting)."""
    import dataclasses

    t = summary.metric_table
    t = t[t["metric"].isin(metrics)]
    if len(t) == 0:
        return None
    return dataclasses.replace(summary, metric_table=t, metrics=list(metrics))


# ------------------------------------------------------------------------------------------
# data sharing
# ------------------------------------------------------------------------------------------

DS_METRICS = ("accuracy", "reward_fairness", "ir_violations", "estimator_error", "evaluations")


def accuracy_by_round(summary: Summary, metric: str = "accuracy") -> pd.DataFrame:
    """Mean and 95% Student-t interval of ``rounds.metric.<metric>`` per (mechanism, round),
    over the runs that did not raise. Empty when ``rounds.parquet`` has no such column."""
    cols = ["mechanism", "round", "count", "mean", "ci_low", "ci_high"]
    rd = summary.data.rounds
    col = S.METRIC_PREFIX + metric
    if len(rd) == 0 or col not in rd.columns:
        return pd.DataFrame(columns=cols)
    failed = set(summary.failures["run_id"].astype(str)) if len(summary.failures) else set()
    rd = rd[~rd["run_id"].astype(str).isin(failed)] if failed else rd
    rd = rd.assign(round=pd.to_numeric(rd["round"], errors="coerce")).dropna(subset=["round"])
    t = grouped_mean_ci(rd, ["mechanism", "round"], [col])
    t = t[t["count"] > 0]
    return t[cols].sort_values(["mechanism", "round"], kind="stable").reset_index(drop=True)


def _data_sharing(summary: Summary) -> list[DomainSection]:
    from fairsim.reports import plots
    from fairsim.reports.build import _table

    out: list[DomainSection] = []
    metrics = _present(summary, DS_METRICS)
    if metrics:
        out.append(
            DomainSection(
                "ds-metrics",
                "Metrics per reward rule",
                "Distribution over runs of each data-sharing metric per reward rule.",
                distribution_block(summary, metrics, "ds-metrics", "Metric distributions"),
            )
        )
    t = accuracy_by_round(summary)
    if len(t):
        blocks: list[dict[str, Any]] = []
        svg = plots.round_lines(t, summary.mechanisms, "mean accuracy", "ds-accuracy")
        if svg:
            blocks.append(
                {
                    "type": "figure",
                    "svg": svg,
                    "caption": "Mean accuracy by round per reward rule, 95% Student-t bands.",
                }
            )
        blocks.append({"type": "table", "table": _table(t), "summary": "table by round"})
        out.append(
            DomainSection(
                "ds-accuracy",
                "Accuracy over rounds",
                "From rounds.parquet: mean metric.accuracy over runs at each round.",
                blocks,
            )
        )
    return out


from fairsim.reports._aggregation_sections import BUILDERS as _aggregation_builders  # noqa: E402
from fairsim.reports._budgeting_sections import BUILDERS as _budgeting_builders  # noqa: E402
from fairsim.reports._federated_sections import BUILDERS as _federated_builders  # noqa: E402

#: Section builders per scenario kind [F].
BUILDERS: dict[str, tuple[Callable[[Summary], list[DomainSection]], ...]] = {
    FACILITY: (),
    PB: (_pb_distributions, _pb_instances, *_budgeting_builders),
    DIVISION: (_division,),
    DATA_SHARING: (_data_sharing,),
    FEDERATED: _federated_builders,
    "budget_aggregation": _aggregation_builders,
}
