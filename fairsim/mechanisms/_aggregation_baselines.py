"""Baseline budget-aggregation rules the moving-phantom literature compares against [F].

Spec ``facility.md`` §6 setting: n voters report p_i in the simplex Δ_m, ℓ1 disutility. Freeman,
Pennock, Peters & Wortman Vaughan (JET 2021, arXiv 1905.00457) §1 contrast moving phantoms with

* ``mean``: the coordinate-wise mean (1/n) Σ_i p_i — proportional-looking but manipulable;
* ``normalized_median``: the coordinate-wise median (``numpy.median``: mean of the two middle
  values for even n) rescaled to sum 1; when every median is 0 the mean is returned [F] — not
  strategyproof (the rescaling breaks the median's incentive property);
* ``utilitarian_l1``: an allocation minimising Σ_i ||a - p_i||_1 over Δ_m, solved as a linear
  program by HiGHS (``scipy.optimize.linprog``). The optimum need not be unique; HiGHS returns
  one optimal vertex, so this rule is Pareto optimal but carries no incentive guarantee [F].

All take an ``(n, m)`` profile (validated as :func:`fairsim.mechanisms.budget_aggregation.moving_phantom`
does) and return an ``(m,)`` float allocation summing to 1 (``mean`` and ``normalized_median``
also take a batch ``(B, n, m)``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fairsim.errors import InputError
from fairsim.mechanisms.budget_aggregation import _validate_float
from fairsim.registry import register


def _profile(reports: Any) -> np.ndarray:
    R, batched = _validate_float(reports)
    if batched:
        raise InputError(f"reports must be 2-D (n, m); got shape {np.shape(reports)}")
    return R[0]


def _batch(reports: Any) -> tuple[np.ndarray, bool]:
    R, batched = _validate_float(reports)
    return R, batched


def _mean_kernel(R: np.ndarray) -> np.ndarray:
    """(B, n, m) -> (B, m) coordinate-wise means, renormalised against rounding."""
    a = R.mean(axis=1)
    return a / a.sum(axis=1, keepdims=True)


def _median_kernel(R: np.ndarray) -> np.ndarray:
    """(B, n, m) -> (B, m) normalised medians (the mean where every median is 0)."""
    med = np.median(R, axis=1)
    s = med.sum(axis=1, keepdims=True)
    return np.where(s > 0, med / np.where(s > 0, s, 1.0), _mean_kernel(R))


def _l1_lp_kernel(R: np.ndarray) -> np.ndarray:
    """min Σ_ij d_ij s.t. d_ij >= ±(a_j - p_ij), Σ_j a_j = 1, a >= 0 (the shared ℓ1 LP)."""
    from fairsim.allocation._l1_simplex import l1_simplex_lp

    status, message, a, _ = l1_simplex_lp(R)
    if status != 0:  # pragma: no cover - the LP is always feasible and bounded
        raise InputError(f"utilitarian LP failed: {message}")
    return a


@register(
    "budget_aggregation.mean",
    "mechanism",
    violates=("strategyproofness",),
    anonymous=True,
    params={},
)
def mean(reports: Any) -> np.ndarray:
    """Coordinate-wise mean of the reports (Freeman et al. 2021 §1 baseline; not SP).

    ``(n, m) -> (m,)``; a batch ``(B, n, m)`` gives ``(B, m)``.
    """
    R, batched = _batch(reports)
    out = _mean_kernel(R)
    return out if batched else out[0]


@register(
    "budget_aggregation.normalized_median",
    "mechanism",
    violates=("strategyproofness", "range_respect"),
    anonymous=True,
    params={},
)
def normalized_median(reports: Any) -> np.ndarray:
    """Coordinate-wise median rescaled to sum 1 (mean when all medians are 0 [F]; not SP).

    ``(n, m) -> (m,)``; a batch ``(B, n, m)`` gives ``(B, m)``.
    """
    R, batched = _batch(reports)
    out = _median_kernel(R)
    return out if batched else out[0]


@register(
    "budget_aggregation.utilitarian_l1",
    "mechanism",
    claims=("pareto",),
    anonymous=True,
    params={},
)
def utilitarian_l1(reports: Any) -> np.ndarray:
    """A minimiser of Σ_i ||a - p_i||_1 over the simplex (LP, HiGHS; one optimal vertex) [F]."""
    return _l1_lp_kernel(_profile(reports))


__all__ = ["mean", "normalized_median", "utilitarian_l1"]
