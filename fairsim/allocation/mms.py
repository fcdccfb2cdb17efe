"""Exact maximin share (MMS) of one agent, goods or chores (spec ``division.md`` §3).

Definition (Budish 2011; spec §3.1): over ordered n-partitions P of the items (bundles may be
empty), the goods MMS is ``max_P min_k v(P_k)``; the chores MMS in cost form is
``min_P max_k c(P_k)``. Goods MMS is machine covering P||C_min, chores MMS is makespan P||C_max.

Algorithm (§3.2-3.4): LPT lower/upper bounds, the top-k and counting upper bounds, a binary search
over thresholds decided by a numba depth-first bin-covering / bin-packing search with an explicit
stack and a node budget, then a HiGHS MILP (``scipy.optimize.milp``, ``mip_rel_gap=0``) with the
remaining time. The result is reported ``proven`` only when ``lower == upper``; ``value`` is the
objective of ``partition`` and so is always achieved.

Float handling (§3.5, [F]): integral floats are cast; otherwise values are scaled by the smallest
``10**d`` (d <= 9) that makes them integral within a relative 1e-9; otherwise they are rounded at
scale ``2**40 / max`` and the result is never ``proven``.
"""

from __future__ import annotations

import heapq
import math
import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from fairsim.errors import InputError

DEFAULT_TIME_LIMIT = 60.0
_CACHE_SIZE = 4096
_RESTARTS = 40
_REBALANCE_MAX = 4_000_000  # largest pair sum the subset-sum DP heuristic handles
_cache: OrderedDict[tuple[Any, ...], tuple[int, int, int, np.ndarray]] = OrderedDict()


class MMSUnprovenWarning(UserWarning):
    """An MMS value could not be proven optimal within the time or node budget."""


@dataclass(frozen=True)
class MMSResult:
    """Result of :func:`maximin_share`.

    ``value`` is the objective of ``partition`` (goods: the smallest bundle value; chores: the
    largest bundle, in the sign convention of the input). ``lower <= MMS <= upper``; ``proven`` is
    true only when ``lower == upper``. ``partition[g]`` is the bundle (``0..n-1``) of item g.
    """

    value: float
    lower: float
    upper: float
    proven: bool
    partition: np.ndarray


def _to_int(v: np.ndarray) -> tuple[np.ndarray, float, bool]:
    """Return (int64 values, scale, exact) with values ~= ints / scale."""
    if v.size == 0:
        return v.astype(np.int64), 1.0, True
    if np.all(v == np.round(v)) and np.max(np.abs(v)) < 2**53:
        return v.astype(np.int64), 1.0, True
    mx = float(np.max(np.abs(v)))
    for d in range(1, 10):
        sc = 10.0**d
        w = v * sc
        r = np.round(w)
        if np.all(np.abs(w - r) <= 1e-9 * np.maximum(1.0, np.abs(w))) and mx * sc < 2**53:
            return r.astype(np.int64), sc, True
    sc = 2.0**40 / mx
    return np.round(v * sc).astype(np.int64), sc, False


def _validate(values: Any, n: Any) -> tuple[np.ndarray, int]:
    try:
        v = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"values must be an array of numbers; {exc}") from None
    if v.ndim != 1:
        raise InputError(f"values must be 1-D (m,); got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        g = int(np.flatnonzero(~np.isfinite(v))[0])
        raise InputError(f"values[{g}]={v[g]} is not finite (NaN or inf)")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"n must be an integer >= 1; got {n!r}")
    return v, int(n)


