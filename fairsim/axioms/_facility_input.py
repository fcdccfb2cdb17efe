"""Input parsing shared by the facility-location axioms and metrics (spec ``facility.md`` §1, §10.3).

Everything public in :mod:`fairsim.axioms.facility` goes through these helpers once. Profiles are
mapped to the unit interval (spec §2.3: ``z -> (z - a)/(b - a)``; the identity for the default
``interval=(0, 1)``, so no rounding is introduced there). Exact rational mode (spec §10.3) is
triggered per call by ``fractions.Fraction`` inputs and keeps every value a ``Fraction``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from numbers import Real
from typing import Any

import numpy as np

from fairsim._validation import as_profiles, check_interval, is_exact
from fairsim.errors import InputError

Number = float | Fraction
Lottery = list[tuple[Number, Number]]

DEFAULT_TOL = 1e-9


@dataclass
class Profile:
    """One validated profile in unit space.

    ``u`` holds the unit-space locations in the caller's agent order; ``order`` is the stable
    argsort of ``u`` (sorted position -> agent index) and ``s`` the sorted values. Single profiles
    are always evaluated in exact rational arithmetic on the given values (a float converts to a
    Fraction exactly), so interval ends carry no rounding error (spec §10.4); ``exact`` says
    whether results are returned as Fractions (exact mode) or rounded to floats.
    """

    u: list[Any]
    s: list[Any]
    order: list[int]
    exact: bool
    a: Number
    b: Number

    @property
    def n(self) -> int:
        return len(self.u)

    @property
    def width(self) -> Number:
        return self.b - self.a

    def out(self, t: Number) -> Number:
        """Map a unit-space value back to the caller's units."""
        if self.a == 0 and self.b == 1:
            return t
        return self.a + self.width * t

    def scale(self, d: Number) -> Number:
        """Map a unit-space distance back to the caller's units."""
        return d if self.width == 1 else d * self.width

    def frac(self, k: int, m: int) -> Fraction:
        """k/m as an exact Fraction."""
        return Fraction(k, m)

    def py(self, v: Any) -> Any:
        """Result value: a Fraction in exact mode, else a plain float (JSON-friendly)."""
        if isinstance(v, (list, tuple)):
            return type(v)(self.py(e) for e in v)
        if self.exact or isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            return v if self.exact else int(v)
        return float(v)

    def unit_to_caller(self, t: Number) -> Any:
        return self.py(self.out(t))

    def dist_to_caller(self, d: Number) -> Any:
        return self.py(self.scale(d))


def _is_fraction_like(v: Any) -> bool:
    return isinstance(v, Fraction)


def lottery_is_exact(y: Any) -> bool:
    return isinstance(y, (list, tuple)) and any(
        isinstance(p, (list, tuple)) and any(_is_fraction_like(v) for v in p) for p in y
    )


def is_lottery(y: Any) -> bool:
    """A lottery is a non-empty list/tuple of (location, probability) pairs."""
    return (
        isinstance(y, (list, tuple))
        and len(y) > 0
        and all(isinstance(p, (list, tuple)) and len(p) == 2 for p in y)
    )


def check_tol(tol: Any, exact: bool) -> Number:
    """``tol`` defaults to 1e-9 in float mode and 0 in exact mode (spec §1, §10.3)."""
    if tol is None:
        return Fraction(0) if exact else DEFAULT_TOL
    if isinstance(tol, bool) or not isinstance(tol, (Real, np.floating, np.integer)):
        raise InputError(f"tol must be a finite number >= 0; got {tol!r}")
    if isinstance(tol, Fraction):
        if tol < 0:
            raise InputError(f"tol must be a finite number >= 0; got {tol}")
        return tol if exact else float(tol)
    t = float(tol)
    if not np.isfinite(t) or t < 0:
        raise InputError(f"tol must be a finite number >= 0; got {tol!r}")
    return Fraction(t) if exact else t


def exact_interval(interval: Any) -> tuple[Fraction, Fraction]:
    check_interval(interval)
    a, b = interval
    return Fraction(a), Fraction(b)


def _exact_rows(x: Any, name: str) -> tuple[list[list[Fraction]], bool]:
    arr = np.asarray(x, dtype=object)
    if arr.ndim == 0:
        raise InputError(f"{name} must be 1-D (n,) or 2-D (B, n); got a scalar")
    if arr.ndim > 2:
        raise InputError(f"{name} must be 1-D (n,) or 2-D (B, n); got shape {arr.shape}")
    batched = arr.ndim == 2
    rows = arr if batched else arr[None, :]
    if rows.shape[1] < 1 or rows.shape[0] == 0:
        raise InputError(f"{name} is empty: need at least 1 agent(s); got shape {arr.shape}")
    out: list[list[Fraction]] = []
    for r in rows:
        row: list[Fraction] = []
        for v in r:
            if isinstance(v, (float, np.floating)) and not np.isfinite(v):
                raise InputError(f"{name} contains {v}, which is not finite (NaN or inf)")
            try:
                row.append(Fraction(v))
            except (TypeError, ValueError):
                raise InputError(f"{name} must hold numbers; got {v!r}") from None
        out.append(row)
    return out, batched


