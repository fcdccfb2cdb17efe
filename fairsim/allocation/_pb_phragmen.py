"""Sequential Phragmén kernel over ballot classes (spec ``budgeting.md`` §4.4).

Arrays in, arrays out; inputs are trusted. Supporters of project c are the CSC column
``idx[ptr[c]:ptr[c + 1]]`` with class weights ``w``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

TIE_REL = 1e-12


@njit(cache=True)
def phragmen_kernel(ptr, idx, w, costs, cand, rank, budget, eps, skip):  # pragma: no cover
    """Select supported candidates in order of the time t_c they become affordable.

    ``skip=False`` (pabutools): stop as soon as a project tied at the minimum time does not fit;
    ``skip=True``: drop non-fitting projects and go on. Returns (selected order, t* per
    selection, loads per class, tie matrix (round x m, rank order, -1 padded), spent, stopped
    (True when a tied project did not fit under ``skip=False``)).
    """
    m = costs.shape[0]
    load = np.zeros(w.shape[0])
    s = np.zeros(m)
    alive = cand.copy()
    for c in range(m):
        for t in range(ptr[c], ptr[c + 1]):
            s[c] += w[idx[t]]
        if s[c] == 0.0:
            alive[c] = False
    selected = np.full(m, -1, np.int64)
    times = np.zeros(m)
    ties = np.full((m, m), -1, np.int64)
    tc = np.full(m, np.inf)
    spent = 0.0
    n_sel = 0
    stopped = False
    while True:
        best = np.inf
        for c in range(m):
            tc[c] = np.inf
            if not alive[c]:
                continue
            acc = costs[c]
            for t in range(ptr[c], ptr[c + 1]):
                i = idx[t]
                acc += w[i] * load[i]
            tc[c] = acc / s[c]
            if tc[c] < best:
                best = tc[c]
        if best == np.inf:
            break
        tied = np.empty(m, np.int64)
        nt = 0
        any_misfit = False
        for c in range(m):
            if alive[c] and tc[c] <= best * (1.0 + TIE_REL):
                tied[nt] = c
                nt += 1
                if spent + costs[c] > budget + eps:
                    any_misfit = True
        tr = tied[:nt][np.argsort(rank[tied[:nt]])]
        if any_misfit:
            if not skip:
                stopped = True
                break
            for q in range(nt):
                if spent + costs[tr[q]] > budget + eps:
                    alive[tr[q]] = False
            continue
        chosen = tr[0]
        for q in range(nt):
            ties[n_sel, q] = tr[q]
        for t in range(ptr[chosen], ptr[chosen + 1]):
            load[idx[t]] = best
        spent += costs[chosen]
        selected[n_sel] = chosen
        times[n_sel] = best
        n_sel += 1
        alive[chosen] = False
    return selected[:n_sel], times[:n_sel], load, ties[:n_sel], spent, stopped