def _goods_upper(vs: np.ndarray, n: int) -> int:
    total = int(vs.sum())
    pre = np.concatenate(([0], np.cumsum(vs)))
    best = total // n
    for k in range(1, n + 1):
        r = n - k
        s_r = int(pre[min(r, vs.size)])
        best = min(best, (total - s_r) // k)
    return best


def _ldm(vs: np.ndarray, n: int) -> np.ndarray:
    """Karmarkar-Karp largest differencing method for n bundles: item -> bundle (a heuristic).

    Each item is an n-tuple of bundle sums (x, 0, ..., 0); the two tuples with the largest spread
    are merged largest-with-smallest until one remains (Karmarkar, Karp 1982; Korf 2009).
    """
    m = vs.size
    heap: list[tuple[int, int, list[int], list[list[int]]]] = []
    for g in range(m):
        sums = [int(vs[g])] + [0] * (n - 1)
        heapq.heappush(heap, (-int(vs[g]), g, sums, [[g]] + [[] for _ in range(n - 1)]))
    while len(heap) > 1:
        _, k1, s1, b1 = heapq.heappop(heap)
        _, _, s2, b2 = heapq.heappop(heap)
        o1 = sorted(range(n), key=lambda k: -s1[k])
        o2 = sorted(range(n), key=lambda k: s2[k])
        sums = [s1[o1[k]] + s2[o2[k]] for k in range(n)]
        bun = [b1[o1[k]] + b2[o2[k]] for k in range(n)]
        heapq.heappush(heap, (-(max(sums) - min(sums)), k1, sums, bun))
    part = np.zeros(m, dtype=np.int64)
    for b, items in enumerate(heap[0][3]):
        part[items] = b
    return part


def _restarts(
    vs: np.ndarray, n: int, chores: bool, lo: int, hi: int, best: np.ndarray, deadline: float
) -> tuple[int, np.ndarray]:
    """Seeded random restarts of the pairwise heuristic; returns the improved bound and witness."""
    from fairsim.allocation import _mms_numba as K

    rng = np.random.default_rng(12345)
    cur = hi if chores else lo
    for _ in range(_RESTARTS):
        if lo >= hi or time.perf_counter() > deadline:
            break
        part = rng.integers(0, n, size=vs.size).astype(np.int64)
        K.rebalance(vs, part, n, chores, _REBALANCE_MAX)
        sums = np.bincount(part, weights=vs, minlength=n)
        val = int(sums.max() if chores else sums.min())
        if (val < cur) if chores else (val > cur):
            cur, best = val, part
            if chores:
                hi = val
            else:
                lo = val
    return cur, best


def _count_infeasible(vs: np.ndarray, n: int, T: int) -> bool:
    """Necessary-condition test (§3.2 item 2): True when threshold T is surely infeasible."""
    if T <= 0:
        return False
    big = int(np.count_nonzero(vs >= T))
    rest = vs[vs < T]
    sr = int(rest.sum())
    if sr < T:
        return big < n
    k_min = int(np.searchsorted(np.cumsum(rest), T) + 1)
    return big + min(sr // T, rest.size // k_min) < n


def _solve_goods(
    vs: np.ndarray, n: int, deadline: float, budget: int
) -> tuple[int, int, np.ndarray]:
    """Goods on sorted positive int64 values. Returns (lower, upper, partition of vs)."""
    from fairsim.allocation import _mms_numba as K

    m = vs.size
    if m < n:
        return 0, 0, np.arange(m, dtype=np.int64)
    if n == 1:
        s = int(vs.sum())
        return s, s, np.zeros(m, dtype=np.int64)
    best = K.lpt_goods(vs, n)
    lo = int(np.bincount(best, weights=vs, minlength=n).min())
    kk = _ldm(vs, n)
    lo_kk = int(np.bincount(kk, weights=vs, minlength=n).min())
    if lo_kk > lo:
        lo, best = lo_kk, kk
    hi = _goods_upper(vs, n)
    if lo < hi:
        best = best.copy()
        K.rebalance(vs, best, n, False, _REBALANCE_MAX)
        lo = int(np.bincount(best, weights=vs, minlength=n).min())
        lo, best = _restarts(vs, n, False, lo, hi, best, deadline)
    used = 0
    unknown = False
    first = True
    out = np.zeros(m, dtype=np.int64)
    while lo < hi:
        T = hi if first else (lo + hi + 1) // 2
        first = False
        if _count_infeasible(vs, n, T):
            hi = T - 1
            continue
        big = int(np.count_nonzero(vs >= T))
        small = vs[big:]
        status, nodes = K.cover(small, n - big, T, budget - used, out[: small.size])
        used += nodes
        if status == 1:
            part = np.empty(m, dtype=np.int64)
            part[:big] = np.arange(n - big, n)
            part[big:] = out[: small.size]
            sums = np.bincount(part, weights=vs, minlength=n)
            lo = int(sums.min())
            best = part
        elif status == 0:
            hi = T - 1
        else:
            unknown = True
            break
        if time.perf_counter() > deadline:
            unknown = lo < hi
            break
    if unknown and lo < hi:
        lo, hi, best = _milp_refine(vs, n, lo, hi, False, deadline, best)
    return lo, hi, best


def _solve_chores(
    vs: np.ndarray, n: int, deadline: float, budget: int
) -> tuple[int, int, np.ndarray]:
    """Chores on sorted positive int64 costs. Returns (lower, upper, partition of vs)."""
    from fairsim.allocation import _mms_numba as K

    m = vs.size
    if m <= n:
        c = int(vs[0]) if m else 0
        return c, c, np.arange(m, dtype=np.int64)
    best = K.lpt_chores(vs, n)
    lo = max(-(-int(vs.sum()) // n), int(vs[0]), int(vs[n - 1] + vs[n]))
    hi = int(np.bincount(best, weights=vs, minlength=n).max())
    kk = _ldm(vs, n)
    hi_kk = int(np.bincount(kk, weights=vs, minlength=n).max())
    if hi_kk < hi:
        hi, best = hi_kk, kk
    best = best.copy()
    K.rebalance(vs, best, n, True, _REBALANCE_MAX)
    hi = int(np.bincount(best, weights=vs, minlength=n).max())
    hi, best = _restarts(vs, n, True, lo, hi, best, deadline)
    used = 0
    first = True
    unknown = False
    out = np.zeros(m, dtype=np.int64)
    while lo < hi:
        T = lo if first else (lo + hi) // 2
        first = False
        status, nodes = K.pack(vs, n, T, budget - used, out)
        used += nodes
        if status == 1:
            best = out.copy()
            hi = int(np.bincount(best, weights=vs, minlength=n).max())
        elif status == 0:
            lo = T + 1
        else:
            unknown = True
            break
        if time.perf_counter() > deadline:
            unknown = lo < hi
            break
    if unknown and lo < hi:
        lo, hi, best = _milp_refine(vs, n, lo, hi, True, deadline, best)
    return lo, hi, best


def _milp_refine(
    vs: np.ndarray, n: int, lo: int, hi: int, chores: bool, deadline: float, best: np.ndarray
) -> tuple[int, int, np.ndarray]:
    from fairsim.allocation._mms_milp import milp_mms

    left = deadline - time.perf_counter()
    if left <= 0:
        return lo, hi, best
    part, dual = milp_mms(vs, n, lo, hi, chores, left)
    if part is not None:
        sums = np.bincount(part, weights=vs, minlength=n)
        if chores:
            val = int(sums.max())
            if val < hi:
                hi, best = val, part
        else:
            val = int(sums.min())
            if val > lo:
                lo, best = val, part
    if dual is not None:
        if chores:
            lo = max(lo, math.ceil(dual - 1e-6))
        else:
            hi = min(hi, math.floor(dual + 1e-6))
    return lo, hi, best


def maximin_share(
    values: Any,
    n: int,
    *,
    chores: bool = False,
    time_limit: float | None = None,
    node_budget: int = 2_000_000,
) -> MMSResult:
    """Maximin share of one agent with additive ``values`` over m items, for ``n`` agents.

    Goods (``chores=False``, values >= 0): ``max_P min_k v(P_k)`` (spec §3.1). Chores
    (``chores=True``): values >= 0 are costs and the result is ``min_P max_k c(P_k)``; values <= 0
    are utilities and the result is its negation (``lower``/``upper`` swapped accordingly).
    Mixed signs raise :class:`InputError`. ``time_limit`` in seconds (``None``: 60 s, ``inf``:
    unlimited) covers the depth-first search and the HiGHS MILP fallback; ``node_budget`` caps the
    search nodes (spec §3.2 item 5). ``proven`` is True only when ``lower == upper``.
    """
    v, n = _validate(values, n)
    if isinstance(node_budget, bool) or not isinstance(node_budget, (int, np.integer)):
        raise InputError(f"node_budget must be an integer >= 0; got {node_budget!r}")
    if node_budget < 0:
        raise InputError(f"node_budget must be an integer >= 0; got {node_budget}")
    if time_limit is None:
        time_limit = DEFAULT_TIME_LIMIT
    tl = float(time_limit)
    if math.isnan(tl) or tl < 0:
        raise InputError(f"time_limit must be >= 0 seconds (or inf); got {time_limit!r}")
    neg = bool(np.any(v < 0))
    pos = bool(np.any(v > 0))
    if neg and pos:
        raise InputError("values have mixed signs; maximin_share needs pure goods or pure chores")
    utility_form = False
    if neg:
        if not chores:
            raise InputError("values must be >= 0 for goods; pass chores=True for chores (<= 0)")
        v = -v
        utility_form = True
    iv, scale, exact = _to_int(v)
    m = iv.size
    order = np.argsort(-iv, kind="stable")
    vs = np.ascontiguousarray(iv[order])
    npos = int(np.count_nonzero(vs > 0))
    key = (vs[:npos].tobytes(), n, bool(chores))
    hit = _cache.get(key)
    if hit is not None:
        _cache.move_to_end(key)
        lo, hi, _, part_pos = hit
    else:
        deadline = time.perf_counter() + (tl if math.isfinite(tl) else 1e18)
        solver = _solve_chores if chores else _solve_goods
        lo, hi, part_pos = solver(vs[:npos], n, deadline, int(node_budget))
        if lo == hi:
            _cache[key] = (lo, hi, 0, part_pos)
            if len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    part_sorted = np.zeros(m, dtype=np.int64)
    part_sorted[:npos] = part_pos
    partition = np.empty(m, dtype=np.int64)
    partition[order] = part_sorted
    sums = np.bincount(partition, weights=v, minlength=n)
    value = float(sums.max() if chores else sums.min())
    if scale == 1.0:
        low, up = float(lo), float(hi)
    else:
        low, up = lo / scale, hi / scale
        if not exact:
            pad = m / (2.0 * scale)
            low, up = low - pad, up + pad
        if chores:
            up = value
        else:
            low = value
    proven = exact and lo == hi
    if utility_form:
        value, low, up = -value, -up, -low
    return MMSResult(value, low, up, proven, partition)


def _validate_matrix(V: Any) -> np.ndarray:
    try:
        A = np.asarray(V, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"V must be a 2-D array of numbers; {exc}") from None
    if A.ndim != 2 or A.shape[0] < 1:
        raise InputError(f"V must be 2-D (n_agents >= 1, m); got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        i, g = np.argwhere(~np.isfinite(A))[0]
        raise InputError(f"V[{i}, {g}]={A[i, g]} is not finite (NaN or inf)")
    return A


def maximin_shares_detailed(
    V: Any,
    *,
    chores: bool = False,
    time_limit: float | None = None,
    node_budget: int = 2_000_000,
) -> list[MMSResult]:
    """:func:`maximin_share` of every row of ``V`` (n_agents x m) with n = n_agents."""
    A = _validate_matrix(V)
    n = A.shape[0]
    return [
        maximin_share(A[i], n, chores=chores, time_limit=time_limit, node_budget=node_budget)
        for i in range(n)
    ]


def maximin_shares(
    V: Any,
    *,
    chores: bool = False,
    time_limit: float | None = None,
    node_budget: int = 2_000_000,
) -> np.ndarray:
    """MMS of every row of ``V`` (n_agents x m), n = n_agents; shape ``(n_agents,)``.

    Unproven rows return their achieved ``value`` and raise :class:`MMSUnprovenWarning`.
    """
    res = maximin_shares_detailed(V, chores=chores, time_limit=time_limit, node_budget=node_budget)
    bad = [i for i, r in enumerate(res) if not r.proven]
    if bad:
        warnings.warn(
            f"MMS of rows {bad} not proven optimal (see maximin_shares_detailed)",
            MMSUnprovenWarning,
            stacklevel=2,
        )
    return np.array([r.value for r in res], dtype=np.float64)


def clear_cache() -> None:
    """Empty the MMS result cache."""
    _cache.clear()


__all__ = [
    "DEFAULT_TIME_LIMIT",
    "MMSResult",
    "MMSUnprovenWarning",
    "clear_cache",
    "maximin_shares",
    "maximin_shares_detailed",
    "maximin_share",
]
