"""Summary statistics of a results directory: the numbers behind the comparative report.

:func:`summarize` computes, from the layout of :mod:`fairsim.sim.schema`:

(a) mechanisms x metrics: mean, sample std, 95% Student-t interval, run count and the count of
    excluded NaN/inf values, overall and grouped by ``n`` and by each swept ``param.*`` column;
(b) the axiom-satisfaction matrix: share of runs satisfying each axiom, Wilson 95% interval, and
    one witness (first failing run: its ``witness.<axiom>`` JSON, run id, true locations);
(c) approximation-ratio distributions (metric columns ``*_ratio``) and the analyses table;
(d) best-response dynamics: rounds to converge, share converged, mean |outcome - final| per round;
(e) failures: rows with a non-null ``error``;
(f) claims (:mod:`fairsim.reports.claims`);
(g) paired differences against a baseline mechanism (:mod:`fairsim.reports.paired`).

[F] Statistics (a)-(c) use only runs that did not raise (``error`` null); failures are counted
separately in (e). For the dynamics (d), a run that stopped before round k is taken to stay at its
final outcome, so its distance at round k is 0.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairsim.reports.claims import AxiomCell, ClaimResult, claims_frame, evaluate_claims
from fairsim.reports.data import ResultsData, load_results, ok_rows
from fairsim.reports.stats import grouped_mean_ci, wilson
from fairsim.sim import schema as S

RATIO_SUFFIX = "_ratio"
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
SUMMARY_COLUMNS = [
    "section",
    "mechanism",
    "group",
    "group_value",
    "quantity",
    "mean",
    "ci_low",
    "ci_high",
    "count",
    "std",
    "excluded",
]


@dataclass
class Summary:
    """Everything the report shows, as tables (pandas DataFrames) and plain values."""

    data: ResultsData
    mechanisms: list[str]
    metrics: list[str]
    axioms: list[str]
    params: list[str]
    metric_table: pd.DataFrame
    axiom_table: pd.DataFrame
    witnesses: dict[tuple[str, str], dict[str, Any]]
    ratio_table: pd.DataFrame
    ratio_values: dict[str, dict[str, np.ndarray]]
    analyses: pd.DataFrame
    dynamics: pd.DataFrame
    distance: pd.DataFrame
    failures: pd.DataFrame
    claims: list[ClaimResult] = field(default_factory=list)
    baseline: str | None = None
    paired: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def ratio_metrics(self) -> list[str]:
        return [m for m in self.metrics if m.endswith(RATIO_SUFFIX)]

    def tidy(self) -> pd.DataFrame:
        """``summary.csv``: one row per (section, mechanism, group, group_value, quantity)."""
        return _tidy(self)


def _group_value(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, (np.integer, np.floating)):
        return repr(v.item())
    return str(v)


def _metric_table(df: pd.DataFrame, metrics: list[str], params: list[str]) -> pd.DataFrame:
    cols = [S.METRIC_PREFIX + m for m in metrics]
    parts = []
    base = df.assign(_all="all")
    for group in ["all", "n", *params]:
        key = "_all" if group == "all" else group
        if key not in base.columns:
            continue
        t = grouped_mean_ci(base, ["mechanism", key], cols)
        if len(t) == 0:
            continue
        t = t.rename(columns={key: "group_value"})
        t["group_value"] = [_group_value(v) for v in t["group_value"]]
        t["group"] = group
        parts.append(t)
    if not parts:
        return pd.DataFrame(
            columns=["mechanism", "group", "group_value", "metric", "count", "excluded", "mean"]
        )
    out = pd.concat(parts, ignore_index=True)
    out["metric"] = out.pop("quantity").str.slice(len(S.METRIC_PREFIX))
    return out[
        ["mechanism", "group", "group_value", "metric", "count", "excluded", "mean", "std"]
        + ["ci_low", "ci_high"]
    ]


def _axioms(df: pd.DataFrame, mechs: list[str], axioms: list[str]) -> tuple:
    rows, cells, witnesses = [], {}, {}
    for mech in mechs:
        sub = df[df["mechanism"] == mech]
        for ax in axioms:
            col = sub[S.AXIOM_PREFIX + ax]
            valid = col.notna()
            vals = col[valid].astype(bool)
            n, k = int(valid.sum()), int(vals.sum())
            lo, hi = wilson(k, n)
            share = k / n if n else math.nan
            w = None
            if k < n:
                first = sub.loc[vals.index[~vals.to_numpy()][0]]
                w = _witness(first, ax)
                witnesses[(mech, ax)] = w
            cells[(mech, ax)] = AxiomCell(k, n, w)
            rows.append((mech, ax, k, n, share, lo, hi))
    table = pd.DataFrame(
        rows, columns=["mechanism", "axiom", "holds", "evaluated", "share", "ci_low", "ci_high"]
    )
    return table, cells, witnesses


def _witness(row: pd.Series, axiom: str) -> dict[str, Any]:
    raw = row.get(S.WITNESS_PREFIX + axiom)
    raw = None if raw is None or (isinstance(raw, float) and math.isnan(raw)) else str(raw)
    pretty = raw
    if raw is not None:
        try:
            pretty = _pretty_json(json.loads(raw))
        except ValueError:
            pretty = raw
    locs = row.get("locations")
    locs = [float(v) for v in locs] if locs is not None and not np.isscalar(locs) else locs
    sel = row.get("selected")
    sel = [str(v) for v in sel] if sel is not None and not np.isscalar(sel) else None
    return {
        "run_id": str(row["run_id"]),
        "selected": sel,
        "witness": raw if raw is not None else "null",
        "pretty": pretty if pretty is not None else "null",
        "locations": locs,
        "outcome": row.get("outcome"),
    }


def _pretty_json(obj: Any) -> str:
    """One line per top-level key (values compact), so short lists stay on one line."""
    if not isinstance(obj, dict) or not obj:
        return json.dumps(obj, default=str)
    body = ",\n".join(
        f" {json.dumps(str(k))}: {json.dumps(v, default=str)}" for k, v in obj.items()
    )
    return "{\n" + body + "\n}"


def _ratios(df: pd.DataFrame, mechs: list[str], ratio_metrics: list[str]) -> tuple:
    rows: list[tuple] = []
    values: dict[str, dict[str, np.ndarray]] = {}
    for m in ratio_metrics:
        values[m] = {}
        for mech in mechs:
            raw = pd.to_numeric(df.loc[df["mechanism"] == mech, S.METRIC_PREFIX + m], "coerce")
            arr = raw.to_numpy(dtype=np.float64)
            fin = arr[np.isfinite(arr)]
            values[m][mech] = fin
            qs = np.quantile(fin, QUANTILES) if fin.size else [math.nan] * len(QUANTILES)
            mx = float(fin.max()) if fin.size else math.nan
            mean = float(fin.mean()) if fin.size else math.nan
            rows.append((mech, m, int(fin.size), int(arr.size - fin.size), mean, *qs, mx))
    qcols = [f"q{int(round(q * 100)):02d}" for q in QUANTILES]
    cols = ["mechanism", "metric", "count", "excluded", "mean", *qcols, "max"]
    return pd.DataFrame(rows, columns=cols), values


def _dynamics(data: ResultsData, df: pd.DataFrame, mechs: list[str]) -> tuple:
    rows = []
    for mech in mechs:
        sub = df[df["mechanism"] == mech]
        n = len(sub)
        if "converged" in sub.columns:
            conv = sub["converged"].fillna(False).astype(bool).to_numpy()
        else:
            conv = np.ones(n, dtype=bool)
        k = int(conv.sum())
        lo, hi = wilson(k, n)
        if "rounds" in sub.columns:
            r = pd.to_numeric(sub["rounds"], errors="coerce").to_numpy(dtype=np.float64)[conv]
            r = r[np.isfinite(r)]
        else:
            r = np.empty(0)
        stats = (
            (float(r.mean()), *np.quantile(r, [0.0, 0.5, 0.95, 1.0]).tolist())
            if r.size
            else (math.nan,) * 5
        )
        rows.append((mech, n, k, k / n if n else math.nan, lo, hi, *stats))
    cols = ["mechanism", "runs", "converged", "share", "ci_low", "ci_high"]
    cols += ["rounds_mean", "rounds_min", "rounds_median", "rounds_q95", "rounds_max"]
    return pd.DataFrame(rows, columns=cols), _distance(data, df)


def _distance(data: ResultsData, df: pd.DataFrame) -> pd.DataFrame:
    """Mean |outcome at round k - final outcome| over runs, per mechanism and round."""
    cols = ["mechanism", "round", "mean_distance", "max_distance", "moving", "runs"]
    rd = data.rounds
    if len(rd) == 0:
        return pd.DataFrame(columns=cols)
    rd = rd[["run_id", "mechanism", "round", "outcome"]].copy()
    rd["round"] = pd.to_numeric(rd["round"], errors="coerce")
    rd = rd.dropna(subset=["round"])
    rd["round"] = rd["round"].astype(np.int64)
    last = rd.sort_values("round", kind="stable").groupby(["run_id", "mechanism"]).tail(1)
    final = last.set_index(["run_id", "mechanism"])["outcome"].rename("final")
    if "outcome" in df.columns:
        res = df.set_index(["run_id", "mechanism"])["outcome"]
        res = res[~res.index.duplicated()]
        final = res.reindex(final.index).fillna(final).rename("final")
    rd = rd.join(final, on=["run_id", "mechanism"])
    rd["distance"] = (rd["outcome"].astype(float) - rd["final"].astype(float)).abs()
    out = []
    for mech, g in rd.groupby("mechanism", sort=False):
        wide = g.pivot_table(index="run_id", columns="round", values="distance", aggfunc="first")
        wide = wide.reindex(columns=range(int(wide.columns.max()) + 1))
        # a run that stopped early stays at its final outcome: carry its last distance forward
        filled = wide.ffill(axis=1)
        arr = filled.to_numpy(dtype=np.float64)
        for j, rnd in enumerate(wide.columns):
            col = arr[:, j][~np.isnan(arr[:, j])]
            if col.size == 0:
                continue
            out.append(
                (str(mech), int(rnd), float(col.mean()), float(col.max()))
                + (int((col > 0).sum()), int(col.size))
            )
    return pd.DataFrame(out, columns=cols)


def summarize(results: str | Path | ResultsData, *, baseline: str | None = None) -> Summary:
    """Compute the report's statistics (sections (a)-(g) of the module docstring).

    ``baseline`` is the mechanism label the paired differences (g) are taken against; default the
    first mechanism in scenario order. An unknown label raises :class:`InputError` listing the
    mechanisms.
    """
    from fairsim.reports.paired import paired_differences, resolve_baseline

    data = results if isinstance(results, ResultsData) else load_results(results)
    base = resolve_baseline(data, baseline)
    df_all = data.results
    df = df_all[ok_rows(df_all)]
    mechs = data.mechanisms
    metrics = data.columns_with(S.METRIC_PREFIX)
    axioms = data.columns_with(S.AXIOM_PREFIX)
    params = [c for c in df_all.columns if c.startswith(S.PARAM_PREFIX)]
    metric_table = _metric_table(df, metrics, params)
    axiom_table, cells, witnesses = _axioms(df, mechs, axioms)
    ratio_metrics = [m for m in metrics if m.endswith(RATIO_SUFFIX)]
    ratio_table, ratio_values = _ratios(df, mechs, ratio_metrics)
    dynamics, distance = _dynamics(data, df, mechs)
    fail_cols = [c for c in (*S.KEY_COLUMNS, "error") if c in df_all.columns]
    failures = df_all.loc[~ok_rows(df_all), fail_cols].reset_index(drop=True)
    claims = evaluate_claims(data, cells)
    return Summary(
        data=data,
        mechanisms=mechs,
        metrics=metrics,
        axioms=axioms,
        params=params,
        metric_table=metric_table,
        axiom_table=axiom_table,
        witnesses=witnesses,
        ratio_table=ratio_table,
        ratio_values=ratio_values,
        analyses=data.analyses,
        dynamics=dynamics,
        distance=distance,
        failures=failures,
        claims=claims,
        baseline=base,
        paired=paired_differences(data, base) if base is not None else pd.DataFrame(),
    )


def _tidy(s: Summary) -> pd.DataFrame:
    nan = math.nan
    rows: list[tuple] = []
    for r in s.metric_table.itertuples(index=False):
        rows.append(
            ("metrics", r.mechanism, r.group, r.group_value, r.metric)
            + (r.mean, r.ci_low, r.ci_high, r.count, r.std, r.excluded)
        )
    for r in s.axiom_table.itertuples(index=False):
        rows.append(
            ("axioms", r.mechanism, "all", "all", r.axiom, r.share, r.ci_low, r.ci_high)
            + (r.evaluated, nan, 0)
        )
    qcols = [c for c in s.ratio_table.columns if c.startswith("q")] + ["max"]
    for r in s.ratio_table.to_dict("records"):
        for q in qcols:
            rows.append(
                ("ratios", r["mechanism"], "all", "all", f"{r['metric']}.{q}", r[q], nan, nan)
                + (r["count"], nan, r["excluded"])
            )
    for r in s.analyses.to_dict("records") if len(s.analyses) else []:
        for q in ("ratio", "expected"):
            v = r.get(q)
            v = nan if v is None else float(v)
            rows.append(
                ("analyses", str(r["mechanism"]), "n", _group_value(r["n"]))
                + (f"{r['analysis']}.{q}", v, nan, nan, r.get("profiles_checked", nan), nan, 0)
            )
    for r in s.dynamics.to_dict("records"):
        rows.append(
            ("dynamics", r["mechanism"], "all", "all", "converged", r["share"])
            + (r["ci_low"], r["ci_high"], r["runs"], nan, 0)
        )
        for q in ("rounds_mean", "rounds_median", "rounds_q95", "rounds_max"):
            rows.append(
                ("dynamics", r["mechanism"], "all", "all", q, r[q], nan, nan, r["converged"])
                + (nan, 0)
            )
    for r in s.distance.to_dict("records"):
        rows.append(
            ("dynamics", r["mechanism"], "round", str(r["round"]), "mean_distance")
            + (r["mean_distance"], nan, nan, r["runs"], nan, 0)
        )
    for r in s.paired.to_dict("records"):
        rows.append(
            ("paired", r["mechanism"], r["group"], r["group_value"], r["quantity"], r["mean"])
            + (r["ci_low"], r["ci_high"], r["count"], r["std"], r["excluded"])
        )
    fails = s.failures.groupby("mechanism", sort=False).size() if len(s.failures) else {}
    total = s.data.results.groupby("mechanism", sort=False).size()
    for mech in s.mechanisms:
        k = int(fails.get(mech, 0)) if len(fails) else 0
        rows.append(
            ("failures", mech, "all", "all", "errors", k, nan, nan, int(total.get(mech, 0)))
            + (nan, 0)
        )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def write_summary_csv(summary: Summary, path: str | Path) -> Path:
    """Write ``summary.csv`` (columns :data:`SUMMARY_COLUMNS`; ``count`` is the number of values
    behind the row, ``excluded`` the NaN/inf values left out)."""
    p = Path(path)
    summary.tidy().to_csv(p, index=False)
    return p


def write_claims_csv(summary: Summary, path: str | Path) -> Path:
    """Write ``claims.csv`` (``id, type, status, text, measured``)."""
    p = Path(path)
    claims_frame(summary.claims).to_csv(p, index=False)
    return p
