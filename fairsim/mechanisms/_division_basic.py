"""Round robin, envy-cycle elimination and greedy chores (spec ``division.md`` §5.1, 5.2, 5.7)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from fairsim.errors import InputError
from fairsim.mechanisms._division_common import Allocation, as_valuations, map_back_chores


def round_robin(V: Any, order: Any = None) -> Allocation:
    """Round robin (spec §5.1): agents pick in turn (``order``, default 0..n-1) their best item.

    Utility form: the pick is argmax_g V[i, g] (for chores, the least costly one); ties go to the
    lowest item index. EF1 for pure goods or pure chores [D]; mixed signs warn (not EF1 in
    general; Aziz-Caragiannis-Igarashi-Walsh's double round robin is the fix).
    """
    A = as_valuations(V)
    n, m = A.shape
    if order is None:
        seq = np.arange(n)
    else:
        seq = np.asarray(order)
        if seq.ndim != 1 or sorted(seq.tolist()) != list(range(n)):
            raise InputError(f"order must be a permutation of 0..{n - 1}; got {order!r}")
    if np.any(A < 0) and np.any(A > 0):
        warnings.warn("round_robin on mixed goods/chores is not EF1 in general", stacklevel=2)
    out = np.full(m, -1, dtype=np.int64)
    free = np.ones(m, dtype=bool)
    for r in range(m):
        i = int(seq[r % n])
        g = int(np.argmax(np.where(free, A[i], -np.inf)))
        out[g] = i
        free[g] = False
    return Allocation(out, n, {"algorithm": "round_robin", "order": seq.tolist()})


def _utils(A: np.ndarray, out: np.ndarray, n: int) -> np.ndarray:
    """U[i, j] = u_i(A_j)."""
    U = np.zeros((n, n))
    for j in range(n):
        U[:, j] = A[:, out == j].sum(axis=1)
    return U


def envy_cycle(V: Any) -> Allocation:
    """Envy-cycle elimination (Lipton, Markakis, Mossel, Saberi EC 2004; spec §5.2).

    Goods (V >= 0): items in index order go to the lowest-index agent nobody envies; when there is
    none, the bundles rotate along an envy cycle (lowest-index out-edges). EF1 [D].
    Chores (V <= 0): an item goes to the lowest-index sink (an agent envying nobody); with no sink
    the bundles rotate along a top-trading cycle (each agent points to the owner of its favourite
    bundle) (Bhaskar-Sricharan-Vaish [U]).
    """
    A = as_valuations(V, sign="pure")
    n, m = A.shape
    chores = bool(np.any(A < 0))
    out = np.full(m, -1, dtype=np.int64)
    for g in range(m):
        for _ in range(4 * n * n + 4):
            U = _utils(A, out, n)
            own = np.diag(U)
            E = U > own[:, None]
            if chores:
                cand = np.flatnonzero(~E.any(axis=1))
            else:
                cand = np.flatnonzero(~E.any(axis=0))
            if cand.size:
                out[g] = int(cand[0])
                break
            # goods: everyone is envied, walk back along in-edges (nxt[j] = lowest agent envying
            # j, who takes j's bundle); chores: everyone envies, walk top-trading out-edges
            if chores:
                nxt = [int(np.argmax(U[i])) for i in range(n)]
            else:
                nxt = [int(np.flatnonzero(E[:, j])[0]) for j in range(n)]
            seen: dict[int, int] = {}
            i = 0
            while i not in seen:
                seen[i] = len(seen)
                i = nxt[i]
            cyc = [i]
            j = nxt[i]
            while j != i:
                cyc.append(j)
                j = nxt[j]
            old = out.copy()
            for a in cyc:
                if chores:  # a takes the bundle of the agent it points to
                    out[old == nxt[a]] = a
                else:  # nxt[a] envies a and takes a's bundle
                    out[old == a] = nxt[a]
        else:  # pragma: no cover - a rotation strictly improves someone; defensive
            out[g] = 0
    return Allocation(out, n, {"algorithm": "envy_cycle", "chores": chores})


def greedy_chores(V: Any) -> Allocation:
    """Greedy on the ordered chores instance (spec §5.7 [F]; target 4/3-MMS, not proven here).

    Costs (V >= 0) or utilities (V <= 0) are accepted. For rank r = 0..m-1 (most costly first):
    while no sink exists rotate a top-trading cycle, then give rank r to the lowest-index sink; map
    back by picking the cheapest remaining item for r = m-1 down to 0.
    """
    A = as_valuations(V, sign="pure")
    C = -A if np.any(A < 0) else A
    n, m = C.shape
    Ord = -np.sort(-C, axis=1)
    owner = np.full(m, -1, dtype=np.int64)
    for r in range(m):
        for _ in range(4 * n * n + 4):
            K = np.zeros((n, n))
            for j in range(n):
                K[:, j] = Ord[:, owner == j].sum(axis=1)
            own = np.diag(K)
            E = K < own[:, None]
            sinks = np.flatnonzero(~E.any(axis=1))
            if sinks.size:
                owner[r] = int(sinks[0])
                break
            nxt = [int(np.argmin(K[i])) for i in range(n)]
            seen: set[int] = set()
            i = 0
            while i not in seen:
                seen.add(i)
                i = nxt[i]
            cyc = [i]
            j = nxt[i]
            while j != i:
                cyc.append(j)
                j = nxt[j]
            old = owner.copy()
            for a in cyc:
                owner[old == nxt[a]] = a
        else:  # pragma: no cover - defensive
            owner[r] = 0
    out = map_back_chores(C, owner)
    return Allocation(out, n, {"algorithm": "greedy_chores"})


def double_round_robin(V: Any) -> Allocation:
    """Double round robin for mixed goods and chores (Aziz, Caragiannis, Igarashi, Walsh,
    IJCAI 2019; spec §5.1): EF1 for additive mixed valuations.

    Items that are chores for everyone (V[i, g] <= 0 for all i) are padded with zero-valued
    dummies to a multiple of n and picked round robin in order 0..n-1; the other items are then
    picked in the reverse order n-1..0, an agent passing when nothing left is positive to it.
    Ties go to the lowest item index; dummies are picked before real items of value 0.
    """
    A = as_valuations(V)
    n, m = A.shape
    out = np.full(m, -1, dtype=np.int64)
    minus = [g for g in range(m) if np.all(A[:, g] <= 0)]
    plus = [g for g in range(m) if g not in set(minus)]
    dummies = (-len(minus)) % n
    turn = 0
    left = list(minus)
    while left or dummies:
        i = turn % n
        turn += 1
        best = max(left, key=lambda g: (A[i, g], -g)) if left else None
        if dummies and (best is None or A[i, best] <= 0):
            dummies -= 1
            continue
        assert best is not None
        out[best] = i
        left.remove(best)
    left = list(plus)
    k = 0
    while left:
        i = n - 1 - (k % n)
        k += 1
        best = max(left, key=lambda g: (A[i, g], -g))
        if A[i, best] > 0:
            out[best] = i
            left.remove(best)
    return Allocation(out, n, {"algorithm": "double_round_robin"})
