"""Method of Equal Shares kernel over ballot classes (spec ``budgeting.md`` §4.2).

Arrays in, arrays out; inputs are trusted. Supporters of project c are the CSC column
``idx[ptr[c]:ptr[c + 1]]`` (ballot classes) with weights ``w``; utilities are project-level
(``u[c]`` = cost(c) or 1), so a supporter's order key b_i / u(c) is just b_i.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: relative width within which two rho values count as tied (spec §4 "Numerics").
TIE_REL = 1e-12
#: relative width of a "near tie" (reported, not tied).
NEAR_REL = 1e-9


@njit(cache=True)
def _rho(c, ptr, idx, w, b, cost, u, order_buf):  # pragma: no cover - compiled
    """Least rho with sum_{N_c} w_i min(b_i, rho u) = cost; ``inf`` if unaffordable."""
    lo = ptr[c]
    hi = ptr[c + 1]
    k = hi - lo
    total_w = 0.0
    minb = np.inf
    for t in range(lo, hi):
        i = idx[t]
        total_w += w[i]
        if b[i] < minb:
            minb = b[i]
    if k == 0:
        return np.inf
    rho = cost / (total_w * u)
    if rho * u <= minb:
        return rho
    # some supporters cannot pay the equal share: walk them by increasing budget
    for t in range(k):
        order_buf[t] = b[idx[lo + t]]
    bs = np.argsort(order_buf[:k])
    r = cost
    uu = total_w * u
    last = 0.0
    for s in range(k):
        i = idx[lo + bs[s]]
        if uu <= 0.0:
            break
        rp = r / uu
        if rp * u <= b[i]:
            return rp
        r -= w[i] * b[i]
        uu -= w[i] * u
        last = b[i] / u
    return last  # everybody pays everything (total within eps of cost)


@njit(cache=True)
def mes_kernel(ptr, idx, w, costs, u, cand, rank, b0, eps):  # pragma: no cover - compiled
    """Run MES on candidates ``cand`` (bool) with every voter starting at ``b0``.

    Returns (selected order (-1 padded), rho per selection, final budgets per class, payment per
    CSC entry, tie matrix (round x m, -1 padded; the tied candidates of each selection in rank
    order), near-tie flags per round).
    """
    m = costs.shape[0]
    n_cls = w.shape[0]
    b = np.full(n_cls, b0)
    money = np.zeros(m)
    stored = np.zeros(m)
    alive = cand.copy()
    for c in range(m):
        if alive[c]:
            for t in range(ptr[c], ptr[c + 1]):
                money[c] += w[idx[t]]
            if money[c] == 0.0 or costs[c] <= 0.0:
                alive[c] = False
    selected = np.full(m, -1, np.int64)
    rhos = np.zeros(m)
    pay = np.zeros(idx.shape[0])
    ties = np.full((m, m), -1, np.int64)
    near = np.zeros(m, np.bool_)
    buf = np.empty(n_cls)
    fresh = np.full(m, np.inf)
    n_sel = 0
    while True:
        # candidates by stored rho (lazy evaluation: rho never decreases)
        cands = np.flatnonzero(alive)
        if cands.size == 0:
            break
        order = cands[np.argsort(stored[cands], kind="mergesort")]
        best = np.inf
        n_eval = 0
        for q in range(order.size):
            c = order[q]
            if stored[c] > best * (1.0 + NEAR_REL):
                break
            tot = 0.0
            for t in range(ptr[c], ptr[c + 1]):
                i = idx[t]
                tot += w[i] * b[i]
            if tot < costs[c] - eps:
                alive[c] = False
                fresh[c] = np.inf
                continue
            rc = _rho(c, ptr, idx, w, b, costs[c], u[c], buf)
            stored[c] = rc
            fresh[c] = rc
            n_eval = q + 1
            if rc < best:
                best = rc
        if best == np.inf:
            break
        # tied set, chosen by rank
        chosen = -1
        nt = 0
        tied = np.empty(m, np.int64)
        for q in range(n_eval):
            c = order[q]
            if alive[c] and fresh[c] <= best * (1.0 + TIE_REL):
                tied[nt] = c
                nt += 1
                if chosen < 0 or rank[c] < rank[chosen]:
                    chosen = c
            elif alive[c] and fresh[c] <= best * (1.0 + NEAR_REL):
                near[n_sel] = True
        tr = tied[:nt][np.argsort(rank[tied[:nt]])]
        for q in range(nt):
            ties[n_sel, q] = tr[q]
        rho = fresh[chosen]
        uc = u[chosen]
        for t in range(ptr[chosen], ptr[chosen + 1]):
            i = idx[t]
            p = min(b[i], rho * uc)
            pay[t] = p
            b[i] = max(b[i] - p, 0.0)
        selected[n_sel] = chosen
        rhos[n_sel] = rho
        n_sel += 1
        alive[chosen] = False
        for c in range(m):
            fresh[c] = np.inf
    return selected[:n_sel], rhos[:n_sel], b, pay, ties[:n_sel], near[:n_sel]
