"""Input validation shared by the public API (mechanisms, axioms).

Kernels in :mod:`fairsim.allocation` trust their inputs; everything public goes through these
helpers once, so that bad input raises :class:`~fairsim.errors.InputError` with a message naming
the argument, the offending value and the allowed range — never a traceback from inside numba.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from fairsim.errors import InputError


def is_exact(x: Any) -> bool:
    """True when ``x`` holds ``fractions.Fraction`` values (exact rational mode, spec §10.3)."""
    if isinstance(x, Fraction):
        return True
    if isinstance(x, np.ndarray):
        return x.dtype == object and x.size > 0 and isinstance(x.flat[0], Fraction)
    if isinstance(x, (list, tuple)) and len(x) > 0:
        first = x[0]
        if isinstance(first, (list, tuple)) and len(first) > 0:
            first = first[0]
        return isinstance(first, Fraction)
    return False


def check_interval(interval: Any) -> tuple[float, float]:
    """Validate ``interval=(a, b)`` with finite a < b."""
    try:
        a, b = interval
        a, b = float(a), float(b)
    except (TypeError, ValueError):
        raise InputError(f"interval must be a pair (a, b); got {interval!r}") from None
    if not (np.isfinite(a) and np.isfinite(b)) or not a < b:
        raise InputError(f"interval must satisfy finite a < b; got ({a}, {b})")
    return a, b


def as_profiles(
    x: Any,
    name: str = "x",
    *,
    interval: tuple[float, float] = (0.0, 1.0),
    min_agents: int = 1,
) -> tuple[np.ndarray, bool]:
    """Validate a profile ``(n,)`` or a batch of profiles ``(B, n)``.

    Returns ``(X, batched)`` where ``X`` is a C-contiguous float64 array of shape ``(B, n)`` and
    ``batched`` tells whether the caller passed a 2-D array. Raises :class:`InputError` for empty
    input, a wrong number of dimensions, NaN/inf and values outside ``interval`` (the message names
    the first offending entry, e.g. ``x[2]=1.2 outside interval [0, 1]``).
    """
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be an array of numbers; {exc}") from None
    if arr.ndim == 0:
        raise InputError(f"{name} must be 1-D (n,) or 2-D (B, n); got a scalar")
    if arr.ndim > 2:
        raise InputError(f"{name} must be 1-D (n,) or 2-D (B, n); got shape {arr.shape}")
    batched = arr.ndim == 2
    X = arr if batched else arr[None, :]
    if X.shape[1] < min_agents or (batched and X.shape[0] == 0):
        raise InputError(
            f"{name} is empty: need at least {min_agents} agent(s); got shape {arr.shape}"
        )
    lo, hi = interval
    finite = np.isfinite(X)
    if not finite.all():
        idx = _first(~finite, batched)
        raise InputError(f"{name}{idx}={float(arr[idx_tuple(idx)])} is not finite (NaN or inf)")
    bad = (X < lo) | (X > hi)
    if bad.any():
        idx = _first(bad, batched)
        raise InputError(
            f"{name}{idx}={float(arr[idx_tuple(idx)])!r} outside interval [{_fmt(lo)}, {_fmt(hi)}]"
        )
    return np.ascontiguousarray(X), batched


def idx_tuple(idx: str) -> tuple[int, ...]:
    return tuple(int(p) for p in idx.strip("[]").split(", "))


def _first(mask: np.ndarray, batched: bool) -> str:
    pos = np.argwhere(mask)[0]
    return f"[{pos[0]}, {pos[1]}]" if batched else f"[{pos[1]}]"


def _fmt(v: float) -> str:
    return f"{v:g}"


def check_generator(rng: Any, name: str = "rng") -> np.random.Generator:
    """Only a ``numpy.random.Generator`` is accepted (spec §10.7); seeds and None are errors."""
    if not isinstance(rng, np.random.Generator):
        raise InputError(
            f"{name} must be a numpy.random.Generator (e.g. numpy.random.default_rng(0)); "
            f"got {type(rng).__name__}"
        )
    return rng


def as_rng(rng: Any, name: str = "rng") -> np.random.Generator:
    """A ``numpy.random.Generator`` from a Generator, a seed, a ``SeedSequence`` or None."""
    if isinstance(rng, np.random.Generator):
        return rng
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a numpy Generator, a seed or None; got {rng!r}") from None


def check_int(value: Any, name: str, lo: int, hi: int) -> int:
    """An integer in [lo, hi] (bool rejected)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{name} must be an integer in [{lo}, {hi}]; got {value!r}")
    if not lo <= int(value) <= hi:
        raise InputError(f"{name}={value} outside allowed range [{lo}, {hi}]")
    return int(value)


def check_choice(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InputError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    return str(value)


__all__ = [
    "as_rng",
    "as_profiles",
    "check_choice",
    "check_generator",
    "check_int",
    "check_interval",
    "is_exact",
]
