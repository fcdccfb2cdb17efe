"""Order-statistic, mean and constant facility mechanisms (spec ``facility.md`` §4.3, §7).

All take ``x`` of shape ``(n,)`` (scalar out) or ``(B, n)`` (``(B,)`` out), ``interval=(a, b)``
(spec §2.3) and run in exact mode on Fraction input (spec §10.3).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from fairsim._validation import check_choice, check_int
from fairsim.allocation._facility_exact import phantom_median_exact, uniform_phantom_exact
from fairsim.allocation._facility_numpy import order_statistic_numpy, uniform_phantom_numpy
from fairsim.allocation.facility import phantom_median_kernel
from fairsim.mechanisms._facility_common import check_param, finish, profiles
from fairsim.mechanisms._facility_phantom import (
    best_ifs_phantoms,
    constrained_median_phantoms,
    scaled_phantoms,
)


def _kth(X: Any, k: int, exact: bool) -> Any:
    """k-th smallest (1-based) of every row."""
    if exact:
        return [sorted(r)[k - 1] for r in X]
    return order_statistic_numpy(X, k)


def order_statistic(x: Any, k: int, *, interval: Any = None) -> Any:
    """The k-th smallest report x_(k), 1-based k in {1..n} (spec §4.3; a phantom median)."""
    X, batched, exact, _ = profiles(x, "x", interval)
    n = len(X[0])
    k = check_int(k, "k", 1, n)
    return finish(_kth(X, k, exact), batched, exact)


def median(x: Any, side: str = "left", *, interval: Any = None) -> Any:
    """Median report: ``"left"`` x_(ceil(n/2)) (default, fairsim's choice [F]) or ``"right"``
    x_(floor(n/2)+1) (spec §4.3, §10.2). Never the averaged median of numpy (not SP for even n)."""
    check_choice(side, "side", ("left", "right"))
    X, batched, exact, _ = profiles(x, "x", interval)
    n = len(X[0])
    k = (n + 1) // 2 if side == "left" else n // 2 + 1
    return finish(_kth(X, k, exact), batched, exact)


def leftmost(x: Any, *, interval: Any = None) -> Any:
    """The leftmost report x_(1) (spec §4.3)."""
    X, batched, exact, _ = profiles(x, "x", interval)
    vals = [min(r) for r in X] if exact else X.min(axis=1)
    return finish(vals, batched, exact)


def rightmost(x: Any, *, interval: Any = None) -> Any:
    """The rightmost report x_(n) (spec §4.3)."""
    X, batched, exact, _ = profiles(x, "x", interval)
    vals = [max(r) for r in X] if exact else X.max(axis=1)
    return finish(vals, batched, exact)


def average(x: Any, *, interval: Any = None) -> Any:
    """The mean (1/n) sum x_i (spec §4.3): anonymous, UFS and PF, not strategyproof."""
    X, batched, exact, _ = profiles(x, "x", interval)
    if exact:
        vals = [sum(r, Fraction(0)) / len(r) for r in X]
    else:
        vals = X.sum(axis=1) / X.shape[1]
    return finish(vals, batched, exact)


def midpoint(x: Any, *, interval: Any = None) -> Any:
    """(x_(1) + x_(n)) / 2 (spec §4.3): IFS, not UFS for n >= 3, not strategyproof."""
    X, batched, exact, _ = profiles(x, "x", interval)
    if exact:
        vals = [(min(r) + max(r)) / 2 for r in X]
    else:
        vals = (X.min(axis=1) + X.max(axis=1)) / 2
    return finish(vals, batched, exact)


def constant(x: Any, c: Any, *, interval: Any = None) -> Any:
    """The constant location c (in the caller's units, inside the interval; spec §4.3)."""
    X, batched, exact, (lo, hi) = profiles(x, "x", interval)
    c = check_param(c, "c", lo, hi, exact)
    vals = [c] * len(X) if exact else np.full(X.shape[0], c)
    return finish(vals, batched, exact)


def dictatorship(x: Any, i: int, *, interval: Any = None) -> Any:
    """The report x_i of agent i (0-based, the same i for every row; spec §4.3)."""
    X, batched, exact, _ = profiles(x, "x", interval)
    n = len(X[0])
    i = check_int(i, "i", 0, n - 1)
    vals = [r[i] for r in X] if exact else X[:, i].copy()
    return finish(vals, batched, exact)


def constrained_median(x: Any, *, interval: Any = None) -> Any:
    """clamp(x_(ceil(n/2)), 1/n, 1 - 1/n); x_1 for n = 1 (spec §4.3).

    Equal to the phantom median with n + 1 - ceil(n/2) phantoms at 1/n and ceil(n/2) at
    1 - 1/n, hence strategyproof; satisfies IFS but not unanimity.
    """
    X, batched, exact, (lo, hi) = profiles(x, "x", interval)
    n = len(X[0])
    med = _kth(X, (n + 1) // 2, exact)
    if n == 1:
        return finish(med, batched, exact)
    if exact:
        a = lo + (hi - lo) * Fraction(1, n)
        b = lo + (hi - lo) * Fraction(n - 1, n)
        vals = [min(max(m, a), b) for m in med]
    else:
        a = lo + (hi - lo) * (1 / n)
        b = lo + (hi - lo) * ((n - 1) / n)
        vals = np.clip(med, a, b)
    return finish(vals, batched, exact)


def best_ifs_phantom(x: Any, *, interval: Any = None) -> Any:
    """Welfare-best anonymous SP + IFS phantom mechanism (spec §4.4, fairsim-derived [D]).

    Phantom median with phantoms {0}, ceil(n/2) - 1 copies of 1/n, floor(n/2) copies of 1 - 1/n
    and {1}. Its SW ratio equals the price of IFS n(n-1)/(n^2-2n+2); equals UP for n <= 3.
    """
    X, batched, exact, (lo, hi) = profiles(x, "x", interval)
    n = len(X[0])
    if exact:
        ps = scaled_phantoms(None, lo, hi, n, True, "best_ifs")
        return finish([phantom_median_exact(r, ps) for r in X], batched, True)
    P = scaled_phantoms(best_ifs_phantoms(n), lo, hi, n, False, "best_ifs")
    out, _ = phantom_median_kernel(X, P, lo, hi, "auto")
    return finish(out, batched, False)


def avg_up_mix(x: Any, *, interval: Any = None) -> Any:
    """g2 of spec §7: (average(x) + uniform_phantom(x)) / 2.

    Continuous, strictly monotone and UFS (the UFS set is an interval holding both terms), not
    strategyproof; its equilibrium outcome is UP(x) (Experiment A).
    """
    X, batched, exact, (lo, hi) = profiles(x, "x", interval)
    if exact:
        vals = [(sum(r, Fraction(0)) / len(r) + uniform_phantom_exact(r, lo, hi)) / 2 for r in X]
    else:
        vals = (X.sum(axis=1) / X.shape[1] + uniform_phantom_numpy(X, lo, hi)) / 2
    return finish(vals, batched, exact)


__all__ = [
    "average",
    "avg_up_mix",
    "best_ifs_phantom",
    "constant",
    "constrained_median",
    "constrained_median_phantoms",
    "dictatorship",
    "leftmost",
    "median",
    "midpoint",
    "order_statistic",
    "rightmost",
]
