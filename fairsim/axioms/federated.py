"""Federated-learning metrics: collaborative fairness, free-rider detection, equality gap,
communication cost (spec ``federated.md`` §5). Pure numpy; registered as kind ``"metric"``.

The honest set H (honest and noisy clients) is passed as a boolean mask; adversaries and
free-riders are excluded from fairness statistics [F]. Fairness Verdicts come from
:func:`fairsim.axioms.valuation.fairness_correlation`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fairsim.errors import InputError
from fairsim.registry import register

MB = 1e6  # bytes per MB [F]


def _vec(name: str, x: Any, n: int | None = None, *, dtype: Any = np.float64) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a 1-D array; got {x!r}") from None
    if a.ndim != 1 or (n is not None and a.size != n):
        want = f"({n},)" if n is not None else "1-D"
        raise InputError(f"{name} must have shape {want}; got shape {a.shape}")
    if dtype is np.float64 and not np.all(np.isfinite(a)):
        raise InputError(f"{name} must be finite; got {a!r}")
    return a


def _mask(name: str, x: Any, n: int) -> np.ndarray:
    a = np.asarray(x)
    if a.shape != (n,) or a.dtype != bool:
        raise InputError(f"{name} must be a bool array of shape ({n},); got {a.dtype} {a.shape}")
    return a


def _mat(name: str, x: Any) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 2:
        raise InputError(f"{name} must be 2-D (T, n); got shape {a.shape}")
    return a


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


@register("federated.collaborative_fairness", "metric")
def collaborative_fairness(standalone: Any, outcome: Any, honest_mask: Any) -> dict[str, float]:
    """Pearson and Spearman correlation of standalone accuracy and outcome over H (§5).

    Collaborative fairness after Lyu et al. 2020 (arXiv 2008.12161); NaN for fewer than 2 honest
    clients or a constant vector.
    """
    s = _vec("standalone", standalone)
    o = _vec("outcome", outcome, s.size)
    h = _mask("honest_mask", honest_mask, s.size)
    a, b = s[h], o[h]
    pearson = _corr(a, b)
    if np.isnan(pearson):
        return {"pearson": pearson, "spearman": float("nan")}
    from scipy.stats import rankdata

    return {"pearson": pearson, "spearman": _corr(rankdata(a), rankdata(b))}


@register("federated.detection_stats", "metric")
def detection_stats(flag_history: Any, free_rider_mask: Any, honest_mask: Any) -> dict[str, float]:
    """Free-rider detection at round T (§5).

    ``detection_rate`` = |flagged ∩ FR|/|FR|, ``false_positive_rate`` = |flagged ∩ H|/|H| (NaN for
    an empty group); ``mean_detection_round`` is the mean over free riders of the first (0-based)
    round from which the client stays flagged until T, ∞ when never (so the mean is ∞ if any free
    rider is undetected) [F].
    """
    f = _mat("flag_history", flag_history).astype(bool)
    t, n = f.shape
    fr = _mask("free_rider_mask", free_rider_mask, n)
    h = _mask("honest_mask", honest_mask, n)
    if t == 0:
        nan = float("nan")
        return {"detection_rate": nan, "false_positive_rate": nan, "mean_detection_round": nan}
    final = f[-1]
    rate = float(final[fr].mean()) if fr.any() else float("nan")
    fpr = float(final[h].mean()) if h.any() else float("nan")
    rounds = detection_rounds(f)
    mean_round = float(rounds[fr].mean()) if fr.any() else float("nan")
    return {"detection_rate": rate, "false_positive_rate": fpr, "mean_detection_round": mean_round}


def detection_rounds(flag_history: np.ndarray) -> np.ndarray:
    """(n,) first round from which each client stays flagged until T; inf when not flagged at T."""
    f = np.asarray(flag_history, dtype=bool)
    t, n = f.shape
    out = np.full(n, np.inf)
    for i in range(n):
        if t and f[-1, i]:
            off = np.flatnonzero(~f[:, i])
            out[i] = float(off[-1] + 1) if off.size else 0.0
    return out


@register("federated.gap_series", "metric")
def gap_series(acc_history: Any, honest_mask: Any) -> np.ndarray:
    """gap(t) = max_{i∈H} acc_i(t) − min_{i∈H} acc_i(t) per round (§5); NaN rows if H is empty."""
    a = _mat("acc_history", acc_history).astype(np.float64)
    h = _mask("honest_mask", honest_mask, a.shape[1])
    if not h.any():
        return np.full(a.shape[0], np.nan)
    sub = a[:, h]
    return np.asarray(sub.max(axis=1) - sub.min(axis=1), dtype=np.float64)


@register("federated.equality_gap", "metric")
def equality_gap(acc_history: Any, honest_mask: Any) -> dict[str, float]:
    """Asymptotic equality gap (§5): gap(T), area under gap(t) and std over H at T.

    The area is the unit-spaced sum Σ_t gap(t) over the recorded rounds [F]; std uses ddof 0.
    """
    a = _mat("acc_history", acc_history).astype(np.float64)
    g = gap_series(a, honest_mask)
    h = np.asarray(honest_mask, dtype=bool)
    if g.size == 0 or not h.any():
        nan = float("nan")
        return {"gap_final": nan, "gap_auc": nan, "std_final": nan}
    return {
        "gap_final": float(g[-1]),
        "gap_auc": float(g.sum()),
        "std_final": float(a[-1, h].std()),
    }


@register("federated.communication_cost", "metric")
def communication_cost(uplink_bytes: Any, downlink_bytes: Any) -> dict[str, float]:
    """Uplink + downlink traffic in MB (10^6 bytes [F]) per round (mean) and in total (§5)."""
    up = _vec("uplink_bytes", uplink_bytes)
    down = _vec("downlink_bytes", downlink_bytes, up.size)
    if np.any(up < 0) or np.any(down < 0):
        raise InputError("uplink_bytes and downlink_bytes must be >= 0")
    total = float(up.sum() + down.sum()) / MB
    per = total / up.size if up.size else float("nan")
    return {
        "mb_per_round": per,
        "mb_total": total,
        "uplink_mb": float(up.sum()) / MB,
        "downlink_mb": float(down.sum()) / MB,
    }


@register("federated.estimator_flags", "metric")
def estimator_flags(contributions: Any, n: int) -> np.ndarray:
    """Flag clients whose normalised contribution c_i/Σc is below 1/(3n) (§5) [F].

    When Σc ≤ 0 the raw contributions are compared with the threshold [F].
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"n must be an int >= 1; got {n!r}")
    c = _vec("contributions", contributions, int(n))
    tot = c.sum()
    share = c / tot if tot > 0 else c
    return np.asarray(share < 1.0 / (3 * n), dtype=bool)


__all__ = [
    "collaborative_fairness",
    "communication_cost",
    "detection_rounds",
    "detection_stats",
    "equality_gap",
    "estimator_flags",
    "gap_series",
]
