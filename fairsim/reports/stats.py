"""Interval estimates used by the report: Student-t means and Wilson proportions."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

#: Two-sided 95% standard-normal quantile, ``scipy.stats.norm.ppf(0.975)``.
Z95 = 1.959963984540054


def mean_ci(values: np.ndarray | pd.Series, level: float = 0.95) -> dict[str, float]:
    """Mean, sample standard deviation and Student-t confidence interval of the finite values.

    ``mean ± t_{(1+level)/2, k-1} · s / sqrt(k)`` with ``s`` the sample standard deviation
    (ddof = 1) of the ``k`` finite values. NaN and ±inf are ignored and counted in ``excluded``.
    With ``k = 1`` the interval is the value itself and ``std`` is NaN; with ``k = 0`` everything
    is NaN. [F: the handling of k <= 1 is fairsim's choice.]
    """
    arr = np.asarray(values, dtype=np.float64).ravel()
    fin = arr[np.isfinite(arr)]
    k = int(fin.size)
    out = {"count": k, "excluded": int(arr.size - k)}
    if k == 0:
        return {**out, "mean": math.nan, "std": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    m = float(fin.mean())
    if k == 1:
        return {**out, "mean": m, "std": math.nan, "ci_low": m, "ci_high": m}
    s = float(fin.std(ddof=1))
    h = float(_t_quantile(level, k - 1)) * s / math.sqrt(k)
    return {**out, "mean": m, "std": s, "ci_low": m - h, "ci_high": m + h}


def _t_quantile(level: float, df: int | np.ndarray) -> float | np.ndarray:
    from scipy import stats

    return stats.t.ppf((1.0 + level) / 2.0, df)


def grouped_mean_ci(
    df: pd.DataFrame, by: list[str], value_cols: list[str], level: float = 0.95
) -> pd.DataFrame:
    """Vectorised :func:`mean_ci` per group and value column.

    Returns a long table with the ``by`` columns, ``quantity`` (the value column) and ``count,
    excluded, mean, std, ci_low, ci_high``. Groups keep their order of first appearance; NaN
    group keys form their own group.
    """
    cols = ["quantity", "count", "excluded", "mean", "std", "ci_low", "ci_high"]
    if len(df) == 0 or not value_cols:
        return pd.DataFrame(columns=[*by, *cols])
    vals = df[value_cols].apply(pd.to_numeric, errors="coerce").astype(np.float64)
    finite = np.isfinite(vals.to_numpy())
    clean = vals.where(finite)
    keyed = pd.concat([df[by].reset_index(drop=True), clean.reset_index(drop=True)], axis=1)
    g = keyed.groupby(by, sort=False, dropna=False)
    count = g[value_cols].count()
    size = g.size()
    mean = g[value_cols].mean()
    std = g[value_cols].std(ddof=1)
    parts = []
    for col in value_cols:
        k = count[col].to_numpy(dtype=np.int64)
        m = mean[col].to_numpy(dtype=np.float64)
        s = std[col].to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(k > 1, _t_quantile(level, np.maximum(k - 1, 1)), 0.0)
            h = np.where(k > 1, t * s / np.sqrt(np.maximum(k, 1)), 0.0)
        h = np.where(k == 0, np.nan, h)
        s = np.where(k > 1, s, np.nan)
        part = count.index.to_frame(index=False)
        part["quantity"] = col
        part["count"] = k
        part["excluded"] = size.to_numpy(dtype=np.int64) - k
        part["mean"] = m
        part["std"] = s
        part["ci_low"] = m - h
        part["ci_high"] = m + h
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (E. B. Wilson, JASA 22, 1927).

    ``(p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)`` with ``p = successes/trials``;
    ``(nan, nan)`` when ``trials == 0``.
    """
    if trials <= 0:
        return (math.nan, math.nan)
    n = float(trials)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))
