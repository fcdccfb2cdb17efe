"""Outcome axioms of facility location: exact feasible-interval tests (spec ``facility.md`` §3.1-3.2).

A group of k agents is owed utility k/n, i.e. distance at most ``r_k = 1 - k/n`` (unit space).
Every interval axiom is tested through a closed-form *feasible interval* ``[lo, hi]`` built from
unclipped constraints; ``slack = min(y - lo, hi - y)`` (negative when violated, spec §3.1 "slack,
witness, ties" [F]) and ``holds`` iff ``slack >= -tol``. Co-location and endpoints use exact
equality. Single profiles go through plain Python code that works for floats and ``Fraction``s
alike; batches ``(B, n)`` go through vectorized numpy and return boolean arrays.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from fairsim._validation import check_choice, is_exact
from fairsim.axioms import Verdict
from fairsim.axioms._facility_input import (
    Number,
    Profile,
    check_tol,
    float_profile,
    lottery_is_exact,
    parse_float,
    parse_profiles,
    parse_y,
    parse_y_batch,
)
from fairsim.errors import InputError

INTERVAL_AXIOMS = ("ifs", "ufs", "pf", "proportionality", "unanimity", "pareto")
FEASIBLE_AXIOMS = (*INTERVAL_AXIOMS, "strong_proportionality")
READINGS = ("equal_cost", "hull")
INF = float("inf")

# A side of a feasible interval: (bound, agent indices, extra witness fields in unit space).
Side = tuple[Number, list[int], dict[str, Any]]


# --------------------------------------------------------------------------- single profiles
def _ifs_sides(p: Profile) -> tuple[Side, Side] | None:
    n, s = p.n, p.s
    r = p.frac(n - 1, n)
    right = min(i for i in range(n) if p.u[i] == s[-1])
    left = min(i for i in range(n) if p.u[i] == s[0])
    lo = (s[-1] - r, [right], {"location": s[-1], "size": 1, "bound": (s[-1] - r, s[-1] + r)})
    hi = (s[0] + r, [left], {"location": s[0], "size": 1, "bound": (s[0] - r, s[0] + r)})
    return lo, hi


def _groups(p: Profile) -> list[tuple[Number, list[int]]]:
    """Distinct locations (ascending) with the agents at each (exact equality)."""
    out: list[tuple[Number, list[int]]] = []
    for pos, i in enumerate(p.order):
        if pos > 0 and p.s[pos] == p.s[pos - 1]:
            out[-1][1].append(i)
        else:
            out.append((p.s[pos], [i]))
    return [(z, sorted(ids)) for z, ids in out]


def _ufs_sides(p: Profile) -> tuple[Side, Side] | None:
    n = p.n
    lo: Side | None = None
    hi: Side | None = None
    for z, ids in _groups(p):
        k = len(ids)
        r = p.frac(n - k, n)
        info = {"location": z, "size": k, "bound": (z - r, z + r)}
        if lo is None or z - r > lo[0]:
            lo = (z - r, ids, info)
        if hi is None or z + r < hi[0]:
            hi = (z + r, ids, info)
    assert lo is not None and hi is not None
    return lo, hi


def _pf_sides(p: Profile) -> tuple[Side, Side] | None:
    """PF closed form: y in [max_k (x_(k) - (k-1)/n), min_k (x_(k) + (n-k)/n)] (spec §3.1)."""
    n, s = p.n, p.s
    lo_k, lo_v = 1, s[0]
    hi_k, hi_v = 1, s[0] + p.frac(n - 1, n)
    for k in range(1, n + 1):
        v = s[k - 1] - p.frac(k - 1, n)
        if v > lo_v:
            lo_k, lo_v = k, v
        w = s[k - 1] + p.frac(n - k, n)
        if w < hi_v:
            hi_k, hi_v = k, w
    r_lo = p.frac(lo_k - 1, n)  # block lo_k..n has m = n - lo_k + 1 agents
    lo_info = {
        "range": (s[lo_k - 1], s[n - 1]),
        "size": n - lo_k + 1,
        "bound": (s[lo_k - 1] - r_lo, s[n - 1] + r_lo),
    }
    r_hi = p.frac(n - hi_k, n)  # block 1..hi_k has m = hi_k agents
    hi_info = {
        "range": (s[0], s[hi_k - 1]),
        "size": hi_k,
        "bound": (s[0] - r_hi, s[hi_k - 1] + r_hi),
    }
    lo = (lo_v, sorted(p.order[lo_k - 1 :]), lo_info)
    hi = (hi_v, sorted(p.order[:hi_k]), hi_info)
    return lo, hi


def _pf_interval_oracle(s: list[Number], exact: bool = False) -> tuple[Number, Number]:
    """O(n^2) reference: intersect [x_(a) - r_m, x_(b) + r_m] over all sorted blocks a..b.

    ``s`` must be sorted (unit space). Unclipped bounds, as the closed form of :func:`_pf_sides`.
    """
    n = len(s)
    lo: Number = -INF
    hi: Number = INF
    for a in range(n):
        for b in range(a, n):
            m = b - a + 1
            r = Fraction(n - m, n) if exact else (n - m) / n
            lo = max(lo, s[a] - r)
            hi = min(hi, s[b] + r)
    return lo, hi


def _equality_target(p: Profile, axiom: str) -> tuple[Number, list[int], dict[str, Any]] | None:
    n, s = p.n, p.s
    if axiom == "unanimity":
        if s[0] != s[-1]:
            return None
        return s[0], list(range(n)), {"location": s[0], "size": n}
    # proportionality: only endpoint profiles bind
    if not all(v == 0 or v == 1 for v in s):
        return None
    ones = [i for i in range(n) if p.u[i] == 1]
    return p.frac(len(ones), n), ones, {"size": len(ones)}


def _sides(p: Profile, axiom: str) -> tuple[Side, Side] | None:
    if axiom == "ifs":
        return _ifs_sides(p)
    if axiom == "ufs":
        return _ufs_sides(p)
    if axiom == "pf":
        return _pf_sides(p)
    if axiom == "pareto":
        info = {"range": (p.s[0], p.s[-1]), "size": p.n, "bound": (p.s[0], p.s[-1])}
        everyone = list(range(p.n))
        return (p.s[0], everyone, info), (p.s[-1], everyone, info)
    t = _equality_target(p, axiom)
    if t is None:
        return None
    target, ids, info = t
    info = {**info, "target": target, "bound": (target, target)}
    return (target, ids, info), (target, ids, info)


def _witness(p: Profile, ids: list[int], info: dict[str, Any], y: Number) -> dict[str, Any]:
    w: dict[str, Any] = {"agents": ids}
    for key, val in info.items():
        if key in ("location", "target"):
            w[key] = p.unit_to_caller(val)
        elif key in ("range", "bound"):
            w[key] = (p.unit_to_caller(val[0]), p.unit_to_caller(val[1]))
        else:
            w[key] = val
    if "location" in info and len(ids) == 1:
        w["distance"] = p.dist_to_caller(abs(y - info["location"]))
    w["outcome"] = p.unit_to_caller(y)
    return w


def _verdict(axiom: str, p: Profile, y: Number, tol: Number) -> Verdict:
    sides = _sides(p, axiom)
    if sides is None:
        return Verdict(axiom, True, None, INF)
    (lo, lo_ids, lo_info), (hi, hi_ids, hi_info) = sides
    d_lo, d_hi = y - lo, hi - y
    slack = p.scale(min(d_lo, d_hi))
    holds = bool(slack >= -tol)
    if holds:
        return Verdict(axiom, True, None, p.py(slack))
    if d_lo <= d_hi:
        w = _witness(p, lo_ids, lo_info, y)
    else:
        w = _witness(p, hi_ids, hi_info, y)
    return Verdict(axiom, False, w, p.py(slack))


# --------------------------------------------------------------------------- batched kernels
def _run_counts(S: np.ndarray) -> np.ndarray:
    """For sorted rows, the number of entries equal to each entry (exact equality)."""
    B, n = S.shape
    j = np.broadcast_to(np.arange(n), (B, n))
    start = np.ones((B, n), dtype=bool)
    start[:, 1:] = S[:, 1:] != S[:, :-1]
    end = np.ones((B, n), dtype=bool)
    end[:, :-1] = S[:, :-1] != S[:, 1:]
    first = np.maximum.accumulate(np.where(start, j, 0), axis=1)
    last = np.minimum.accumulate(np.where(end, j, n - 1)[:, ::-1], axis=1)[:, ::-1]
    return last - first + 1


def batch_bounds(S: np.ndarray, axiom: str) -> tuple[np.ndarray, np.ndarray]:
    """Unclipped unit-space feasible bounds for sorted profiles ``S`` (B, n).

    Vacuous rows get ``(-inf, inf)``; equality axioms give ``lo == hi``.
    """
    B, n = S.shape
    if axiom == "ifs":
        r = (n - 1) / n
        return S[:, -1] - r, S[:, 0] + r
    if axiom == "pf":
        k = np.arange(n)
        return (S - k / n).max(axis=1), (S + (n - 1 - k) / n).min(axis=1)
    if axiom == "ufs":
        r = (n - _run_counts(S)) / n
        return (S - r).max(axis=1), (S + r).min(axis=1)
    if axiom == "pareto":
        return S[:, 0].copy(), S[:, -1].copy()
    lo = np.full(B, -INF)
    hi = np.full(B, INF)
    if axiom == "unanimity":
        m = S[:, 0] == S[:, -1]
        lo[m] = hi[m] = S[m, 0]
        return lo, hi
    if axiom == "proportionality":
        m = ((S == 0.0) | (S == 1.0)).all(axis=1)
        t = (S == 1.0).sum(axis=1) / n
        lo[m] = hi[m] = t[m]
        return lo, hi
    raise InputError(f"axiom must be one of {FEASIBLE_AXIOMS}; got {axiom!r}")


def _batch_holds(axiom: str, U: np.ndarray, y: Any, tol: Any, a: float, b: float) -> np.ndarray:
    t = check_tol(tol, False)
    yu = parse_y_batch(y, U.shape[0], (a, b))
    S = np.sort(U, axis=1)
    lo, hi = batch_bounds(S, axiom)
    with np.errstate(invalid="ignore"):
        slack = np.minimum(yu - lo, hi - yu) * (b - a)
    return slack >= -t


# --------------------------------------------------------------------------- public API
def _check(axiom: str, x: Any, y: Any, tol: Any, interval: Any) -> Verdict | np.ndarray:
    exact = is_exact(x) or isinstance(y, Fraction)
    if not exact:
        a, b, X, U, batched = parse_float(x, interval)
        if batched:
            return _batch_holds(axiom, U, y, tol, a, b)
        p = float_profile(X[0], a, b)
    else:
        profiles, batched = parse_profiles(x, interval, exact=True)
        if batched:
            yv = _rows_of(y, len(profiles))
            return np.array([bool(_check(axiom, xr, yr, tol, interval)) for xr, yr in zip(x, yv)])
        p = profiles[0]
    yu = parse_y(y, p, allow_lottery=False)
    return _verdict(axiom, p, yu, check_tol(tol, p.exact))  # type: ignore[arg-type]


def _rows_of(y: Any, B: int) -> list[Any]:
    yv = list(np.asarray(y, dtype=object).ravel()) if not isinstance(y, list) else y
    if len(yv) != B:
        raise InputError(f"y must have shape ({B},) for batched x; got {len(yv)} values")
    return yv


def ifs(x: Any, y: Any, *, tol: float | None = None, interval: Any = (0.0, 1.0)) -> Any:
    """Individual Fair Share: every agent gets utility >= 1/n, i.e. ``|y - x_i| <= 1 - 1/n``.

    Spec ``facility.md`` §3.1 (definition [F] after Aziz, Lam, Lee & Walsh, arXiv 2111.01566):
    exact test ``y in [x_(n) - r_1, x_(1) + r_1]``. A violation names the farthest agent.
    Returns a :class:`~fairsim.axioms.Verdict` for ``x`` (n,) and a scalar ``y``, and a boolean
    array (B,) for ``x`` (B, n) and ``y`` (B,). ``tol`` defaults to 1e-9 (0 with Fractions).
    """
    return _check("ifs", x, y, tol, interval)


def ufs(x: Any, y: Any, *, tol: float | None = None, interval: Any = (0.0, 1.0)) -> Any:
    """Unanimous Fair Share: k agents sharing a location z get ``|y - z| <= 1 - k/n``.

    Spec ``facility.md`` §3.1 ([F], arXiv 2111.01566): exact test
    ``y in ⋂_z [z - r_{k_z}, z + r_{k_z}]`` over distinct locations (exact co-location).
    A violation names the group (agents, location, size, bound). Batched like :func:`ifs`.
    """
    return _check("ufs", x, y, tol, interval)


def proportionality(x: Any, y: Any, *, tol: float | None = None, interval: Any = (0.0, 1.0)) -> Any:
    """Proportionality: on an endpoint profile x in {0,1}^n the outcome is #{x_i = 1}/n.

    Spec ``facility.md`` §3.1 ([F], "as in Freeman et al., 2021"); vacuous (slack +inf) on other
    profiles; slack ``-|y - k/n|``. Batched like :func:`ifs`.
    """
    return _check("proportionality", x, y, tol, interval)


def pf(x: Any, y: Any, *, tol: float | None = None, interval: Any = (0.0, 1.0)) -> Any:
    """Proportional Fairness: a group S within range r gets ``|y - x_i| <= 1 - |S|/n + r``.

    Spec ``facility.md`` §3.1 ([F], arXiv 2111.01566), closed form
    ``y in [max_k (x_(k) - (k-1)/n), min_k (x_(k) + (n-k)/n)]``. A lower violation at the
    maximizing k* names sorted positions k*..n; an upper one positions 1..k*. Batched like
    :func:`ifs`.
    """
    return _check("pf", x, y, tol, interval)


def unanimity(x: Any, y: Any, *, tol: float | None = None, interval: Any = (0.0, 1.0)) -> Any:
    """Unanimity: if every x_i equals z then y = z (spec ``facility.md`` §3.1); else vacuous."""
    return _check("unanimity", x, y, tol, interval)


def pareto(x: Any, y: Any, *, tol: float | None = None, interval: Any = (0.0, 1.0)) -> Any:
    """Pareto efficiency: no location is weakly better for all and strictly for one.

    With distance costs this is ``y in [x_(1), x_(n)]`` (spec ``facility.md`` §3.1).
    """
    return _check("pareto", x, y, tol, interval)


def _two_groups(p: Profile) -> tuple[Number, Number, int, int] | None:
    s = p.s
    lo_v, hi_v = s[0], s[-1]
    if lo_v == hi_v or any(v != lo_v and v != hi_v for v in s):
        return None
    k_lo = sum(1 for v in s if v == lo_v)
    return lo_v, hi_v, k_lo, p.n - k_lo


def strong_proportionality(
    x: Any,
    y: Any,
    *,
    reading: str = "equal_cost",
    tol: float | None = None,
    interval: Any = (0.0, 1.0),
) -> Any:
    """Strong Proportionality: two groups at two locations incur the same total (expected) cost.

    Spec ``facility.md`` §3.2 (axiom [V-abs], arXiv 2205.14798; formalisation [F]): if x has
    exactly two distinct locations a < b with k_a and k_b agents, require
    ``k_a E|y - a| = k_b E|y - b|``; vacuous otherwise. ``reading="hull"`` also requires the
    support of y in [a, b] (fairsim's choice [F]: slack is then the smaller of the equal-cost
    slack and minus the largest distance of a support point outside [a, b]). Slack
    ``-|E[C_a] - E[C_b]| / n``. ``y`` may be a lottery ``[(location, probability), ...]``.
    """
    check_choice(reading, "reading", READINGS)
    exact = is_exact(x) or isinstance(y, Fraction) or lottery_is_exact(y)
    if not exact:
        a, b, X, U, batched = parse_float(x, interval)
        if batched:
            return _batch_strong(U, y, reading, tol, a, b)
        p = float_profile(X[0], a, b)
    else:
        profiles, batched = parse_profiles(x, interval, exact=True)
        if batched:
            yv = _rows_of(y, len(profiles))
            kw = {"reading": reading, "tol": tol, "interval": interval}
            return np.array([bool(strong_proportionality(r, v, **kw)) for r, v in zip(x, yv)])
        p = profiles[0]
    t = check_tol(tol, p.exact)
    yu = parse_y(y, p, allow_lottery=True)
    g = _two_groups(p)
    if g is None:
        return Verdict("strong_proportionality", True, None, INF)
    lo_v, hi_v, k_lo, k_hi = g
    lot: list[tuple[Any, Any]] = yu if isinstance(yu, list) else [(yu, Fraction(1))]
    c_lo = sum(q * k_lo * abs(loc - lo_v) for loc, q in lot)
    c_hi = sum(q * k_hi * abs(loc - hi_v) for loc, q in lot)
    slack: Any = -abs(c_lo - c_hi) / p.n
    if reading == "hull":
        outside = max(max(lo_v - loc, loc - hi_v, Fraction(0)) for loc, q in lot if q > 0)
        slack = min(slack, -outside)
    slack = p.scale(slack)
    holds = bool(slack >= -t)
    if holds:
        return Verdict("strong_proportionality", True, None, p.py(slack))
    avg = (k_lo * lo_v + k_hi * hi_v) / p.n
    w = {
        "agents": list(range(p.n)),
        "locations": (p.unit_to_caller(lo_v), p.unit_to_caller(hi_v)),
        "sizes": (k_lo, k_hi),
        "costs": (p.dist_to_caller(c_lo), p.dist_to_caller(c_hi)),
        "target": p.unit_to_caller(avg),
        "bound": (p.unit_to_caller(avg), p.unit_to_caller(avg)),
        "reading": reading,
    }
    return Verdict("strong_proportionality", False, w, p.py(slack))


def _batch_strong(U: np.ndarray, y: Any, reading: str, tol: Any, a: float, b: float) -> np.ndarray:
    t = check_tol(tol, False)
    B, n = U.shape
    yu = parse_y_batch(y, B, (a, b))
    S = np.sort(U, axis=1)
    lo_v, hi_v = S[:, 0], S[:, -1]
    two = (lo_v != hi_v) & ((S == lo_v[:, None]) | (S == hi_v[:, None])).all(axis=1)
    k_lo = (S == lo_v[:, None]).sum(axis=1)
    k_hi = n - k_lo
    slack = -np.abs(k_lo * np.abs(yu - lo_v) - k_hi * np.abs(yu - hi_v)) / n
    if reading == "hull":
        slack = np.minimum(slack, -np.maximum(np.maximum(lo_v - yu, yu - hi_v), 0.0))
    slack = slack * (b - a)
    return ~two | (slack >= -t)


def feasible_interval(x: Any, axiom: str, *, interval: Any = (0.0, 1.0)) -> Any:
    """The set of outcomes satisfying an outcome axiom, as ``(lo, hi)`` clipped to the domain.

    Spec ``facility.md`` §3.1: ``"ifs"``/``"ufs"``/``"pf"`` closed forms; ``"proportionality"``
    ``(k/n, k/n)``; ``"unanimity"`` ``(z, z)``; ``"pareto"`` ``(x_(1), x_(n))``;
    ``"strong_proportionality"`` ``(avg, avg)`` (the exterior equal-cost point is not
    represented); the whole domain where the axiom is vacuous; ``None`` if the set is empty.
    For ``x`` of shape (B, n) returns two arrays ``(lo, hi)`` (NaN rows where empty).
    """
    check_choice(axiom, "axiom", FEASIBLE_AXIOMS)
    if not is_exact(x):
        a, b, X, U, batched = parse_float(x, interval)
        if not batched:
            return _single_interval(float_profile(X[0], a, b), axiom)
        S = np.sort(U, axis=1)
        if axiom == "strong_proportionality":
            lo, hi = _batch_strong_interval(S)
        else:
            lo, hi = batch_bounds(S, axiom)
        lo, hi = np.maximum(lo, 0.0), np.minimum(hi, 1.0)
        # Float interval ends carry rounding error (spec §10.4): a gap of a few ulps is a point.
        touch = (lo > hi) & (lo - hi <= 1e-12)
        lo[touch] = hi[touch] = 0.5 * (lo[touch] + hi[touch])
        empty = lo > hi
        lo, hi = a + (b - a) * lo, a + (b - a) * hi
        lo[empty] = np.nan
        hi[empty] = np.nan
        return lo, hi
    profiles, batched = parse_profiles(x, interval, exact=True)
    out = [_single_interval(p, axiom) for p in profiles]
    return out if batched else out[0]


def _batch_strong_interval(S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = S.shape[1]
    lo_v, hi_v = S[:, 0], S[:, -1]
    two = (lo_v != hi_v) & ((S == lo_v[:, None]) | (S == hi_v[:, None])).all(axis=1)
    avg = S.sum(axis=1) / n
    return np.where(two, avg, -INF), np.where(two, avg, INF)


def _single_interval(p: Profile, axiom: str) -> tuple[Number, Number] | None:
    zero: Number = Fraction(0)
    one: Number = Fraction(1)
    if axiom == "strong_proportionality":
        g = _two_groups(p)
        if g is None:
            lo, hi = zero, one
        else:
            lo = hi = (g[2] * g[0] + g[3] * g[1]) / p.n
    else:
        sides = _sides(p, axiom)
        if sides is None:
            lo, hi = zero, one
        else:
            lo, hi = max(sides[0][0], zero), min(sides[1][0], one)
    if lo > hi:
        return None
    return p.unit_to_caller(lo), p.unit_to_caller(hi)


__all__ = [
    "FEASIBLE_AXIOMS",
    "feasible_interval",
    "ifs",
    "pareto",
    "pf",
    "proportionality",
    "strong_proportionality",
    "ufs",
    "unanimity",
]
