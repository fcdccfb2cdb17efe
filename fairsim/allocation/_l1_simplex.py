"""The ℓ1 LP over the simplex shared by budget aggregation's utilitarian optimum and its Pareto check.

Variables: the allocation ``a`` (m,) then the distances ``d`` (n·m,) with ``d_ij >= |a_j - p_ij|``;
``Σ_j a_j = 1``, ``0 <= a <= 1``; minimise ``Σ d``. ``caps`` (n,) optionally adds, per voter,
``Σ_j d_ij <= caps_i`` (nobody farther than now: the Pareto-improvement LP) [F].
"""

from __future__ import annotations

import numpy as np


def l1_simplex_lp(
    P: np.ndarray, caps: np.ndarray | None = None
) -> tuple[int, str, np.ndarray, float]:
    """Solve the LP for profile ``P`` (n, m); returns ``(status, message, a, optimum)`` where ``a``
    is clipped at 0 and renormalised (only meaningful when ``status == 0``)."""
    from scipy import sparse
    from scipy.optimize import linprog

    n, m = P.shape
    nd = n * m
    c = np.concatenate([np.zeros(m), np.ones(nd)])
    rows = np.arange(nd)
    sel = sparse.csr_matrix((np.ones(nd), (rows, np.tile(np.arange(m), n))), shape=(nd, m))
    eye = sparse.identity(nd, format="csr")
    blocks = [sparse.hstack([sel, -eye]), sparse.hstack([-sel, -eye])]
    p = P.reshape(-1)
    rhs = [p, -p]
    if caps is not None:
        per_voter = sparse.csr_matrix((np.ones(nd), (np.repeat(np.arange(n), m), m + rows)))
        per_voter.resize((n, m + nd))
        blocks.append(per_voter)
        rhs.append(np.asarray(caps, dtype=float))
    A_eq = sparse.csr_matrix(np.concatenate([np.ones(m), np.zeros(nd)])[None, :])
    res = linprog(
        c,
        A_ub=sparse.vstack(blocks).tocsr(),
        b_ub=np.concatenate(rhs),
        A_eq=A_eq,
        b_eq=[1.0],
        bounds=[(0.0, 1.0)] * m + [(0.0, None)] * nd,
        method="highs",
    )
    if res.status != 0:
        return int(res.status), str(res.message), np.zeros(m), float("nan")
    a = np.clip(res.x[:m], 0.0, None)
    return 0, str(res.message), a / a.sum(), float(res.fun)
