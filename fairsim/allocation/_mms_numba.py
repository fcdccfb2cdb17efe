"""Numba kernels for the exact maximin share (spec ``division.md`` §3.2, §3.3).

All kernels take int64 values sorted in descending order and trust their inputs.

* :func:`lpt_goods` / :func:`lpt_chores` -- longest-processing-time list scheduling (each item to
  the bundle with the smallest sum, ties to the lowest index); returns the bundle of each item.
* :func:`cover` -- decision "can ``nb`` bundles each reach ``T``?" (bin covering) by depth-first
  search with an explicit stack, exact-fit forcing, equal-sum symmetry breaking, deficit pruning
  and a shared node budget.
* :func:`pack` -- decision "do the items fit in ``nb`` bins of capacity ``T``?" (bin packing), same
  search scheme.

The searches are deliberately not recursive: a self-recursive ``cache=True`` numba kernel
segfaults in processes that load the cache (spec §3.6).

Status codes: 1 feasible (``out`` holds a witness), 0 infeasible (proven), -1 node budget spent.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True)
def lpt_goods(v, n):  # pragma: no cover - compiled
    """LPT partition of ``v`` (descending) into ``n`` bundles: item -> bundle."""
    m = v.shape[0]
    s = np.zeros(n, dtype=np.int64)
    out = np.zeros(m, dtype=np.int64)
    for g in range(m):
        b = 0
        for k in range(1, n):
            if s[k] < s[b]:
                b = k
        s[b] += v[g]
        out[g] = b
    return out


@nb.njit(cache=True)
def lpt_chores(v, n):  # pragma: no cover - compiled
    """LPT schedule of costs ``v`` (descending) on ``n`` machines: item -> machine."""
    return lpt_goods(v, n)


@nb.njit(cache=True)
def cover(v, nb_, T, budget, out):  # pragma: no cover - compiled
    """Can the items ``v`` (descending, each < T) be split so that ``nb_`` bundles reach ``T``?

    ``out[g]`` receives the bundle of item g on success (items not needed go to bundle 0).
    Returns ``(status, nodes)``.
    """
    m = v.shape[0]
    R = np.zeros(m + 1, dtype=np.int64)
    for g in range(m - 1, -1, -1):
        R[g] = R[g + 1] + v[g]
    D = nb_ * T
    if D == 0:
        for g in range(m):
            out[g] = 0
        return 1, 0
    if R[0] < D:
        return 0, 0
    s = np.zeros(nb_, dtype=np.int64)
    cand = np.empty((m, nb_ + 1), dtype=np.int64)
    ncand = np.zeros(m, dtype=np.int64)
    ptr = np.zeros(m, dtype=np.int64)
    applied = np.full(m, -1, dtype=np.int64)
    dgain = np.zeros(m, dtype=np.int64)
    key = np.empty(nb_ + 1, dtype=np.int64)
    nodes = 0
    i = 0
    entering = True
    while True:
        if entering:
            entering = False
            if D == 0:
                for g in range(m):
                    out[g] = 0
                for g in range(i):
                    b = applied[g]
                    out[g] = b if b < nb_ else 0
                return 1, nodes
            if i == m or D > R[i]:
                # dead end: backtrack
                i -= 1
                if i < 0:
                    return 0, nodes
                b = applied[i]
                if b < nb_:
                    s[b] -= v[i]
                D += dgain[i]
                applied[i] = -1
                continue
            x = v[i]
            c = 0
            forced = -1
            for b in range(nb_):
                if s[b] < T and T - s[b] == x:
                    forced = b
                    break
            if forced >= 0:
                cand[i, 0] = forced
                c = 1
            else:
                for b in range(nb_):
                    if s[b] >= T:
                        continue
                    dup = False
                    for k in range(c):
                        if s[cand[i, k]] == s[b]:
                            dup = True
                            break
                    if dup:
                        continue
                    r = T - s[b] - x
                    if r < 0:
                        r = -r
                    # insertion by best fit |T - s_b - x| ascending (stable)
                    k = c
                    while k > 0 and key[k - 1] > r:
                        cand[i, k] = cand[i, k - 1]
                        key[k] = key[k - 1]
                        k -= 1
                    cand[i, k] = b
                    key[k] = r
                    c += 1
                if R[i + 1] >= D:
                    cand[i, c] = nb_  # discard into a covered bundle
                    c += 1
            ncand[i] = c
            ptr[i] = 0
        # try the next option of frame i
        if ptr[i] < ncand[i]:
            if nodes >= budget:
                return -1, nodes
            nodes += 1
            b = cand[i, ptr[i]]
            ptr[i] += 1
            applied[i] = b
            if b < nb_:
                need = T - s[b]
                gain = v[i] if v[i] < need else need
                s[b] += v[i]
            else:
                gain = 0
            dgain[i] = gain
            D -= gain
            i += 1
            entering = True
        else:
            i -= 1
            if i < 0:
                return 0, nodes
            b = applied[i]
            if b < nb_:
                s[b] -= v[i]
            D += dgain[i]
            applied[i] = -1


@nb.njit(cache=True)
def pack(v, nb_, T, budget, out):  # pragma: no cover - compiled
    """Do the costs ``v`` (descending, each <= T) fit into ``nb_`` bins of capacity ``T``?

    ``out[g]`` receives the bin of item g on success. Returns ``(status, nodes)``.
    """
    m = v.shape[0]
    if m == 0:
        return 1, 0
    R = np.zeros(m + 1, dtype=np.int64)
    for g in range(m - 1, -1, -1):
        R[g] = R[g + 1] + v[g]
    if R[0] > nb_ * T:
        return 0, 0
    s = np.zeros(nb_, dtype=np.int64)
    cand = np.empty((m, nb_), dtype=np.int64)
    ncand = np.zeros(m, dtype=np.int64)
    ptr = np.zeros(m, dtype=np.int64)
    applied = np.full(m, -1, dtype=np.int64)
    vmin = v[m - 1]
    nodes = 0
    i = 0
    entering = True
    while True:
        if entering:
            entering = False
            if i == m:
                for g in range(m):
                    out[g] = applied[g]
                return 1, nodes
            # usable free capacity: bins that can still take the smallest item
            usable = 0
            for b in range(nb_):
                f = T - s[b]
                if f >= vmin:
                    usable += f
            if R[i] > usable:
                i -= 1
                if i < 0:
                    return 0, nodes
                s[applied[i]] -= v[i]
                applied[i] = -1
                continue
            x = v[i]
            c = 0
            forced = -1
            for b in range(nb_):
                if s[b] + x == T:
                    forced = b
                    break
            if forced >= 0:
                cand[i, 0] = forced
                c = 1
            else:
                for b in range(nb_):
                    if s[b] + x > T:
                        continue
                    dup = False
                    for k in range(c):
                        if s[cand[i, k]] == s[b]:
                            dup = True
                            break
                    if dup:
                        continue
                    # fullest bin first (s descending, stable)
                    k = c
                    while k > 0 and s[cand[i, k - 1]] < s[b]:
                        cand[i, k] = cand[i, k - 1]
                        k -= 1
                    cand[i, k] = b
                    c += 1
            ncand[i] = c
            ptr[i] = 0
        if ptr[i] < ncand[i]:
            if nodes >= budget:
                return -1, nodes
            nodes += 1
            b = cand[i, ptr[i]]
            ptr[i] += 1
            applied[i] = b
            s[b] += v[i]
            i += 1
            entering = True
        else:
            i -= 1
            if i < 0:
                return 0, nodes
            s[applied[i]] -= v[i]
            applied[i] = -1


@nb.njit(cache=True)
def rebalance(v, part, n, chores, max_sum):  # pragma: no cover - compiled
    """Pairwise optimal re-partitioning heuristic, in place on ``part`` (fairsim's choice [F]).

    Repeatedly take the worst bundle (smallest for goods, largest for chores) and, against each
    other bundle, re-split the union of the two optimally by a subset-sum DP; stop when no pair
    improves. Pairs whose union exceeds ``max_sum`` are skipped. Returns the number of moves.
    """
    m = v.shape[0]
    s = np.zeros(n, dtype=np.int64)
    for g in range(m):
        s[part[g]] += v[g]
    items = np.empty(m, dtype=np.int64)
    moves = 0
    while True:
        a = 0
        for b in range(1, n):
            if (s[b] > s[a]) if chores else (s[b] < s[a]):
                a = b
        done = True
        for b in range(n):
            if b == a:
                continue
            U = s[a] + s[b]
            if U > max_sum:
                continue
            k = 0
            for g in range(m):
                if part[g] == a or part[g] == b:
                    items[k] = g
                    k += 1
            half = U // 2
            frm = np.full(half + 1, -1, dtype=np.int64)
            frm[0] = m
            for t in range(k):
                w = v[items[t]]
                for x in range(half, w - 1, -1):
                    if frm[x] < 0 and frm[x - w] >= 0 and frm[x - w] != t:
                        if frm[x - w] == m or frm[x - w] < t:
                            frm[x] = t
            x = half
            while frm[x] < 0:
                x -= 1
            better = (U - x < s[a]) if chores else (x > s[a])
            if better:
                for t in range(k):
                    part[items[t]] = b
                y = x
                while y > 0:
                    t = frm[y]
                    part[items[t]] = a
                    y -= v[items[t]]
                s[a] = x
                s[b] = U - x
                moves += 1
                done = False
                break
        if done:
            return moves
