"""Approximate-MMS algorithms for goods (spec ``division.md`` §5.0, §5.4-5.6).

All work on certified thresholds t_i (the value of a witnessed n-partition, §5.0 [F]) and
guarantee u_i(A_i) >= alpha * t_i, which is alpha-MMS when the MMS is proven. Comparisons are done
as ``q * value >= p * t_i`` for alpha = p/q, exact for integer data.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fairsim.mechanisms._division_common import (
    AlgorithmInvariantError,
    Allocation,
    as_valuations,
    goods_thresholds,
    map_back_goods,
    ordered_goods,
)


def _ok(val: float, t: float, p: int, q: int) -> bool:
    return q * val >= p * t


def half_mms(V: Any, *, time_limit: float | None = None) -> Allocation:
    """1/2-MMS allocation for goods (spec §5.4; Amanatidis et al. ICALP 2015 style [D]).

    While some agent values a single item >= t_i/2 the lowest such agent takes its best such
    item; then bag filling in item-index order (a bag goes to the lowest remaining agent valuing it
    >= t_i/2; the last agent takes the rest).
    """
    A = as_valuations(V, sign="goods")
    n, m = A.shape
    t, proven = goods_thresholds(A, time_limit)
    out = np.full(m, -1, dtype=np.int64)
    active = [i for i in range(n) if t[i] > 0]
    free = np.ones(m, dtype=bool)
    changed = True
    while changed and active:
        changed = False
        for i in active:
            cand = np.flatnonzero(free & (2 * A[i] >= t[i]))
            if cand.size:
                g = int(cand[np.argmax(A[i, cand])])
                out[g] = i
                free[g] = False
                active.remove(i)
                changed = True
                break
    bag: list[int] = []
    for g in np.flatnonzero(free).tolist():
        if len(active) <= 1:
            break
        bag.append(int(g))
        free[g] = False
        for i in active:
            if _ok(float(A[i, bag].sum()), t[i], 1, 2):
                out[bag] = i
                active.remove(i)
                bag = []
                break
    rest = [*bag, *np.flatnonzero(free).tolist()]
    _leftovers(A, out, rest, active)
    meta = {"algorithm": "half_mms", "thresholds": t, "proven": proven, "guarantee": 0.5}
    return Allocation(out, n, meta)


def _leftovers(A: np.ndarray, out: np.ndarray, rest: list[int], active: list[int]) -> None:
    if len(active) >= 1:
        out[rest] = active[0]
    else:
        for g in rest:
            out[g] = int(np.argmax(A[:, g]))


def _ordered_rules(
    Ord: np.ndarray, t: np.ndarray, p: int, q: int, rules: tuple[int, ...]
) -> tuple[np.ndarray, list[int], list[int]]:
    """Apply valid reductions R1..R4 in priority order; return (rank owner, agents, ranks left)."""
    n, m = Ord.shape
    owner = np.full(m, -1, dtype=np.int64)
    agents = [i for i in range(n) if t[i] > 0]
    rem = list(range(m))
    while agents:
        k = len(agents)
        applied = False
        sets: list[list[int]] = []
        if 1 in rules and len(rem) >= 1:
            sets.append([rem[0]])
        if 2 in rules and len(rem) >= k + 1:
            sets.append([rem[k - 1], rem[k]])
        if 3 in rules and len(rem) >= 2 * k + 1:
            sets.append([rem[2 * k - 2], rem[2 * k - 1], rem[2 * k]])
        for S in sets:
            for i in agents:
                if _ok(float(Ord[i, S].sum()), t[i], p, q):
                    owner[S] = i
                    agents.remove(i)
                    rem = [r for r in rem if r not in S]
                    applied = True
                    break
            if applied:
                break
        if not applied and 4 in rules and len(rem) >= 2 * k + 1:
            S = [rem[0], rem[2 * k]]
            for i in agents:
                if _ok(float(Ord[i, S].sum()), t[i], p, q):
                    owner[S] = i
                    agents.remove(i)
                    rem = [r for r in rem if r not in S]
                    applied = True
                    break
        if not applied:
            break
    return owner, agents, rem


def _bag_phase(
    Ord: np.ndarray,
    t: np.ndarray,
    p: int,
    q: int,
    owner: np.ndarray,
    agents: list[int],
    rem: list[int],
    seeds: list[list[int]],
    low: list[int],
    strict: bool,
) -> None:
    """Give each seeded bag, topped up with low ranks in order, to the lowest satisfied agent."""
    low = list(low)
    for seed in seeds:
        if not agents:
            break
        if len(agents) == 1:
            left = [r for r in rem if owner[r] < 0]
            owner[left] = agents[0]
            agents.clear()
            return
        bag = list(seed)
        while True:
            who = [i for i in agents if _ok(float(Ord[i, bag].sum()), t[i], p, q)]
            if who:
                owner[bag] = who[0]
                agents.remove(who[0])
                break
            if not low:
                if strict:
                    raise AlgorithmInvariantError(
                        f"items ran out with {len(agents)} agents unsatisfied"
                    )
                owner[bag] = agents[0]
                agents.pop(0)
                break
            bag.append(low.pop(0))
    left = [r for r in rem if owner[r] < 0]
    if left and agents:
        owner[left] = agents[0]


def _ordered_alg(V: Any, p: int, q: int, rules: tuple[int, ...], name: str, tl: Any) -> Allocation:
    A = as_valuations(V, sign="goods")
    n, m = A.shape
    t, proven = goods_thresholds(A, tl)
    Ord = ordered_goods(A)
    owner, agents, rem = _ordered_rules(Ord, t, p, q, rules)
    k = len(agents)
    if rules == (1, 2):
        seeds = [[rem[j]] for j in range(min(k, len(rem)))]
        low = rem[k:]
    else:
        seeds = [[rem[r] for r in (j, 2 * k - 1 - j) if r < len(rem)] for j in range(k)]
        low = rem[2 * k :]
    _bag_phase(Ord, t, p, q, owner, agents, rem, seeds, low, strict=rules != (1, 2))
    out = map_back_goods(A, owner)
    meta = {"algorithm": name, "thresholds": t, "proven": proven, "guarantee": p / q}
    return Allocation(out, n, meta)


def two_thirds_mms(V: Any, *, time_limit: float | None = None) -> Allocation:
    """2/3-MMS for goods (Garg, McGlaughlin, Taki, SOSA 2019; spec §5.5).

    Ordered instance, reductions R1 (rank 0) and R2 (ranks k-1, k) at 2/3, then bag j seeded with
    rank j and filled with ranks >= k in order; mapped back by picking sequence.
    """
    return _ordered_alg(V, 2, 3, (1, 2), "two_thirds_mms", time_limit)


def three_quarters_mms(V: Any, *, time_limit: float | None = None) -> Allocation:
    """3/4-MMS for goods (Garg, Taki, AIJ 2021; simple algorithm, spec §5.6 [F rendering]).

    Reductions R1-R4 at 3/4, then bag j = {j, 2k-1-j} filled with ranks >= 2k in order.
    """
    return _ordered_alg(V, 3, 4, (1, 2, 3, 4), "three_quarters_mms", time_limit)