def parse_profiles(
    x: Any, interval: Any = (0.0, 1.0), *, exact: bool | None = None, name: str = "x"
) -> tuple[list[Profile], bool]:
    """Validate ``x`` ((n,) or (B, n)) and return unit-space :class:`Profile` objects."""
    if exact is None:
        exact = is_exact(x)
    if exact:
        a, b = exact_interval(interval)
        rows, batched = _exact_rows(x, name)
        profiles = []
        for bi, row in enumerate(rows):
            for j, v in enumerate(row):
                if v < a or v > b:
                    idx = f"[{bi}, {j}]" if batched else f"[{j}]"
                    raise InputError(f"{name}{idx}={v} outside interval [{a}, {b}]")
            profiles.append(_make(row, True, a, b))
        return profiles, batched
    af, bf, X, _, batched = parse_float(x, interval, name)
    return [float_profile(row, af, bf) for row in X], batched


def parse_float(
    x: Any, interval: Any = (0.0, 1.0), name: str = "x"
) -> tuple[float, float, np.ndarray, np.ndarray, bool]:
    """Validate float profiles; return ``(a, b, X, U, batched)``, ``U`` (B, n) in unit space."""
    af, bf = check_interval(interval)
    X, batched = as_profiles(x, name, interval=(af, bf))
    U = X if (af == 0.0 and bf == 1.0) else (X - af) / (bf - af)
    return af, bf, X, U, batched


def float_profile(row: np.ndarray, a: float, b: float) -> Profile:
    """A :class:`Profile` (evaluated exactly, reported in floats) from one validated float row."""
    return _make([Fraction(float(v)) for v in row], False, Fraction(a), Fraction(b))


def _make(row: list[Fraction], exact: bool, a: Fraction, b: Fraction) -> Profile:
    u: list[Number] = list(row) if (a == 0 and b == 1) else [(v - a) / (b - a) for v in row]
    order = sorted(range(len(u)), key=lambda i: u[i])
    return Profile(u=u, s=[u[i] for i in order], order=order, exact=exact, a=a, b=b)


def parse_y(y: Any, p: Profile, *, allow_lottery: bool, name: str = "y") -> Number | Lottery:
    """Validate an outcome (scalar or lottery) and map it to unit space.

    A lottery is returned as a list of unit-space ``(location, probability)`` pairs.
    """
    if is_lottery(y):
        if not allow_lottery:
            raise InputError(
                f"{name} must be a single location here; lotteries are accepted only by "
                "strong_proportionality and the objectives"
            )
        out: Lottery = []
        total = Fraction(0)
        for j, (loc, prob) in enumerate(y):
            u = _unit_scalar(loc, p, f"{name}[{j}] location")
            q = _number(prob, f"{name}[{j}] probability")
            if q < 0 or q > 1:
                raise InputError(f"{name}[{j}] probability={prob!r} outside [0, 1]")
            total += q
            out.append((u, q))
        if (p.exact and total != 1) or (not p.exact and abs(total - 1) > 1e-9):
            raise InputError(f"{name}: lottery probabilities must sum to 1; got {total}")
        return out
    if isinstance(y, (list, tuple)):
        raise InputError(f"{name} must be a number or a list of (location, probability) pairs")
    return _unit_scalar(y, p, name)


def _number(v: Any, name: str) -> Fraction:
    if isinstance(v, np.ndarray) and v.ndim == 0:
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, (Real, np.floating, np.integer)):
        raise InputError(f"{name} must be a number; got {v!r}")
    if not isinstance(v, Fraction) and not np.isfinite(float(v)):
        raise InputError(f"{name}={v!r} is not finite (NaN or inf)")
    return Fraction(v) if isinstance(v, Fraction) else Fraction(float(v))


def _unit_scalar(v: Any, p: Profile, name: str) -> Number:
    t = _number(v, name)
    if t < p.a or t > p.b:
        raise InputError(
            f"{name}={v!r} outside the domain [{p.py(p.a)}, {p.py(p.b)}] (outcomes must be locations)"
        )
    if p.a == 0 and p.b == 1:
        return t
    return (t - p.a) / (p.b - p.a)


def parse_y_batch(y: Any, B: int, interval: tuple[float, float], name: str = "y") -> np.ndarray:
    """Validate a batch of float outcomes (B,) and map it to unit space."""
    try:
        arr = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be an array of B={B} numbers for batched x") from None
    if arr.shape != (B,):
        raise InputError(f"{name} must have shape ({B},) for batched x; got {arr.shape}")
    if not np.isfinite(arr).all():
        j = int(np.argmax(~np.isfinite(arr)))
        raise InputError(f"{name}[{j}]={arr[j]} is not finite (NaN or inf)")
    a, b = interval
    bad = (arr < a) | (arr > b)
    if bad.any():
        j = int(np.argmax(bad))
        raise InputError(f"{name}[{j}]={arr[j]!r} outside the domain [{a:g}, {b:g}]")
    return arr if (a == 0.0 and b == 1.0) else (arr - a) / (b - a)


__all__ = [
    "DEFAULT_TOL",
    "Lottery",
    "Number",
    "Profile",
    "check_tol",
    "is_lottery",
    "lottery_is_exact",
    "float_profile",
    "parse_float",
    "parse_profiles",
    "parse_y",
    "parse_y_batch",
]
