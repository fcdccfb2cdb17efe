"""Moving-phantom budget aggregation (divisible participatory budgeting), spec ``facility.md`` §6.

Freeman, Pennock, Peters & Wortman Vaughan, *Truthful Aggregation of Budget Proposals*, J. Econ.
Theory 193 (2021), arXiv 1905.00457. Voters report p_i in the simplex; for a phantom system
f_0 >= ... >= f_n: [0, 1] -> [0, 1], a_j(t) = med(p_1j..p_nj, f_0(t)..f_n(t)) and the outcome is
a(t*) with sum_j a_j(t*) = 1.

Phantom systems: ``"independent_markets"`` f_k(t) = min(t(n - k), 1) (proportional; for m = 2
coordinate 1 equals Uniform Phantom on column 1) and ``"welfare_maximizing"``
f_k(t) = clamp((n + 1)t - k, 0, 1) (minimises sum_i ||a - p_i||_1). ``"piecewise_uniform"``
(Caragiannis et al., AAAI 2022) raises NotImplementedError: its formula is not specified.

Float mode bisects t to ``tol`` and interpolates linearly inside the last bracket (fairsim's
algorithm [F]); exact mode (Fraction input) finds the linear piece of S(t) that crosses 1 among the
breakpoints and solves it exactly [D].
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from fairsim._validation import is_exact
from fairsim.errors import InputError
from fairsim.registry import register

SYSTEMS = ("independent_markets", "welfare_maximizing")
_NOT_SPECIFIED = ("piecewise_uniform",)


def _check_system(system: str) -> str:
    if system in _NOT_SPECIFIED:
        raise NotImplementedError(
            f"system={system!r}: the Piecewise Uniform phantom formula is not specified (spec §6)"
        )
    if system not in SYSTEMS:
        raise InputError(f"system must be one of {', '.join(map(repr, SYSTEMS))}; got {system!r}")
    return system


def _phantoms_float(t: np.ndarray, n: int, system: str) -> np.ndarray:
    """Phantom positions f_0(t)..f_n(t) for each t: shape (B, n + 1)."""
    k = np.arange(n + 1, dtype=np.float64)
    if system == "independent_markets":
        return np.minimum(t[:, None] * (n - k), 1.0)
    return np.clip((n + 1) * t[:, None] - k, 0.0, 1.0)


def _a_float(R: np.ndarray, t: np.ndarray, system: str) -> np.ndarray:
    """a(t) for reports R (B, n, m) and t (B,): the median of 2n + 1 values per alternative."""
    B, n, m = R.shape
    f = _phantoms_float(t, n, system)
    V = np.concatenate([R.transpose(0, 2, 1), np.broadcast_to(f[:, None, :], (B, m, n + 1))], 2)
    return np.partition(V, n, axis=2)[:, :, n]


def _moving_phantom_float(R: np.ndarray, system: str, tol: float) -> np.ndarray:
    B = R.shape[0]
    lo = np.zeros(B)
    hi = np.ones(B)
    while np.max(hi - lo) > tol:
        mid = (lo + hi) / 2
        s = _a_float(R, mid, system).sum(axis=1)
        up = s >= 1.0
        hi = np.where(up, mid, hi)
        lo = np.where(up, lo, mid)
    a_lo = _a_float(R, lo, system)
    a_hi = _a_float(R, hi, system)
    s_lo = a_lo.sum(axis=1)
    s_hi = a_hi.sum(axis=1)
    den = s_hi - s_lo
    lam = np.where(den > 0, (1.0 - s_lo) / np.where(den > 0, den, 1.0), 0.0)
    a = a_lo + lam[:, None] * (a_hi - a_lo)
    return a / a.sum(axis=1, keepdims=True)


# ----------------------------------------------------------------------------- exact mode


def _phantoms_exact(t: Fraction, n: int, system: str) -> list[Any]:
    one, zero = Fraction(1), Fraction(0)
    if system == "independent_markets":
        return [min(t * (n - k), one) for k in range(n + 1)]
    return [min(max((n + 1) * t - k, zero), one) for k in range(n + 1)]


def _a_exact(cols: list[list[Fraction]], t: Fraction, n: int, system: str) -> list[Fraction]:
    f = _phantoms_exact(t, n, system)
    return [sorted(c + f)[n] for c in cols]


def _breakpoints(rows: list[list[Fraction]], n: int, system: str) -> list[Fraction]:
    pts = {Fraction(0), Fraction(1)}
    vals = {v for r in rows for v in r}
    if system == "independent_markets":
        for k in range(n):
            pts.add(Fraction(1, n - k))
            pts.update(v / (n - k) for v in vals)
    else:
        pts.update(Fraction(k, n + 1) for k in range(n + 2))
        for k in range(n + 1):
            pts.update((k + v) / (n + 1) for v in vals)
    return sorted(p for p in pts if 0 <= p <= 1)


def _moving_phantom_exact(rows: list[list[Fraction]], system: str) -> list[Any]:
    """S(t) is linear between consecutive breakpoints: find the piece crossing 1, solve it."""
    n, m = len(rows), len(rows[0])
    cols = [[rows[i][j] for i in range(n)] for j in range(m)]
    bps = _breakpoints(rows, n, system)
    lo, hi = 0, len(bps) - 1  # invariant: S(bps[lo]) < 1 <= S(bps[hi])
    a_hi = _a_exact(cols, bps[hi], n, system)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        a_mid = _a_exact(cols, bps[mid], n, system)
        if sum(a_mid) >= 1:
            hi, a_hi = mid, a_mid
        else:
            lo = mid
    s_hi = sum(a_hi)
    if s_hi == 1:
        return a_hi
    a_lo = _a_exact(cols, bps[lo], n, system)
    s_lo = sum(a_lo)
    lam = (1 - s_lo) / (s_hi - s_lo)
    return [u + lam * (v - u) for u, v in zip(a_lo, a_hi)]


# ----------------------------------------------------------------------------- public API


def _validate_float(reports: Any) -> tuple[np.ndarray, bool]:
    try:
        R = np.asarray(reports, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"reports must be an array of numbers; {exc}") from None
    if R.ndim not in (2, 3):
        raise InputError(f"reports must be 2-D (n, m) (or a batch (B, n, m)); got shape {R.shape}")
    batched = R.ndim == 3
    R3 = R if batched else R[None]
    if 0 in R3.shape:
        raise InputError(f"reports need n >= 1 voters and m >= 1 alternatives; got shape {R.shape}")
    if not np.isfinite(R3).all():
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(R))[0])
        raise InputError(f"reports{list(idx)}={R[idx]} is not finite (NaN or inf)")
    if (R3 < 0).any():
        idx = tuple(int(i) for i in np.argwhere(R < 0)[0])
        raise InputError(f"reports{list(idx)}={R[idx]!r} is negative; rows must lie on the simplex")
    sums = R3.sum(axis=2)
    bad = np.abs(sums - 1.0) > 1e-9
    if bad.any():
        b, i = (int(v) for v in np.argwhere(bad)[0])
        where = f"[{b}, {i}]" if batched else f"[{i}]"
        raise InputError(f"reports{where} sums to {sums[b, i]!r}; each row must sum to 1 (±1e-9)")
    return np.ascontiguousarray(R3), batched


def _validate_exact(reports: Any) -> list[list[Fraction]]:
    rows = [list(r) for r in (reports.tolist() if isinstance(reports, np.ndarray) else reports)]
    if not rows or not rows[0] or any(len(r) != len(rows[0]) for r in rows):
        raise InputError("reports must be a non-empty 2-D (n, m) table with equal-length rows")
    out = []
    for i, r in enumerate(rows):
        fr = []
        for j, v in enumerate(r):
            if isinstance(v, bool) or not isinstance(v, (Fraction, int)):
                raise InputError(f"reports[{i}, {j}]={v!r}: exact mode needs Fraction or int")
            if v < 0:
                raise InputError(f"reports[{i}, {j}]={v} is negative; rows must lie on the simplex")
            fr.append(Fraction(v))
        if sum(fr) != 1:
            raise InputError(f"reports[{i}] sums to {sum(fr)}; each row must sum to exactly 1")
        out.append(fr)
    return out


def moving_phantom(
    reports: Any, system: str = "independent_markets", tol: float = 1e-12
) -> np.ndarray:
    """Moving-phantom aggregate of budget proposals (Freeman et al. 2021; spec §6).

    ``reports`` has shape ``(n, m)`` with rows on the simplex (a batch ``(B, n, m)`` gives
    ``(B, m)``); returns the ``(m,)`` allocation summing to 1. Float mode is accurate to about
    ``(n + 1) * tol`` per component; Fraction input gives an exact object array of Fractions.
    """
    _check_system(system)
    if is_exact(reports):
        rows = _validate_exact(reports)
        exact = [Fraction(1)] if len(rows[0]) == 1 else _moving_phantom_exact(rows, system)
        out = np.empty(len(exact), dtype=object)
        out[:] = exact
        return out
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 < tol < 1:
        raise InputError(f"tol must be a float in (0, 1); got {tol!r}")
    R, batched = _validate_float(reports)
    if R.shape[2] == 1:
        res = np.ones((R.shape[0], 1))
    else:
        res = _moving_phantom_float(R, system, float(tol))
    return res if batched else res[0]


@register(
    "budget_aggregation.independent_markets",
    "mechanism",
    claims=("strategyproofness", "anonymity", "proportionality"),
    monotone=False,
    anonymous=True,
    params={"tol": {"type": "float", "default": 1e-12}},
)
def independent_markets(reports: Any, tol: float = 1e-12) -> np.ndarray:
    """Independent Markets moving-phantom mechanism: f_k(t) = min(t(n - k), 1) (spec §6)."""
    return moving_phantom(reports, "independent_markets", tol)


@register(
    "budget_aggregation.welfare_maximizing",
    "mechanism",
    claims=("strategyproofness", "anonymity", "pareto"),
    monotone=False,
    anonymous=True,
    params={"tol": {"type": "float", "default": 1e-12}},
)
def welfare_maximizing(reports: Any, tol: float = 1e-12) -> np.ndarray:
    """Welfare-maximizing moving-phantom mechanism: f_k(t) = clamp((n+1)t - k, 0, 1) (spec §6)."""
    return moving_phantom(reports, "welfare_maximizing", tol)


__all__ = ["SYSTEMS", "independent_markets", "moving_phantom", "welfare_maximizing"]
