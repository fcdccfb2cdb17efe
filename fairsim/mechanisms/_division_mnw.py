"""Maximum Nash welfare for integer goods (Caragiannis et al. EC 2016 / TEAC 2019; spec §5.3).

Exact MILP with a lazily refined secant linearisation of log (spec §5.3 [F]): for integer
utilities the secant through (k, log k) and (k+1, log(k+1)) equals log at every integer point it
touches and over-estimates log elsewhere on the integers (log is concave). Start from geometric
breakpoints, solve at mip_rel_gap=0, add the secant at u_i wherever W_i > log u_i, repeat. At
convergence the relaxed optimum is attained by the returned allocation, so it is optimal.
When fewer than n agents can be positive, the product runs over the largest such set (k* agents,
found by bipartite matching on V > 0).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fairsim.errors import InputError
from fairsim.mechanisms._division_common import AlgorithmInvariantError, Allocation, as_valuations


def _kstar(A: np.ndarray) -> int:
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_bipartite_matching

    match = maximum_bipartite_matching(csr_matrix((A > 0).astype(np.int8)), perm_type="column")
    return int(np.count_nonzero(match >= 0))


def max_nash_welfare(V: Any, *, time_limit: float = 60.0, max_rounds: int = 60) -> Allocation:
    """Allocation maximising the Nash welfare prod_i u_i(A_i) (over the largest set of agents
    that can all be positive), integer goods only; exact (MILP, HiGHS at gap 0, lazy secants).

    Guarantees at the optimum: EF1 and PO [R]. MNW is not necessarily fractionally PO (§5.3).
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    A = as_valuations(V, sign="goods")
    if not np.all(A == np.round(A)):
        raise InputError("max_nash_welfare needs integer values (exact secant linearisation)")
    n, m = A.shape
    k = _kstar(A)
    if k == 0:
        out = np.zeros(m, dtype=np.int64)
        return Allocation(out, n, {"algorithm": "max_nash_welfare", "k_star": 0, "exact": True})
    full = k == n
    tot = A.sum(axis=1)
    nx = n * m
    nv = nx + n + (0 if full else n)  # x, W, z
    iW, iz = nx, nx + n
    cuts: list[set[int]] = []
    for i in range(n):
        bp: set[int] = set()
        b = 1
        while b < tot[i]:
            bp.add(b)
            b *= 2
        cuts.append(bp)
    c = np.zeros(nv)
    c[iW : iW + n] = -1.0
    lb = np.zeros(nv)
    ub = np.ones(nv)
    for i in range(n):
        ub[iW + i] = math.log(max(tot[i], 1.0))
    integ = np.ones(nv)
    integ[iW : iW + n] = 0
    for _ in range(max_rounds):
        rows, lo_, hi_ = [], [], []
        for g in range(m):  # each item to exactly one agent
            r = np.zeros(nv)
            r[g::m][:n] = 1.0
            rows.append(r)
            lo_.append(1.0)
            hi_.append(1.0)
        for i in range(n):
            u = np.zeros(nv)
            u[i * m : (i + 1) * m] = A[i]
            if full:
                rows.append(u)
                lo_.append(1.0)
                hi_.append(np.inf)
            else:
                r = u.copy()
                r[iz + i] = -1.0
                rows.append(r)
                lo_.append(0.0)
                hi_.append(np.inf)
                r = np.zeros(nv)
                r[iW + i] = 1.0
                r[iz + i] = -ub[iW + i]
                rows.append(r)
                lo_.append(-np.inf)
                hi_.append(0.0)
            bigM = 0.0 if full else ub[iW + i] + 1.0 + math.log(2.0)
            for kk in sorted(cuts[i]):
                slope = math.log(kk + 1) - math.log(kk)
                r = -slope * u
                r[iW + i] = 1.0
                rhs = math.log(kk) - slope * kk
                if not full:
                    r[iz + i] = bigM
                    rhs += bigM
                rows.append(r)
                lo_.append(-np.inf)
                hi_.append(rhs)
        if not full:
            r = np.zeros(nv)
            r[iz : iz + n] = 1.0
            rows.append(r)
            lo_.append(float(k))
            hi_.append(float(k))
        res = milp(
            c,
            constraints=LinearConstraint(np.array(rows), lo_, hi_),
            bounds=Bounds(lb, ub),
            integrality=integ,
            options={"mip_rel_gap": 0.0, "time_limit": time_limit, "disp": False},
        )
        if res.x is None:
            raise AlgorithmInvariantError(f"MNW MILP returned no solution: {res.message}")
        x = np.round(res.x[:nx]).reshape(n, m)
        util = (A * x).sum(axis=1)
        added = False
        for i in range(n):
            w = res.x[iW + i]
            if util[i] >= 1 and w > math.log(util[i]) + 1e-9 and int(util[i]) not in cuts[i]:
                cuts[i].add(int(util[i]))
                added = True
        if not added:
            out = np.argmax(x, axis=0).astype(np.int64)
            meta = {
                "algorithm": "max_nash_welfare",
                "k_star": k,
                "exact": res.status == 0,
                "nash_log": float(np.log(util[util > 0]).sum()),
            }
            return Allocation(out, n, meta)
    raise AlgorithmInvariantError("MNW secant refinement did not converge")
