"""Phantom-median mechanisms: ``uniform_phantom``, ``phantom_median`` and their phantom vectors.

Spec ``facility.md`` §4.1 (generalized median), §4.2 (Uniform Phantom), §4.3 (constrained median
as a phantom median), §4.4 (``best_ifs_phantom``), §10.3 (exact mode).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from fairsim._validation import check_choice
from fairsim.allocation._facility_exact import phantom_median_exact, uniform_phantom_exact
from fairsim.allocation.facility import (
    BACKENDS,
    is_torch,
    phantom_median_kernel,
    uniform_phantom_kernel,
)
from fairsim.errors import InputError
from fairsim.mechanisms._facility_common import (
    check_param,
    finish,
    interval_of,
    profiles,
    raise_bad_entry,
)


def up_phantoms(n: int) -> np.ndarray:
    """The n - 1 Uniform Phantom phantoms k/n, k = 1..n-1 (computed as ``k / n``, spec §10.3)."""
    return np.arange(1, n, dtype=np.float64) / n


def best_ifs_phantoms(n: int) -> np.ndarray:
    """Phantoms of ``best_ifs_phantom`` (spec §4.4): {0}, ceil(n/2)-1 x 1/n, floor(n/2) x (n-1)/n, {1}."""
    up = (n + 1) // 2 - 1
    return np.array([0.0] + [1 / n] * up + [(n - 1) / n] * (n // 2) + [1.0])


def constrained_median_phantoms(n: int) -> np.ndarray:
    """Phantoms making the constrained median a phantom median (spec §4.3 notes):
    n + 1 - ceil(n/2) copies of 1/n and ceil(n/2) copies of (n-1)/n."""
    c = (n + 1) // 2
    return np.array([1 / n] * (n + 1 - c) + [(n - 1) / n] * c)


def _raw_array(x: Any, name: str) -> tuple[Any, bool]:
    """Shape checks only (the kernels validate values in their single pass)."""
    if is_torch(x):
        arr = x
        ndim = x.ndim
        shape = tuple(x.shape)
    else:
        try:
            arr = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{name} must be an array of numbers; {exc}") from None
        ndim, shape = arr.ndim, arr.shape
    if ndim not in (1, 2):
        what = "a scalar" if ndim == 0 else f"shape {shape}"
        raise InputError(f"{name} must be 1-D (n,) or 2-D (B, n); got {what}")
    if shape[-1] < 1 or (ndim == 2 and shape[0] == 0):
        raise InputError(f"{name} is empty: need at least 1 agent(s); got shape {shape}")
    X = arr if ndim == 2 else arr[None, :]
    if not is_torch(X):
        X = np.ascontiguousarray(X)
    return X, ndim == 2


def _finish_float(out: Any, batched: bool) -> Any:
    if is_torch(out):
        return out if batched else out[0]
    return out if batched else float(out[0])


def _raise_for_row(X: Any, bad: int, batched: bool, name: str, lo: float, hi: float):
    row = X[bad].detach().cpu().numpy() if is_torch(X) else X[bad]
    raise_bad_entry(row, bad, batched, name, lo, hi)


def uniform_phantom(x: Any, *, interval: Any = None, backend: str = "auto") -> Any:
    """Uniform Phantom: UP(x) = med(x_1..x_n, 1/n, 2/n, ..., (n-1)/n) (spec §4.2).

    Aziz, Lam, Lee & Walsh, arXiv 2111.01566: the unique strategyproof mechanism satisfying UFS
    (and PF). Closed form max_k min(x_(k), (n-k+1)/n). ``interval=(a, b)`` uses the phantoms
    ``a + (b - a) * k / n`` in the caller's units (spec §2.3). ``backend`` is
    ``"auto" | "numpy" | "numba" | "torch"``; a torch tensor in gives a tensor on the same device
    out. Fraction input runs in exact mode and returns Fractions (spec §10.3).
    """
    check_choice(backend, "backend", BACKENDS)
    if not is_torch(x):
        from fairsim._validation import is_exact

        if is_exact(x):
            rows, batched, _, (lo, hi) = profiles(x, "x", interval)
            return finish([uniform_phantom_exact(r, lo, hi) for r in rows], batched, True)
    lo, hi = interval_of(interval, False)
    X, batched = _raw_array(x, "x")
    out, bad = uniform_phantom_kernel(X, lo, hi, backend)
    if bad >= 0:
        _raise_for_row(X, bad, batched, "x", lo, hi)
    return _finish_float(out, batched)


def _phantom_array(phantoms: Any, B: int, lo: float, hi: float) -> np.ndarray:
    P = np.asarray(phantoms.detach().cpu() if is_torch(phantoms) else phantoms, dtype=object)
    try:
        P = P.astype(np.float64)
    except (TypeError, ValueError):
        raise InputError(f"phantoms must be an array of numbers; got {phantoms!r}") from None
    if P.ndim not in (1, 2):
        raise InputError(f"phantoms must be 1-D (q,) or 2-D (B, q); got shape {P.shape}")
    if P.ndim == 2 and P.shape[0] not in (1, B):
        raise InputError(
            f"phantoms of shape {P.shape} do not match the batch: need (q,), (1, q) or ({B}, q)"
        )
    ok = (P >= lo) & (P <= hi)
    if not ok.all():
        idx = tuple(int(i) for i in np.argwhere(~ok)[0])
        where = f"[{idx[0]}]" if P.ndim == 1 else f"[{idx[0]}, {idx[1]}]"
        raise InputError(
            f"phantoms{where}={float(P[idx])!r} outside interval [{lo:g}, {hi:g}] (or not finite)"
        )
    return P


def _check_odd(n: int, q: int) -> None:
    if (n + q) % 2 == 0:
        raise InputError(
            f"phantom_median needs an odd number of points; got n={n} agents + {q} phantoms"
        )


def phantom_median(x: Any, phantoms: Any, *, interval: Any = None, backend: str = "auto") -> Any:
    """Generalized (phantom) median: the middle of {x_1..x_n} and q phantoms (spec §4.1).

    Moulin (1980), *On strategy-proofness and single peakedness*. ``phantoms`` has shape ``(q,)``
    (shared) or ``(B, q)`` (one vector per row), values in the interval, any order; n + q must be
    odd (the median is never averaged, spec §10.2). Fraction input gives exact Fractions.
    """
    check_choice(backend, "backend", BACKENDS)
    from fairsim._validation import is_exact

    if not is_torch(x) and is_exact(x):
        rows, batched, _, (lo, hi) = profiles(x, "x", interval)
        P = np.asarray(phantoms, dtype=object)
        if P.ndim not in (1, 2) or (P.ndim == 2 and P.shape[0] not in (1, len(rows))):
            raise InputError(f"phantoms must be (q,) or (B, q) matching the batch; got {P.shape}")
        Prow = [P] if P.ndim == 1 else list(P)
        vals = []
        for b, r in enumerate(rows):
            pr = Prow[b if len(Prow) > 1 else 0]
            _check_odd(len(r), len(pr))
            ps = [check_param(p, f"phantoms[{j}]", lo, hi, True) for j, p in enumerate(pr)]
            vals.append(phantom_median_exact(r, ps))
        return finish(vals, batched, True)
    lo, hi = interval_of(interval, False)
    X, batched = _raw_array(x, "x")
    P = _phantom_array(phantoms, X.shape[0], lo, hi)
    _check_odd(X.shape[1], P.shape[-1])
    out, bad = phantom_median_kernel(X, P, lo, hi, backend)
    if bad >= 0:
        _raise_for_row(X, bad, batched, "x", lo, hi)
    return _finish_float(out, batched)


def scaled_phantoms(
    p01: np.ndarray | None, lo: Any, hi: Any, n: int, exact: bool, which: str
) -> Any:
    """Phantoms given in [0, 1] units mapped to the interval (exactly in exact mode)."""
    if not exact:
        assert p01 is not None
        return lo + (hi - lo) * p01
    fr = {
        "best_ifs": [Fraction(0)]
        + [Fraction(1, n)] * ((n + 1) // 2 - 1)
        + [Fraction(n - 1, n)] * (n // 2)
        + [Fraction(1)],
        "constrained": [Fraction(1, n)] * (n + 1 - (n + 1) // 2)
        + [Fraction(n - 1, n)] * ((n + 1) // 2),
    }[which]
    return [lo + (hi - lo) * f for f in fr]


__all__ = [
    "best_ifs_phantoms",
    "constrained_median_phantoms",
    "phantom_median",
    "scaled_phantoms",
    "uniform_phantom",
    "up_phantoms",
]
