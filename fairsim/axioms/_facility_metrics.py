"""Welfare objectives and per-instance approximation ratios (spec ``facility.md`` §2.1-2.2).

Agent i has cost ``|y - x_i|`` and utility ``1 - |y - x_i|/(b - a)``; SW = n - TC (unit space),
TC = sum of costs, MC = max cost; lotteries use expectations (``E[MC] = sum_l p_l MC(y_l)``).
OPT_TC is attained at a median, OPT_MC = (x_(n) - x_(1))/2. Ratios: ``sw_ratio = OPT_SW/SW``,
``tc_ratio = TC/OPT_TC``, ``mc_ratio = MC/OPT_MC`` with 0/0 := 1 and c/0 := inf.

Single profiles are evaluated in exact rational arithmetic on the given values and returned as
floats (Fractions in exact mode); batches (B, n) with y (B,) use numpy and return arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from fairsim._validation import is_exact
from fairsim.axioms._facility_input import (
    Number,
    Profile,
    float_profile,
    lottery_is_exact,
    parse_float,
    parse_profiles,
    parse_y,
    parse_y_batch,
)

INF = float("inf")
# Float mode only [F]: a float objective within ZERO_EPS * n (unit space) of 0 counts as 0 when
# forming ratios, so that rounding noise (e.g. the float average of three equal values) does not
# turn 0/0 into c/0 = inf. Exact mode uses exact zero.
ZERO_EPS = 1e-12


# --------------------------------------------------------------------------- kernels (unit space)
def batch_opt(S: np.ndarray, objective: str) -> np.ndarray:
    """Optimal value of ``objective`` ("sw" | "tc" | "mc") for sorted unit-space rows ``S``."""
    n = S.shape[1]
    if objective == "mc":
        return (S[:, -1] - S[:, 0]) / 2
    med = S[:, (n + 1) // 2 - 1]
    tc = np.abs(S - med[:, None]).sum(axis=1)
    return n - tc if objective == "sw" else tc


def batch_value(S: np.ndarray, y: np.ndarray, objective: str) -> np.ndarray:
    """Objective of outcome ``y`` (B,) for sorted unit-space rows ``S`` (B, n)."""
    if objective == "mc":
        return np.maximum(y - S[:, 0], S[:, -1] - y)
    tc = np.abs(S - y[:, None]).sum(axis=1)
    return S.shape[1] - tc if objective == "sw" else tc


def batch_ratio(opt: np.ndarray, val: np.ndarray, objective: str, n: int) -> np.ndarray:
    """Per-row ratio (>= 1 up to rounding) with 0/0 := 1 and c/0 := inf (float tolerance)."""
    num, den = (opt, val) if objective == "sw" else (val, opt)
    eps = ZERO_EPS * n
    out = np.empty_like(num, dtype=np.float64)
    zero = den <= eps
    out[zero] = np.where(num[zero] <= eps, 1.0, INF)
    nz = ~zero
    out[nz] = num[nz] / den[nz]
    return out


def exact_value(s: list[Any], lot: list[tuple[Any, Any]], objective: str) -> Fraction:
    """Expected objective of a unit-space lottery on sorted profile ``s`` (exact)."""
    n = len(s)
    total = Fraction(0)
    for loc, q in lot:
        if objective == "mc":
            v = max(loc - s[0], s[-1] - loc)
        else:
            tc = sum((abs(loc - v) for v in s), Fraction(0))
            v = n - tc if objective == "sw" else tc
        total += q * v
    return total


def exact_opt(s: list[Any], objective: str) -> Fraction:
    n = len(s)
    if objective == "mc":
        return (s[-1] - s[0]) / 2
    med = s[(n + 1) // 2 - 1]
    tc = sum((abs(v - med) for v in s), Fraction(0))
    return n - tc if objective == "sw" else tc


def exact_ratio(opt: Fraction, val: Fraction, objective: str) -> Fraction | float:
    num, den = (opt, val) if objective == "sw" else (val, opt)
    if den == 0:
        return Fraction(1) if num == 0 else INF
    return num / den


def _up_exact(s: list[Any]) -> Fraction:
    n = len(s)
    return max(min(s[k - 1], Fraction(n - k + 1, n)) for k in range(1, n + 1))


def _up_batch(S: np.ndarray) -> np.ndarray:
    n = S.shape[1]
    return np.minimum(S, (n - np.arange(n)) / n).max(axis=1)


# --------------------------------------------------------------------------- public plumbing
def _dispatch(
    x: Any,
    y: Any,
    interval: Any,
    single: Callable[[Profile, list[tuple[Any, Any]]], Any],
    batch: Callable[[np.ndarray, np.ndarray, float], np.ndarray],
) -> Any:
    exact = is_exact(x) or isinstance(y, Fraction) or lottery_is_exact(y)
    if not exact:
        a, b, X, U, batched = parse_float(x, interval)
        if batched:
            return batch(np.sort(U, axis=1), parse_y_batch(y, U.shape[0], (a, b)), b - a)
        p = float_profile(X[0], a, b)
    else:
        profiles, batched = parse_profiles(x, interval, exact=True)
        if batched:
            rows = list(y)
            return [_dispatch(xr, yr, interval, single, batch) for xr, yr in zip(x, rows)]
        p = profiles[0]
    yu = parse_y(y, p, allow_lottery=True)
    lot: list[tuple[Any, Any]] = yu if isinstance(yu, list) else [(yu, Fraction(1))]
    return single(p, lot)


def _ret(p: Profile, v: Fraction | float) -> Any:
    if isinstance(v, float):
        return v
    return v if p.exact else float(v)


def social_welfare(x: Any, y: Any, *, interval: Any = (0.0, 1.0)) -> Any:
    """Social welfare ``SW = sum_i (1 - |y - x_i|/(b - a)) = n - TC`` (spec ``facility.md`` §2.1).

    ``y`` is a location or a lottery ``[(location, probability), ...]`` (expected welfare). For
    ``x`` (B, n) and ``y`` (B,) returns an array (B,).
    """
    return _dispatch(
        x,
        y,
        interval,
        lambda p, lot: _ret(p, exact_value(p.s, lot, "sw")),
        lambda S, yu, w: batch_value(S, yu, "sw"),
    )


def total_cost(x: Any, y: Any, *, interval: Any = (0.0, 1.0)) -> Any:
    """Total cost ``TC = sum_i |y - x_i|`` in the caller's units (spec ``facility.md`` §2.1)."""
    return _dispatch(
        x,
        y,
        interval,
        lambda p, lot: _ret(p, p.scale(exact_value(p.s, lot, "tc"))),
        lambda S, yu, w: batch_value(S, yu, "tc") * w,
    )


