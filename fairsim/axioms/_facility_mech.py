"""Uniform access to a facility-location mechanism for the mechanism-level checks.

``mechanism`` is either a registered name (``"uniform_phantom"`` or
``"facility.uniform_phantom"``, resolved through :mod:`fairsim.registry`; randomized ones are
evaluated in expectation through ``fairsim.mechanisms.facility.lottery``) or a plain callable.
A callable is deterministic unless it has the attribute ``randomized = True``, in which case it
maps one profile (n,) to a lottery ``[(location, probability), ...]``. A deterministic callable
may work on (n,) profiles or on (B, n) batches: the attribute ``batched`` says which; without it
fairsim probes once (fairsim's choice [F]). Optional attributes ``anonymous``, ``monotone`` and
``phantoms`` (an array or a callable ``n -> array``) play the role of the registry extras.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from numbers import Rational
from typing import Any

import numpy as np

from fairsim._validation import check_interval
from fairsim.errors import InputError


class Mech:
    """A resolved mechanism: metadata plus batched evaluation helpers."""

    def __init__(self, mechanism: Any, params: dict[str, Any] | None) -> None:
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise InputError(f"params must be a dict of keyword arguments; got {params!r}")
        self.params = dict(params)
        self.registered = isinstance(mechanism, str)
        self.short = ""
        if self.registered:
            from fairsim.registry import get

            entry = get(mechanism, "mechanism", domain="facility")
            self.name = entry.name
            self.short = entry.short_name
            self.func: Callable[..., Any] = entry.func
            extra = entry.extra
            self.randomized = bool(entry.randomized or extra.get("randomized", False))
            self.anonymous = bool(extra.get("anonymous", False))
            self.monotone = bool(extra.get("monotone", False))
            self._phantoms = extra.get("phantoms")
            # vectorised unmerged lottery (locations, probabilities) of float profiles, if any
            self._support = extra.get("support")
            self._batched: bool | None = True
        elif callable(mechanism):
            self.name = getattr(mechanism, "__name__", repr(mechanism))
            self.func = mechanism
            self.randomized = bool(getattr(mechanism, "randomized", False))
            self.anonymous = bool(getattr(mechanism, "anonymous", False))
            self.monotone = bool(getattr(mechanism, "monotone", False))
            self._phantoms = getattr(mechanism, "phantoms", None)
            self._support = None
            b = getattr(mechanism, "batched", None)
            self._batched = None if b is None else bool(b)
        else:
            raise InputError(
                "mechanism must be a registered facility mechanism name or a callable; "
                f"got {mechanism!r}"
            )
        self.a, self.b = check_interval(self.params.get("interval", (0.0, 1.0)))

    # ------------------------------------------------------------------ metadata
    def phantom_points(self, n: int) -> list[float]:
        """Phantom positions (caller units) usable as critical misreports (spec §10.5)."""
        out: list[float] = []
        src = self.params.get("phantoms")
        for ph in (self._phantoms, src):
            if ph is None:
                continue
            try:
                arr = ph(n) if callable(ph) else ph
                vals = np.asarray(arr, dtype=np.float64).ravel()
            except Exception:  # a phantom hook that does not apply to this n
                continue
            if ph is self._phantoms and not (self.a == 0.0 and self.b == 1.0):
                vals = self.a + (self.b - self.a) * vals
            out.extend(float(v) for v in vals if np.isfinite(v))
        return out

    # ------------------------------------------------------------------ evaluation
    def values(self, X: np.ndarray) -> np.ndarray:
        """Deterministic outcomes for profiles ``X`` (B, n)."""
        if self._batched is None:
            self._batched = self._probe(X)
        if self._batched:
            out = np.asarray(self.func(X, **self.params), dtype=np.float64).reshape(-1)
        else:
            out = np.array([float(self.func(row, **self.params)) for row in X])
        if out.shape != (X.shape[0],):
            raise InputError(
                f"mechanism {self.name} returned shape {out.shape} for {X.shape[0]} profiles"
            )
        return out

    def _probe(self, X: np.ndarray) -> bool:
        rows = X[:2] if X.shape[0] >= 2 else np.vstack([X, X])
        try:
            single = float(self.func(rows[0], **self.params))
            res = np.asarray(self.func(rows, **self.params), dtype=np.float64)
        except Exception:
            return False
        return res.shape == (2,) and float(res[0]) == single

    def lottery(self, x: np.ndarray) -> list[tuple[float, float]]:
        """The lottery of one profile (n,), as floats."""
        if not self.randomized:
            return [(float(self.values(x[None, :])[0]), 1.0)]
        if self.registered:
            from fairsim.mechanisms.facility import lottery

            lot = lottery(self.short, x, **self.params)
        else:
            lot = self.func(x, **self.params)
        return [(float(loc), float(p)) for loc, p in lot]

    def lotteries(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Flat lotteries of profiles ``X``: (row index, location, probability) arrays."""
        if not self.randomized:
            B = X.shape[0]
            return np.arange(B), self.values(X), np.ones(B)
        if self._support is not None:
            locs2, probs2 = self._support(np.asarray(X, dtype=np.float64), **self.params)
            rows2 = np.repeat(np.arange(X.shape[0]), locs2.shape[1])
            return rows2, np.ravel(locs2), np.ravel(probs2)
        rows: list[int] = []
        locs: list[float] = []
        probs: list[float] = []
        for r, x in enumerate(X):
            for loc, p in self.lottery(x):
                rows.append(r)
                locs.append(loc)
                probs.append(p)
        return np.array(rows, dtype=np.intp), np.array(locs), np.array(probs)

    def expected_cost(self, R: np.ndarray, T: np.ndarray) -> np.ndarray:
        """``E|f(R_m) - T_m|`` for report profiles ``R`` (M, n) and true locations ``T`` (M,)."""
        if not self.randomized:
            return np.abs(self.values(R) - T)
        rows, locs, probs = self.lotteries(R)
        return np.bincount(rows, weights=probs * np.abs(locs - T[rows]), minlength=R.shape[0])

    def exact_lottery(self, x: list[Fraction]) -> list[tuple[Fraction, Fraction]] | None:
        """The exact lottery of a rational profile, or ``None`` if the mechanism has no exact mode.

        Registered mechanisms are asked through ``lottery`` in exact mode (spec §10.3).
        """
        if not self.registered:
            return None
        try:
            from fairsim.mechanisms.facility import lottery

            lot = lottery(self.short, np.array(x, dtype=object), **self.params)
        except Exception:  # no exact path for this mechanism: the caller snaps floats instead
            return None
        if all(isinstance(loc, Rational) and isinstance(p, Rational) for loc, p in lot):
            return [(Fraction(loc), Fraction(p)) for loc, p in lot]
        return None


__all__ = ["Mech"]
