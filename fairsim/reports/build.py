"""Build the comparative fairness report: one self-contained HTML file plus two CSV files.

The HTML is rendered by Jinja2 with autoescaping on, so every user string (scenario name and
description, mechanism labels, witness JSON, error messages) is escaped. CSS is inline, plots are
inline SVG (:mod:`fairsim.reports.plots`); there are no scripts, links, fonts or other external
resources, so the file opens offline. The same results directory always gives the same bytes
(no build timestamp; the run's timestamps come from the manifest).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from fairsim.errors import InputError
from fairsim.reports.claims import FAIL, NOT_EVALUATED, PASS
from fairsim.reports.data import ResultsData, fmt_num, load_results
from fairsim.reports.summary import Summary, summarize, write_claims_csv, write_summary_csv

HTML_NAME = "report.html"
SUMMARY_NAME = "summary.csv"
CLAIMS_NAME = "claims.csv"
MAX_FAILURE_ROWS = 200
MAX_WITNESS_CHARS = 4000
MAX_LOCATIONS = 40
_LONG = 300


class ReportPaths(NamedTuple):
    """Files written by :func:`build_report`."""

    html: Path
    summary_csv: Path
    claims_csv: Path


# ------------------------------------------------------------------------------------------
# formatting helpers (everything handed to the template is a plain string or a number)
# ------------------------------------------------------------------------------------------


def _f(x: Any, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return fmt_num(x, digits)


def _cell(v: Any, digits: int) -> str:
    if v is None:
        return ""
    if isinstance(v, (list, tuple, np.ndarray)):
        return "[" + ", ".join(_f(u, digits) for u in v) + "]"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v)).lower()
    if isinstance(v, (int, float, np.integer, np.floating)):
        return _f(v, digits)
    try:
        if pd.isna(v):
            return ""
    except (TypeError, ValueError):
        pass
    return str(v)


def _table(df: pd.DataFrame, columns: list[str] | None = None, digits: int = 4) -> dict[str, Any]:
    cols = [c for c in (columns or list(df.columns)) if c in df.columns]
    numeric = [
        pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) for c in cols
    ]
    rows = [[_cell(v, digits) for v in rec] for rec in df[cols].itertuples(index=False)]
    return {"headers": cols, "rows": rows, "numeric": numeric}


def _locations(locs: Any) -> str:
    if locs is None:
        return "unknown"
    if isinstance(locs, (list, tuple, np.ndarray)) and len(locs) > MAX_LOCATIONS:
        head = _cell(list(locs[:MAX_LOCATIONS]), 6)
        return f"{head[:-1]}, … ({len(locs)} agents)]"
    return _cell(locs, 6)


def _color(share: float) -> str:
    if share is None or math.isnan(share):
        return "#f4f4f6"
    return f"hsl({round(120 * share)}, 70%, 85%)"


# ------------------------------------------------------------------------------------------
# sections
# ------------------------------------------------------------------------------------------


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
        return
    if isinstance(value, list):
        text = json.dumps(value, default=str)
    else:
        text = "" if value is None else str(value)
    if len(text) > _LONG:
        text = text[: _LONG - 1] + "…"
    out.append((prefix, text))


def _lookup(manifest: dict[str, Any], *paths: str) -> Any:
    for path in paths:
        cur: Any = manifest
        for part in path.split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
        if cur not in (None, ""):
            return cur
    return None


def _scenario_field(data: ResultsData, key: str) -> Any:
    value = _lookup(data.manifest, f"scenario.{key}", f"scenario_{key}", key)
    if value is None and data.scenario_text:
        try:
            import yaml

            doc = yaml.safe_load(data.scenario_text)
            value = doc.get(key) if isinstance(doc, dict) else None
        except Exception:
            value = None
    return value


def _provenance(data: ResultsData) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = [("results directory", str(data.path))]
    skip = {"claims", "scenario_text"}  # the scenario text has its own block
    for k, v in data.manifest.items():
        if k not in skip:
            _flatten(str(k), v, out)
    out.append(
        (
            "rows read",
            f"results {len(data.results)}, rounds {len(data.rounds)}, "
            f"analyses {len(data.analyses)}",
        )
    )
    return out


def _metric_rows(s: Summary) -> list[dict[str, Any]]:
    t = s.metric_table
    t = t[t["group"] == "all"].set_index(["mechanism", "metric"])
    rows = []
    for mech in s.mechanisms:
        cells = []
        for m in s.metrics:
            r = t.loc[(mech, m)] if (mech, m) in t.index else None
            if r is None:
                cells.append({"mean": "–", "lo": "–", "hi": "–", "count": 0, "excluded": 0})
                continue
            cells.append(
                {
                    "mean": _f(r["mean"]),
                    "lo": _f(r["ci_low"]),
                    "hi": _f(r["ci_high"]),
                    "count": int(r["count"]),
                    "excluded": int(r["excluded"]),
                }
            )
        rows.append({"mechanism": mech, "cells": cells})
    return rows


def _axiom_rows(s: Summary) -> list[dict[str, Any]]:
    t = s.axiom_table.set_index(["mechanism", "axiom"])
    rows = []
    for mech in s.mechanisms:
        cells = []
        for a in s.axioms:
            r = t.loc[(mech, a)]
            w = s.witnesses.get((mech, a))
            if w is not None:
                locs = w.get("locations")
                w = {**w, "locations": None if locs is None else _locations(locs)}
                sel = w.get("selected")
                w["selected"] = None if sel is None else _cell(list(sel), 6)
                if len(w["pretty"]) > MAX_WITNESS_CHARS:
                    w["pretty"] = w["pretty"][:MAX_WITNESS_CHARS] + "\n… (truncated)"
            share = float(r["share"])
            cells.append(
                {
                    "share": "–" if math.isnan(share) else f"{share:.1%}",
                    "holds": int(r["holds"]),
                    "evaluated": int(r["evaluated"]),
                    "lo": _f(r["ci_low"], 3),
                    "hi": _f(r["ci_high"], 3),
                    "color": _color(share),
                    "witness": w,
                }
            )
        rows.append({"mechanism": mech, "cells": cells})
    return rows


def _analyses_table(df: pd.DataFrame) -> dict[str, Any]:
    if len(df) == 0 or "ratio" not in df.columns:
        return _table(pd.DataFrame())
    df = df.copy()
    if "expected" in df.columns:
        df["|diff|"] = (
            pd.to_numeric(df["ratio"], errors="coerce")
            - pd.to_numeric(df["expected"], errors="coerce")
        ).abs()
    return _table(df, digits=10)


def _same_partition(df: pd.DataFrame, a: str, b: str) -> bool:
    """Whether columns ``a`` and ``b`` group the rows identically (values vary together)."""
    ca = pd.factorize(df[a].astype(str))[0]
    cb = pd.factorize(df[b].astype(str))[0]
    pairs = len(set(zip(ca.tolist(), cb.tolist())))
    return pairs == len(set(ca.tolist())) == len(set(cb.tolist()))


def _sweeps(s: Summary, svgs: dict[str, str]) -> list[dict[str, Any]]:
    """One entry per grouping with at least two values: swept parameters first, then ``n``.
    A grouping identical to one already shown (zipped parameters, ``n`` when ``agents.n`` is
    swept) is named but not repeated."""
    out: list[dict[str, Any]] = []
    present = set(s.metric_table["group"])
    groups = [g for g in [*s.params, "n"] if g in present]
    cols = ["mechanism", "group_value", "metric", "count", "excluded", "mean", "std"]
    cols += ["ci_low", "ci_high"]
    res = s.data.results
    for g in groups:
        t = s.metric_table[s.metric_table["group"] == g]
        if t["group_value"].nunique() < 2:  # a single value is not a sweep
            continue
        same = next(
            (o["group"] for o in out if not o["same_as"] and _same_partition(res, o["group"], g)),
            None,
        )
        table = None if same else _table(t[cols].rename(columns={"group_value": g}))
        out.append({"group": g, "svg": None if same else svgs.get(g), "table": table})
        out[-1]["same_as"] = same
    return out


def _render(context: dict[str, Any], template: str = "report.html.j2") -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("fairsim.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
    )
    return env.get_template(template).render(**context)


def _resolve_out(results_dir: Path, out: Any) -> Path:
    if out is None:
        return results_dir / HTML_NAME
    try:
        p = Path(out)
    except TypeError:
        raise InputError(f"out must be a file or directory path or None; got {out!r}") from None
    if p.is_dir():
        p = p / HTML_NAME
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


def _paired_rows(s: Summary) -> tuple[list[str], list[dict[str, Any]]]:
    """Overall paired differences: (quantities, one row per non-baseline mechanism)."""
    t = s.paired
    if len(t) == 0:
        return [], []
    t = t[t["group"] == "all"]
    quantities = list(dict.fromkeys(t["quantity"]))
    idx = t.set_index(["mechanism", "quantity"])
    rows = []
    for mech in s.mechanisms:
        if mech == s.baseline:
            continue
        cells = []
        for q in quantities:
            if (mech, q) not in idx.index:
                cells.append({"mean": "–", "lo": "–", "hi": "–", "count": 0, "sign": ""})
                continue
            r = idx.loc[(mech, q)]
            lo, hi = float(r["ci_low"]), float(r["ci_high"])
            sign = "pos" if lo > 0 else "neg" if hi < 0 else ""
            cells.append(
                {
                    "mean": _f(r["mean"]),
                    "lo": _f(lo),
                    "hi": _f(hi),
                    "count": int(r["count"]),
                    "sign": sign,
                }
            )
        rows.append({"mechanism": mech, "cells": cells})
    return quantities, rows


def _paired_sweeps(s: Summary) -> list[dict[str, Any]]:
    t = s.paired
    out: list[dict[str, Any]] = []
    if len(t) == 0:
        return out
    cols = ["mechanism", "group_value", "quantity", "count", "excluded", "mean", "ci_low"]
    cols += ["ci_high"]
    for g in [*s.params, "n"]:
        sub = t[t["group"] == g]
        if sub["group_value"].nunique() < 2:
            continue
        out.append({"group": g, "table": _table(sub[cols].rename(columns={"group_value": g}))})
    return out


def _pareto(s: Summary) -> dict[str, Any]:
    from fairsim.reports.pareto import pareto_svg, pareto_table

    table, info = pareto_table(s)
    svg = pareto_svg(table, info) if len(table) else None
    if len(table):
        table = table.assign(on_front=["yes" if v else "" for v in table["on_front"]])
        table = table.rename(columns={"welfare": f"mean {info['welfare']}"})
        table = table.rename(columns={"fairness": info.get("fairness_label", "fairness")})
    return {"table": _table(table), "svg": svg, "info": info}


def build_report(
    results_dir: str | Path,
    out: str | Path | None = None,
    *,
    title: str | None = None,
    baseline: str | None = None,
) -> ReportPaths:
    """Build the comparative fairness report of a results directory.

    Parameters
    ----------
    results_dir:
        A directory written by ``fairsim run`` (layout: :mod:`fairsim.sim.schema`).
    out:
        Path of the HTML file; default ``<results_dir>/report.html``. An existing directory means
        ``<out>/report.html``. ``summary.csv`` and ``claims.csv`` are written beside the HTML
        file [F].
    title:
        Page title; default ``"fairsim report: <scenario name>"``.
    baseline:
        Mechanism label the paired differences are taken against (:mod:`fairsim.reports.paired`);
        default the first mechanism in scenario order. An unknown label raises
        :class:`InputError` listing the mechanisms.

    Returns the written paths. Raises :class:`InputError` for a missing directory or a bad
    argument and :class:`~fairsim.errors.FormatError` (naming the file and the missing columns)
    for a directory without a valid ``results.parquet``. Statistics are defined in
    :mod:`fairsim.reports.summary`, claim rules in :mod:`fairsim.reports.claims`.
    """
    if title is not None and not isinstance(title, str):
        raise InputError(f"title must be a string or None; got {title!r}")
    data = load_results(results_dir)
    html_path = _resolve_out(data.path, out)
    s = summarize(data, baseline=baseline)
    summary_csv = write_summary_csv(s, html_path.parent / SUMMARY_NAME)
    claims_csv = write_claims_csv(s, html_path.parent / CLAIMS_NAME)

    from fairsim.reports import plots
    from fairsim.reports.domains import (
        domain_sections,
        facility_sections,
        ratio_analyses,
        report_kind,
    )

    figs = plots.all_plots(s)
    kind = report_kind(data)
    show_ratios, show_dynamics = facility_sections(kind, s)
    sections = domain_sections(s, kind)
    name = _scenario_field(data, "name") or data.path.name
    counts = {k: sum(c.status == k for c in s.claims) for k in (PASS, FAIL, NOT_EVALUATED)}
    nfail = len(s.failures)
    context = {
        "title": title if title is not None else f"fairsim report: {name}",
        "description": _scenario_field(data, "description") or "",
        "version": _version(),
        "provenance": _provenance(data),
        "scenario_text": data.scenario_text,
        "toc": _toc(s, sections, show_ratios, show_dynamics),
        "kind": kind,
        "domain_sections": sections,
        "show_ratios": show_ratios,
        "show_dynamics": show_dynamics,
        "claims": s.claims,
        "claim_counts": ", ".join(f"{v} {k}" for k, v in counts.items()),
        "metrics": s.metrics,
        "metric_rows": _metric_rows(s) if s.metrics else [],
        "any_excluded": bool((s.metric_table.get("excluded", pd.Series(dtype=int)) > 0).any()),
        "axioms": s.axioms,
        "axiom_rows": _axiom_rows(s) if s.axioms else [],
        "plots": figs,
        "baseline": s.baseline or "",
        "paired": _paired_rows(s),
        "paired_sweeps": _paired_sweeps(s),
        "pareto": _pareto(s),
        "ratio_table": _table(s.ratio_table),
        "analyses_table": _analyses_table(ratio_analyses(s.analyses)),
        "dynamics_table": _table(s.dynamics),
        "has_rounds": len(s.distance) > 0,
        "sweeps": _sweeps(s, figs["sweeps"]),
        "failures_table": _table(s.failures.head(MAX_FAILURE_ROWS)),
        "failure_note": (
            f"{nfail} of {len(data.results)} rows raised an error"
            + (f"; the first {MAX_FAILURE_ROWS} are listed" if nfail > MAX_FAILURE_ROWS else "")
            + ". Their metric and axiom values are left out of every statistic above."
        ),
        "results_name": data.path.name,
    }
    html_path.write_text(_render(context), encoding="utf-8")
    return ReportPaths(html_path, summary_csv, claims_csv)


def _toc(
    s: Summary, sections: list[Any], show_ratios: bool, show_dynamics: bool
) -> list[tuple[str, str]]:
    toc = [("claims", "Claims")] if s.claims else []
    toc += [
        ("metrics", "Metrics"),
        ("axioms", "Axioms"),
        ("paired", "Paired differences"),
        ("pareto", "Welfare vs fairness"),
        ("plots", "Plots"),
    ]
    toc += [(sec.id, sec.title) for sec in sections]
    toc += [("ratios", "Approximation ratios")] if show_ratios else []
    toc += [("dynamics", "Dynamics")] if show_dynamics else []
    toc += [("sweeps", "Sweeps"), ("failures", f"Failures ({len(s.failures)})")]
    return toc


def _version() -> str:
    import fairsim

    return str(fairsim.__version__)