def max_cost(x: Any, y: Any, *, interval: Any = (0.0, 1.0)) -> Any:
    """Maximum cost ``MC = max_i |y - x_i|`` (expected for lotteries; spec ``facility.md`` §2.1)."""
    return _dispatch(
        x,
        y,
        interval,
        lambda p, lot: _ret(p, p.scale(exact_value(p.s, lot, "mc"))),
        lambda S, yu, w: batch_value(S, yu, "mc") * w,
    )


def _ratio_single(objective: str) -> Callable[[Profile, list[tuple[Any, Any]]], Any]:
    def f(p: Profile, lot: list[tuple[Any, Any]]) -> Any:
        opt = exact_opt(p.s, objective)
        val = exact_value(p.s, lot, objective)
        if not p.exact:
            eps = Fraction(ZERO_EPS) * p.n
            opt = Fraction(0) if abs(opt) <= eps else opt
            val = Fraction(0) if abs(val) <= eps else val
        return _ret(p, exact_ratio(opt, val, objective))

    return f


def _ratio_batch(objective: str) -> Callable[[np.ndarray, np.ndarray, float], np.ndarray]:
    def f(S: np.ndarray, yu: np.ndarray, w: float) -> np.ndarray:
        return batch_ratio(
            batch_opt(S, objective), batch_value(S, yu, objective), objective, S.shape[1]
        )

    return f


def sw_ratio(x: Any, y: Any, *, interval: Any = (0.0, 1.0)) -> Any:
    """Per-instance welfare ratio ``OPT_SW / SW(y)`` (>= 1; 0/0 := 1, c/0 := inf; spec §2.2).

    In float mode values within 1e-12·n of zero count as zero [F].
    """
    return _dispatch(x, y, interval, _ratio_single("sw"), _ratio_batch("sw"))


def tc_ratio(x: Any, y: Any, *, interval: Any = (0.0, 1.0)) -> Any:
    """Per-instance total-cost ratio ``TC(y) / OPT_TC`` (0/0 := 1, c/0 := inf; spec §2.2)."""
    return _dispatch(x, y, interval, _ratio_single("tc"), _ratio_batch("tc"))


def mc_ratio(x: Any, y: Any, *, interval: Any = (0.0, 1.0)) -> Any:
    """Per-instance max-cost ratio ``MC(y) / OPT_MC`` (0/0 := 1, c/0 := inf; spec §2.2)."""
    return _dispatch(x, y, interval, _ratio_single("mc"), _ratio_batch("mc"))


def distance_to_uniform_phantom(x: Any, y: Any, *, interval: Any = (0.0, 1.0)) -> Any:
    """``|y - UP(x)|`` (expected for lotteries), UP by the closed form of spec §4.2.

    ``UP(x) = max_k min(x_(k), (n - k + 1)/n)`` (Uniform Phantom, Aziz et al., arXiv 2111.01566).
    """

    def single(p: Profile, lot: list[tuple[Any, Any]]) -> Any:
        up = _up_exact(p.s)
        return _ret(p, p.scale(sum((q * abs(loc - up) for loc, q in lot), Fraction(0))))

    return _dispatch(x, y, interval, single, lambda S, yu, w: np.abs(yu - _up_batch(S)) * w)


def uniform_phantom_reference(x: Any) -> Number:
    """UP(x) on [0, 1] by the closed form of spec §4.2 (exact for Fractions); internal helper."""
    if is_exact(x):
        return _up_exact(sorted(Fraction(v) for v in x))
    S = np.sort(np.asarray(x, dtype=np.float64).reshape(1, -1), axis=1)
    return float(_up_batch(S)[0])


__all__ = [
    "distance_to_uniform_phantom",
    "max_cost",
    "mc_ratio",
    "social_welfare",
    "sw_ratio",
    "tc_ratio",
    "total_cost",
]
