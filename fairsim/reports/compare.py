"""Compare two result sets (two seeds, two scenario versions): one self-contained HTML page [F].

For every mechanism and metric present in both sets: mean and 95% Student-t interval of each set
side by side, and the difference of means ``B - A`` with the Welch interval
``d ± t_{0.975, ν} sqrt(s_A²/k_A + s_B²/k_B)``, ``ν`` the Welch–Satterthwaite degrees of freedom
(B. L. Welch, Biometrika 34, 1947) — the sets are independent, so no pairing. For every axiom in
both: the satisfaction shares with their Wilson intervals side by side. Mechanisms, metrics and
axioms present in only one set are listed. Only runs without errors count (as in the report).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairsim.errors import InputError
from fairsim.reports.data import ResultsData, fmt_num, load_results, ok_rows
from fairsim.reports.stats import mean_ci
from fairsim.sim import schema as S

COMPARE_NAME = "comparison.html"
COMPARE_COLUMNS = [
    "mechanism",
    "metric",
    "mean_a",
    "ci_low_a",
    "ci_high_a",
    "count_a",
    "mean_b",
    "ci_low_b",
    "ci_high_b",
    "count_b",
    "diff",
    "diff_low",
    "diff_high",
    "welch_df",
]


def welch_ci(
    a: np.ndarray, b: np.ndarray, level: float = 0.95
) -> tuple[float, float, float, float]:
    """``(mean(b) - mean(a), low, high, df)`` of the Welch interval on the finite values; NaN
    where either side has fewer than two finite values (one value: the difference, no interval)."""
    from scipy import stats

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size == 0 or b.size == 0:
        return (math.nan, math.nan, math.nan, math.nan)
    d = float(b.mean() - a.mean())
    if a.size < 2 or b.size < 2:
        return (d, math.nan, math.nan, math.nan)
    va, vb = float(a.var(ddof=1)) / a.size, float(b.var(ddof=1)) / b.size
    se2 = va + vb
    if se2 == 0.0:
        return (d, d, d, math.inf)
    df = se2 * se2 / (va * va / (a.size - 1) + vb * vb / (b.size - 1))
    h = float(stats.t.ppf((1.0 + level) / 2.0, df)) * math.sqrt(se2)
    return (d, d - h, d + h, float(df))


def _ok(data: ResultsData) -> pd.DataFrame:
    return data.results[ok_rows(data.results)]


def compare_metrics(a: ResultsData, b: ResultsData) -> pd.DataFrame:
    """Side-by-side metric means and the Welch difference ``B - A`` (columns
    :data:`COMPARE_COLUMNS`) for the mechanisms and metrics present in both sets."""
    mechs = [m for m in a.mechanisms if m in set(b.mechanisms)]
    metrics = [
        m for m in a.columns_with(S.METRIC_PREFIX) if m in set(b.columns_with(S.METRIC_PREFIX))
    ]
    da, db = _ok(a), _ok(b)
    rows = []
    for mech in mechs:
        sa, sb = da[da["mechanism"] == mech], db[db["mechanism"] == mech]
        for m in metrics:
            va = pd.to_numeric(sa[S.METRIC_PREFIX + m], errors="coerce").to_numpy(np.float64)
            vb = pd.to_numeric(sb[S.METRIC_PREFIX + m], errors="coerce").to_numpy(np.float64)
            ca, cb = mean_ci(va), mean_ci(vb)
            rows.append(
                (mech, m, ca["mean"], ca["ci_low"], ca["ci_high"], ca["count"])
                + (cb["mean"], cb["ci_low"], cb["ci_high"], cb["count"], *welch_ci(va, vb))
            )
    return pd.DataFrame(rows, columns=COMPARE_COLUMNS)


def compare_axioms(a: ResultsData, b: ResultsData) -> pd.DataFrame:
    """Axiom satisfaction shares of both sets side by side, with Wilson 95% intervals."""
    from fairsim.reports.stats import wilson

    mechs = [m for m in a.mechanisms if m in set(b.mechanisms)]
    axioms = [x for x in a.columns_with(S.AXIOM_PREFIX) if x in set(b.columns_with(S.AXIOM_PREFIX))]
    da, db = _ok(a), _ok(b)
    rows = []
    for mech in mechs:
        for ax in axioms:
            row: list[Any] = [mech, ax]
            for d in (da, db):
                col = d.loc[d["mechanism"] == mech, S.AXIOM_PREFIX + ax].dropna().astype(bool)
                k, n = int(col.sum()), int(col.size)
                lo, hi = wilson(k, n)
                row += [k / n if n else math.nan, lo, hi, k, n]
            rows.append(row)
    cols = ["mechanism", "axiom"]
    for s in ("a", "b"):
        cols += [f"share_{s}", f"ci_low_{s}", f"ci_high_{s}", f"holds_{s}", f"evaluated_{s}"]
    return pd.DataFrame(rows, columns=cols)


def _only(a: list[str], b: list[str]) -> tuple[list[str], list[str]]:
    return [x for x in a if x not in set(b)], [x for x in b if x not in set(a)]


def _provenance(data: ResultsData) -> dict[str, str]:
    from fairsim.reports.build import _lookup, _scenario_field

    m = data.manifest
    seed = _lookup(m, "seed", "scenario.seed")
    versions = m.get("versions")
    vtext = ", ".join(f"{k} {v}" for k, v in versions.items()) if isinstance(versions, dict) else ""
    return {
        "directory": str(data.path),
        "scenario": str(_scenario_field(data, "name") or ""),
        "scenario hash": str(_lookup(m, "scenario.hash", "scenario_hash", "hash") or ""),
        "seed": fmt_num(seed) if seed is not None else "",
        "versions": vtext,
        "started": str(m.get("started", "") or ""),
        "finished": str(m.get("finished", "") or ""),
        "rows": f"{len(data.results)} ({int((~ok_rows(data.results)).sum())} with errors)",
    }


def build_comparison(
    results_a: str | Path,
    results_b: str | Path,
    out: str | Path | None = None,
    *,
    title: str | None = None,
) -> Path:
    """Write the comparison page of two results directories; returns its path.

    ``out`` is the HTML file (an existing directory means ``<out>/comparison.html``); default
    ``<results_a>/comparison.html``. Raises :class:`InputError` for a missing directory or a bad
    argument and :class:`~fairsim.errors.FormatError` for a directory without valid results.
    """
    from fairsim.reports.build import _f, _render, _version

    if title is not None and not isinstance(title, str):
        raise InputError(f"title must be a string or None; got {title!r}")
    a, b = load_results(results_a), load_results(results_b)
    if out is None:
        path = a.path / COMPARE_NAME
    else:
        try:
            path = Path(out)
        except TypeError:
            raise InputError(f"out must be a file or directory path or None; got {out!r}") from None
        if path.is_dir():
            path = path / COMPARE_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
    mt, at = compare_metrics(a, b), compare_axioms(a, b)
    pa, pb = _provenance(a), _provenance(b)

    def ci(lo: float, hi: float) -> str:
        return "–" if math.isnan(lo) else f"[{_f(lo)}, {_f(hi)}]"

    metric_rows = [
        {
            "mechanism": r.mechanism,
            "metric": r.metric,
            "a": f"{_f(r.mean_a)} {ci(r.ci_low_a, r.ci_high_a)} n={r.count_a}",
            "b": f"{_f(r.mean_b)} {ci(r.ci_low_b, r.ci_high_b)} n={r.count_b}",
            "diff": _f(r.diff),
            "diff_ci": ci(r.diff_low, r.diff_high),
            "sign": "pos" if r.diff_low > 0 else "neg" if r.diff_high < 0 else "",
        }
        for r in mt.itertuples(index=False)
    ]

    def share(s: float, k: int, n: int, lo: float, hi: float) -> str:
        return "–" if math.isnan(s) else f"{s:.1%} ({k}/{n}) [{_f(lo, 3)}, {_f(hi, 3)}]"

    axiom_rows = [
        {
            "mechanism": r.mechanism,
            "axiom": r.axiom,
            "a": share(r.share_a, r.holds_a, r.evaluated_a, r.ci_low_a, r.ci_high_a),
            "b": share(r.share_b, r.holds_b, r.evaluated_b, r.ci_low_b, r.ci_high_b),
        }
        for r in at.itertuples(index=False)
    ]
    notes = []
    for what, xa, xb in (
        ("mechanisms", a.mechanisms, b.mechanisms),
        ("metrics", a.columns_with(S.METRIC_PREFIX), b.columns_with(S.METRIC_PREFIX)),
        ("axioms", a.columns_with(S.AXIOM_PREFIX), b.columns_with(S.AXIOM_PREFIX)),
    ):
        oa, ob = _only(xa, xb)
        if oa:
            notes.append(f"{what} only in A: {', '.join(oa)}")
        if ob:
            notes.append(f"{what} only in B: {', '.join(ob)}")
    name_a, name_b = pa["scenario"] or a.path.name, pb["scenario"] or b.path.name
    context = {
        "title": title if title is not None else f"fairsim comparison: {name_a} vs {name_b}",
        "version": _version(),
        "provenance": [(k, pa[k], pb[k]) for k in pa],
        "metric_rows": metric_rows,
        "axiom_rows": axiom_rows,
        "notes": notes,
    }
    path.write_text(_render(context, "compare.html.j2"), encoding="utf-8")
    return path
