"""Shared input handling of the facility mechanisms: float batches, exact (Fraction) mode, outputs.

Spec ``facility.md`` §1 (shapes, errors), §2.3 (``interval``), §10.3 (exact mode), §10.6 (messages).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from fairsim._validation import as_profiles, check_interval, is_exact
from fairsim.errors import InputError

Profiles = Any  # ndarray (B, n) float64, or list[list[Fraction]] in exact mode


def fmt(v: float) -> str:
    return f"{v:g}"


def interval_of(interval: Any, exact: bool) -> tuple[Any, Any]:
    """Validated ``(a, b)``; Fractions in exact mode (floats are converted exactly)."""
    if interval is None:
        return (Fraction(0), Fraction(1)) if exact else (0.0, 1.0)
    a, b = check_interval(interval)
    if exact:
        ia, ib = interval
        return _to_fraction(ia, "interval[0]"), _to_fraction(ib, "interval[1]")
    return a, b


def _to_fraction(v: Any, name: str) -> Fraction:
    if isinstance(v, bool):
        raise InputError(f"{name} must be a Fraction or an int in exact mode; got {v!r}")
    if isinstance(v, (Fraction, int, np.integer)):
        return Fraction(int(v)) if isinstance(v, np.integer) else Fraction(v)
    if isinstance(v, (float, np.floating)) and np.isfinite(v):
        return Fraction(float(v))
    raise InputError(f"{name} must be a Fraction or an int in exact mode; got {v!r}")


def exact_profiles(x: Any, name: str, lo: Fraction, hi: Fraction) -> tuple[list, bool]:
    """Validate exact-mode input: rows of Fractions (ints allowed) inside [lo, hi]."""
    if isinstance(x, Fraction):
        raise InputError(f"{name} must be 1-D (n,) or 2-D (B, n); got a scalar")
    rows_in = x.tolist() if isinstance(x, np.ndarray) else list(x)
    if not rows_in:
        raise InputError(f"{name} is empty: need at least 1 agent(s); got shape (0,)")
    batched = isinstance(rows_in[0], (list, tuple, np.ndarray))
    rows = [list(r) for r in rows_in] if batched else [rows_in]
    n = len(rows[0])
    if n == 0:
        raise InputError(f"{name} is empty: need at least 1 agent(s); got shape ({len(rows)}, 0)")
    out = []
    for b, row in enumerate(rows):
        if len(row) != n:
            raise InputError(f"{name} rows must all have n={n} entries; row {b} has {len(row)}")
        frow = []
        for i, v in enumerate(row):
            where = f"{name}[{b}, {i}]" if batched else f"{name}[{i}]"
            if isinstance(v, (list, tuple)):
                raise InputError(f"{name} must be 1-D (n,) or 2-D (B, n); {where} is a sequence")
            if isinstance(v, bool) or not isinstance(v, (Fraction, int, np.integer)):
                raise InputError(
                    f"{where}={v!r}: exact mode needs Fraction or int entries (got "
                    f"{type(v).__name__}); pass all floats for float mode"
                )
            fv = Fraction(int(v)) if isinstance(v, np.integer) else Fraction(v)
            if not lo <= fv <= hi:
                raise InputError(f"{where}={fv} outside interval [{lo}, {hi}]")
            frow.append(fv)
        out.append(frow)
    return out, batched


def profiles(x: Any, name: str = "x", interval: Any = None) -> tuple[Profiles, bool, bool, Any]:
    """Parse ``x`` in float or exact mode.

    Returns ``(X, batched, exact, (lo, hi))``: ``X`` is a ``(B, n)`` float64 array or, in exact
    mode, a list of ``B`` lists of Fractions.
    """
    exact = is_exact(x)
    lo, hi = interval_of(interval, exact)
    if exact:
        rows, batched = exact_profiles(x, name, lo, hi)
        return rows, batched, True, (lo, hi)
    X, batched = as_profiles(x, name, interval=(lo, hi))
    return X, batched, False, (lo, hi)


def finish(values: Any, batched: bool, exact: bool) -> Any:
    """(n,) input gives a scalar (float or Fraction); (B, n) gives a (B,) array."""
    if exact:
        if batched:
            arr = np.empty(len(values), dtype=object)
            arr[:] = list(values)
            return arr
        return values[0]
    if batched:
        return values
    return float(values[0])


def raise_bad_entry(row: Any, b: int, batched: bool, name: str, lo: float, hi: float):
    """Raise the InputError naming the first NaN/inf or out-of-range entry of ``row`` (row b)."""
    row = np.asarray(row, dtype=np.float64)
    ok = (row >= lo) & (row <= hi)
    i = int(np.flatnonzero(~ok)[0])
    where = f"{name}[{b}, {i}]" if batched else f"{name}[{i}]"
    v = float(row[i])
    if not np.isfinite(v):
        raise InputError(f"{where}={v} is not finite (NaN or inf)")
    raise InputError(f"{where}={v!r} outside interval [{fmt(lo)}, {fmt(hi)}]")


def check_param(value: Any, name: str, lo: Any, hi: Any, exact: bool) -> Any:
    """A real parameter (``c``, a phantom) inside [lo, hi]; Fraction in exact mode."""
    if exact:
        v = _to_fraction(value, name)
        if not lo <= v <= hi:
            raise InputError(f"{name}={v} outside allowed range [{lo}, {hi}]")
        return v
    if isinstance(value, bool):
        raise InputError(f"{name} must be a real number in [{fmt(lo)}, {fmt(hi)}]; got {value!r}")
    try:
        fv = float(value)
    except (TypeError, ValueError):
        raise InputError(
            f"{name} must be a real number in [{fmt(lo)}, {fmt(hi)}]; got {value!r}"
        ) from None
    if not np.isfinite(fv):
        raise InputError(f"{name}={fv} is not finite (NaN or inf)")
    if not lo <= fv <= hi:
        raise InputError(f"{name}={fv!r} outside allowed range [{fmt(lo)}, {fmt(hi)}]")
    return fv


__all__ = [
    "check_param",
    "exact_profiles",
    "finish",
    "fmt",
    "interval_of",
    "profiles",
    "raise_bad_entry",
]
