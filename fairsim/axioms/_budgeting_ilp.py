"""ILP forms of the ex-post and GFS checks (spec §7), solved by HiGHS through scipy.optimize.milp.

Variables: x_c (project c in T), y_b (class b in the group S), plus z_c (PJR, GFS). FJR's
MILPs (one per threshold level, no big-M) live in :mod:`fairsim.axioms._budgeting_fjr`.
Each model is feasible iff the axiom is violated; the solver's witness is then re-verified by
the enumeration kernels' exact tests, and ``"inconclusive"`` is set in the witness on failure.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fairsim.axioms import Verdict
from fairsim.axioms._budgeting_common import Profile, money_delta
from fairsim.axioms._budgeting_expost import _slack, _witness, candidates, utility_of_w


def _solve(
    c: np.ndarray,
    rows: list[tuple[dict[int, float], float, float]],
    nvar: int,
    integrality: np.ndarray,
    lb: np.ndarray,
    ub: np.ndarray,
) -> np.ndarray | None:
    from scipy import sparse
    from scipy.optimize import Bounds, LinearConstraint, milp

    r_idx, c_idx, vals, lo, hi = [], [], [], [], []
    for i, (coefs, a, b) in enumerate(rows):
        for j, v in coefs.items():
            r_idx.append(i)
            c_idx.append(j)
            vals.append(v)
        lo.append(a)
        hi.append(b)
    M = sparse.csr_matrix((vals, (r_idx, c_idx)), shape=(len(rows), nvar))
    res = milp(
        c,
        constraints=LinearConstraint(M, np.array(lo), np.array(hi)),
        integrality=integrality,
        bounds=Bounds(lb, ub),
        options={"mip_rel_gap": 0},
    )
    if res.x is None or res.status not in (0,):
        return None
    return np.asarray(res.x)


def _group_rows(P: Profile, nx: int, uW: np.ndarray) -> tuple[list[Any], float, float]:
    """Shared rows: T ⊆ A_b for members, size row, at least one member."""
    k, m = P.A.shape
    rows: list[Any] = []
    for b in range(k):
        coefs = {c: 1.0 for c in range(m) if not P.A[b, c]}
        coefs[nx + b] = float(m)
        rows.append((coefs, -np.inf, float(m)))
    size = {c: P.n * P.costs[c] for c in range(m)}
    size.update({nx + b: -P.budget * P.w[b] for b in range(k)})
    rows.append((size, -np.inf, P.tol))
    rows.append(({nx + b: 1.0 for b in range(k)}, 1.0, np.inf))
    return rows, float(P.u.sum()) + 1.0, money_delta(P)


def ejr_ilp(
    P: Profile, Wm: np.ndarray, variant: str | None, name: str, pjr: bool = False
) -> Verdict:
    """EJR, EJR-1 (``variant``) or PJR (``pjr=True``) as a feasibility MILP."""
    k, m = P.A.shape
    uW = utility_of_w(P, Wm)
    rows, M, d = _group_rows(P, m, uW)
    W_idx = np.flatnonzero(Wm)
    nvar = m + k + (W_idx.size if pjr else 0)
    if pjr:
        zpos = {int(c): m + k + j for j, c in enumerate(W_idx)}
        for b in range(k):
            for c in W_idx:
                if P.A[b, c]:
                    rows.append(({m + b: 1.0, zpos[int(c)]: -1.0}, -np.inf, 0.0))
        coefs = {zpos[int(c)]: P.u[c] for c in W_idx}
        for cc in range(m):
            coefs[cc] = coefs.get(cc, 0.0) - P.u[cc]
        rows.append((coefs, -np.inf, -d))
    # EJR rows u_b(W) <= u(T) − δ for members; valid for PJR too, whose members have
    # u_b(W) <= u(W ∩ ∪_S A_i) < u(T) (a strengthening there)
    for b in range(k):
        coefs = {c: -P.u[c] for c in range(m)}
        coefs[m + b] = M
        rows.append((coefs, -np.inf, M - d - uW[b]))
        if variant is None or pjr:
            continue
        strict = 0.0 if variant == "strict" else d
        for a in range(m):
            if Wm[a] or P.u[a] <= 0:
                continue
            coefs = {c: -P.u[c] for c in range(m)}
            coefs[m + b] = M
            coefs[a] = coefs[a] + M
            rows.append((coefs, -np.inf, 2 * M - uW[b] - P.u[a] - strict))
    ub = np.ones(nvar)
    ub[np.setdiff1d(np.arange(m), candidates(P))] = 0.0
    x = _solve(np.zeros(nvar), rows, nvar, np.ones(nvar), np.zeros(nvar), ub)
    if x is None:
        return Verdict(name, True, None, float("inf"))
    T = np.flatnonzero(x[:m] > 0.5)
    supp = np.flatnonzero(P.A[:, T].all(axis=1))
    S = np.flatnonzero(x[m : m + k] > 0.5)
    cost = float(P.costs[T].sum())
    uT = float(P.u[T].sum())
    wg = float(P.w[S].sum())
    wit = _witness(P, S, T, uT, wg, cost)
    ok = set(S.tolist()) <= set(supp.tolist()) and P.big_enough(wg, cost)
    ok = ok and bool(np.all(uW[S] < uT - P.utol))
    if pjr:
        ok = ok and float(P.u[Wm & P.A[S].any(axis=0)].sum()) < uT - P.utol
    if not ok:
        wit["inconclusive"] = True
    return Verdict(name, False, wit, _slack(P, wg, cost), inconclusive=not ok)


def gfs_ilp(P: Profile, p: np.ndarray) -> tuple[float, np.ndarray]:
    """Max over groups S of min(share(S), cost(U_S)) − Σ_{U_S} p_c cost(c); returns (gap, classes)."""
    k, m = P.A.shape
    t = m + k
    nvar = m + k + 1
    rows: list[Any] = []
    for b in range(k):
        for c in range(m):
            if P.A[b, c]:
                rows.append(({m + b: 1.0, c: -1.0}, -np.inf, 0.0))
    for c in range(m):
        coefs = {c: 1.0}
        for bb in np.flatnonzero(P.A[:, c]).tolist():
            coefs[m + bb] = -1.0
        rows.append((coefs, -np.inf, 0.0))
    share = {m + b: -P.budget * P.w[b] / P.n for b in range(k)}
    share[t] = 1.0
    rows.append((share, -np.inf, 0.0))
    cz = {c: -P.costs[c] for c in range(m)}
    cz[t] = 1.0
    rows.append((cz, -np.inf, 0.0))
    rows.append(({m + b: 1.0 for b in range(k) if P.A[b].any()}, 1.0, np.inf))
    obj = np.zeros(nvar)
    obj[:m] = p * P.costs
    obj[t] = -1.0
    integ = np.ones(nvar)
    integ[t] = 0
    ub = np.ones(nvar)
    ub[t] = np.inf
    ub[m:t][~P.A.any(axis=1)] = 0.0
    x = _solve(obj, rows, nvar, integ, np.zeros(nvar), ub)
    if x is None:
        return -np.inf, np.array([], dtype=np.int64)
    return float(-(obj @ x)), np.flatnonzero(x[m:t] > 0.5)


def gfs_closure(P: Profile, p: np.ndarray) -> tuple[float, np.ndarray]:
    """Upper bound on the GFS gap by one LP: max over U of share(S_U) − Σ_U p_c cost(c).

    gap(S) = min(share(S), cost(U_S)) − Σ_{U_S} p_c cost(c) <= share(S) − Σ_{U_S} p_c cost(c),
    and for a fixed U the heaviest group inside it is S_U = {b : A_b ⊆ U}. So the maximum
    weight closure max Σ_b (B/n)·w_b·y_b − Σ_c p_c cost(c)·z_c with y_b <= z_c (c ∈ A_b),
    0 <= y, z <= 1, bounds every gap from above. Its rows have one +1 and one −1 each (a
    network matrix, totally unimodular), so the LP optimum is the integral closure optimum and
    no branching is needed [D]. Returns (bound, classes of an optimal S_U).
    """
    from scipy import sparse
    from scipy.optimize import linprog

    nonempty = np.flatnonzero(P.A.any(axis=1))
    k, m = nonempty.size, P.A.shape[1]
    if k == 0:
        return -np.inf, np.array([], dtype=np.int64)
    bs, cs = np.nonzero(P.A[nonempty])
    r = np.arange(bs.size)
    rows = sparse.csr_matrix(
        (
            np.concatenate([np.ones(bs.size), -np.ones(bs.size)]),
            (np.concatenate([r, r]), np.concatenate([bs, k + cs])),
        ),
        shape=(bs.size, k + m),
    )
    share = P.budget / P.n
    c = np.concatenate([-share * P.w[nonempty], p * P.costs])
    res = linprog(c, A_ub=rows, b_ub=np.zeros(bs.size), bounds=(0.0, 1.0), method="highs")
    if res.status != 0 or res.x is None:
        return np.inf, np.array([], dtype=np.int64)  # no bound: the caller runs the MILP
    U = np.asarray(res.x[k:]) > 0.5
    G = nonempty[~(P.A[nonempty] & ~U[None, :]).any(axis=1)]
    return float(-res.fun), G
