"""Randomized facility mechanisms and exact lotteries (spec ``facility.md`` §5, §1 ``lottery``).

Each randomized mechanism takes a ``numpy.random.Generator`` as its second positional argument and
makes ONE vectorised draw per call (size B, also for a single profile, B = 1), so the same seed gives
the same samples whatever the batch layout (spec §5, §10.7).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from fairsim._validation import check_generator
from fairsim.errors import InputError
from fairsim.mechanisms._facility_common import finish, profiles


def random_rank(x: Any, rng: np.random.Generator, *, interval: Any = None) -> Any:
    """Random Rank: a uniformly random order statistic (spec §5; arXiv 2205.14798).

    ``k = rng.integers(0, n, size=B)`` indexes each row sorted ascending. Universally truthful,
    universally anonymous and Strong Proportional in expectation.
    """
    rng = check_generator(rng)
    X, batched, exact, _ = profiles(x, "x", interval)
    n = len(X[0])
    k = rng.integers(0, n, size=len(X))
    vals: Any
    if exact:
        vals = [sorted(r)[int(kk)] for r, kk in zip(X, k)]
    else:
        S = np.sort(X, axis=1)
        vals = S[np.arange(S.shape[0]), k]
    return finish(vals, batched, exact)


def random_dictatorship(x: Any, rng: np.random.Generator, *, interval: Any = None) -> Any:
    """Random Dictatorship: the report of agent ``i = rng.integers(0, n)`` (spec §5).

    Same lottery as Random Rank; its realizations are dictatorships (not anonymous ex post).
    """
    rng = check_generator(rng)
    X, batched, exact, _ = profiles(x, "x", interval)
    n = len(X[0])
    i = rng.integers(0, n, size=len(X))
    vals: Any
    if exact:
        vals = [r[int(ii)] for r, ii in zip(X, i)]
    else:
        vals = X[np.arange(X.shape[0]), i]
    return finish(vals, batched, exact)


def lrm(x: Any, rng: np.random.Generator, *, interval: Any = None) -> Any:
    """Left-Right-Middle (Procaccia & Tennenholtz, EC 2009), spec §5.

    With ``u = rng.random(size=B)``: x_(1) if u < 1/4, x_(n) if 1/4 <= u < 1/2, else the midpoint
    (the assignment of u-ranges to outcomes is fairsim's choice [F]). SP in expectation.
    """
    rng = check_generator(rng)
    X, batched, exact, _ = profiles(x, "x", interval)
    u = rng.random(size=len(X))
    vals: Any
    if exact:
        vals = []
        for r, uu in zip(X, u):
            lo_, hi_ = min(r), max(r)
            vals.append(lo_ if uu < 0.25 else hi_ if uu < 0.5 else (lo_ + hi_) / 2)
    else:
        lo_, hi_ = X.min(axis=1), X.max(axis=1)
        vals = np.where(u < 0.25, lo_, np.where(u < 0.5, hi_, (lo_ + hi_) / 2))
    return finish(vals, batched, exact)


def _merge(pairs: list[tuple[Any, int]], denom: int, exact: bool) -> list[tuple[Any, Any]]:
    """Sort by location, merge duplicates; probabilities are count/denom (no float sums)."""
    acc: dict[Any, int] = {}
    for loc, w in pairs:
        acc[loc] = acc.get(loc, 0) + w
    return [
        (loc, Fraction(w, denom) if exact else w / denom)
        for loc, w in sorted(acc.items(), key=lambda t: t[0])
    ]


def _row_lottery(name: str, row: list, exact: bool) -> list[tuple[Any, Any]]:
    n = len(row)
    if name in ("random_rank", "random_dictatorship"):
        return _merge([(v, 1) for v in row], n, exact)
    lo_, hi_ = min(row), max(row)
    return _merge([(lo_, 1), (hi_, 1), ((lo_ + hi_) / 2, 2)], 4, exact)


_RANDOMIZED = ("random_rank", "random_dictatorship", "lrm")


def uniform_support(X: np.ndarray, **_: Any) -> tuple[np.ndarray, np.ndarray]:
    """Unmerged lottery of Random Rank / Random Dictatorship on validated float profiles
    ``X`` (B, n): every report with probability 1/n. Used for vectorised expected costs."""
    n = X.shape[1]
    return X, np.full(X.shape, 1.0 / n)


def lrm_support(X: np.ndarray, **_: Any) -> tuple[np.ndarray, np.ndarray]:
    """Unmerged LRM lottery of float profiles ``X`` (B, n): (x_(1), x_(n), midpoint) with
    probabilities (1/4, 1/4, 1/2)."""
    lo_, hi_ = X.min(axis=1), X.max(axis=1)
    locs = np.stack([lo_, hi_, (lo_ + hi_) / 2], axis=1)
    return locs, np.broadcast_to(np.array([0.25, 0.25, 0.5]), locs.shape)


def lottery(name: str, x: Any, **kwargs: Any) -> Any:
    """The exact outcome distribution of a facility mechanism (spec §1).

    Returns ``list[(location, probability)]`` sorted by location with duplicates merged;
    a deterministic mechanism gives ``[(f(x), 1.0)]``. Fraction input gives Fractions throughout.
    A batch ``(B, n)`` gives a list of B such lists. ``kwargs`` are forwarded to the mechanism
    (e.g. ``k``, ``c``, ``i``, ``side``, ``phantoms``, ``interval``). ``"average_or_random_rank"``
    raises NotImplementedError: its definition is unavailable (spec §5).
    """
    from fairsim.mechanisms.facility import _DETERMINISTIC

    short = name.split(".", 1)[1] if name.startswith("facility.") else name
    if short == "average_or_random_rank":
        raise NotImplementedError(
            "average_or_random_rank: the mechanism's definition is not available (spec §5)"
        )
    if short in _RANDOMIZED:
        interval = kwargs.pop("interval", None)
        if kwargs:
            raise InputError(f"{short} takes no parameters besides interval; got {sorted(kwargs)}")
        X, batched, exact, _ = profiles(x, "x", interval)
        rows = X if exact else [list(map(float, r)) for r in X]
        lots = [_row_lottery(short, list(r), exact) for r in rows]
        return lots if batched else lots[0]
    func: Callable[..., Any] | None = _DETERMINISTIC.get(short)
    if func is None:
        avail = ", ".join(sorted((*_DETERMINISTIC, *_RANDOMIZED)))
        raise InputError(f"unknown facility mechanism {name!r}; available: {avail}")
    y = func(x, **kwargs)
    if isinstance(y, np.ndarray):
        one = Fraction(1) if y.dtype == object else 1.0
        return [[(v if y.dtype == object else float(v), one)] for v in y]
    if hasattr(y, "ndim") and getattr(y, "ndim", 0) > 0:  # torch tensor batch
        return [[(float(v), 1.0)] for v in y.tolist()]
    one = Fraction(1) if isinstance(y, Fraction) else 1.0
    return [(y, one)]


__all__ = [
    "lottery",
    "lrm",
    "lrm_support",
    "random_dictatorship",
    "random_rank",
    "uniform_support",
]
