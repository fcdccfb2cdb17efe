"""GCR rounds by HiGHS MILPs (``method="milp"``; spec ``budgeting.md`` §4.6).

Split out of :mod:`fairsim.mechanisms._budgeting_gcr` (whose docstring states the model):
x_c, y_b binary with θ·y_b <= Σ_{A_b} u(c)x_c, Σ cost·x/B <= Σ w·y/n, cost(T) <= B, Σ y >= 1
(no big-M); bisection on θ, then min cost, max Σ w·y, min |T| with the earlier optima fixed,
then every tied T by no-good cuts. Every proposed set is re-evaluated with the enumeration's
arithmetic (:func:`~fairsim.mechanisms._budgeting_gcr.evaluate`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from fairsim.mechanisms._budgeting_gcr import (
    DEADLINE,
    MAX_TIES,
    GCRRound,
    GCRTimeout,
    _chain,
    _reduce,
)


class _Model:
    """x (q binaries), y (k binaries) and optionally β (one column); rows added incrementally."""

    def __init__(self, q: int, k: int, extra: int = 0) -> None:
        import highspy

        self.hs = highspy
        self.h = highspy.Highs()
        self.h.setOptionValue("output_flag", False)
        self.h.setOptionValue("mip_rel_gap", 0.0)
        self.h.setOptionValue("threads", 1)
        self.q, self.k, self.nv = q, k, q + k + extra
        nv = self.nv
        self.h.addCols(
            nv, np.zeros(nv), np.zeros(nv), np.ones(nv), 0, np.zeros(nv + 1, np.int32), [], []
        )
        self.h.changeColsIntegrality(
            q + k,
            np.arange(q + k, dtype=np.int32),
            np.full(q + k, int(highspy.HighsVarType.kInteger), dtype=np.uint8),
        )

    def rows(self, M: Any, lo: np.ndarray, hi: np.ndarray) -> None:
        from scipy import sparse

        M = sparse.csr_matrix(M)
        self.h.addRows(
            M.shape[0],
            np.asarray(lo, float),
            np.asarray(hi, float),
            M.nnz,
            M.indptr.astype(np.int32),
            M.indices.astype(np.int32),
            M.data.astype(float),
        )

    def row(self, coefs: dict[int, float], lo: float, hi: float) -> None:
        idx = np.array(sorted(coefs), dtype=np.int32)
        val = np.array([coefs[i] for i in idx], dtype=float)
        self.h.addRow(lo, hi, idx.size, idx, val)

    def objective(self, cost: np.ndarray, maximize: bool) -> None:
        self.h.changeColsCost(self.nv, np.arange(self.nv, dtype=np.int32), np.asarray(cost, float))
        sense = self.hs.ObjSense.kMaximize if maximize else self.hs.ObjSense.kMinimize
        self.h.changeObjectiveSense(sense)

    def solve(self) -> np.ndarray | None:
        left = DEADLINE.get() - time.perf_counter()
        if left <= 0:
            raise GCRTimeout
        if np.isfinite(left):
            self.h.setOptionValue("time_limit", float(left))
        self.h.run()
        st = self.h.getModelStatus()
        if st == self.hs.HighsModelStatus.kInfeasible:
            return None
        if st == self.hs.HighsModelStatus.kTimeLimit:
            raise GCRTimeout
        if st != self.hs.HighsModelStatus.kOptimal:
            raise RuntimeError(
                f"greedy_cohesive MILP: HiGHS returned {self.h.modelStatusToString(st)}"
            )
        return np.asarray(self.h.getSolution().col_value)

    def cut(self, T: np.ndarray) -> None:
        """No-good cut on x: exclude exactly the set T."""
        coefs = {int(c): -1.0 for c in range(self.q)}
        for c in T:
            coefs[int(c)] = 1.0
        self.row(coefs, -np.inf, float(len(T)) - 1.0)


class _Reduced:
    """A threshold model on the reduced classes and projects; solutions map back to C′."""

    def __init__(
        self, r: GCRRound, thr: float, uscale: float, uslack: float, size_tol: float
    ) -> None:
        A, w, costs, u, B, n = r.A, r.w, r.costs, r.u, r.B, r.n
        self.E, self.P = _reduce(A, w, costs, u, B, n, thr, uslack * uscale, r.integral_u)
        self.mdl: _Model | None = None
        if self.E.size == 0 or self.P.size == 0:
            return
        Ar = A[np.ix_(self.E, self.P)]
        q, k = self.P.size, self.E.size
        self.mdl = _Model(q, k)
        _base_rows(
            self.mdl,
            Ar,
            w[self.E] / n,
            costs[self.P] / B,
            u[self.P] / uscale,
            thr / uscale,
            uslack,
            size_tol,
        )

    def solve(self) -> np.ndarray | None:
        """T (indices into C′) or None when infeasible."""
        if self.mdl is None:
            return None
        x = self.mdl.solve()
        if x is None:
            return None
        return self.P[np.flatnonzero(x[: self.P.size] > 0.5)]

    def cut(self, T: np.ndarray) -> None:
        assert self.mdl is not None
        self.mdl.cut(np.searchsorted(self.P, T))


def _base_rows(
    mdl: _Model,
    A: np.ndarray,
    w: np.ndarray,
    costs: np.ndarray,
    uS: np.ndarray,
    thr: float,
    slack: float,
    size_tol: float,
) -> None:
    """Class rows, size row, budget row and Σ y >= 1 (see the module docstring)."""
    from scipy import sparse

    k, q = A.shape
    Au = sparse.csr_matrix(A * -uS[None, :])
    Y = sparse.diags(np.full(k, thr))
    M = sparse.hstack([Au, Y]).tocsr()
    mdl.rows(M, np.full(k, -np.inf), np.full(k, slack))
    nv = mdl.nv
    size = np.zeros(nv)
    size[:q] = costs
    size[q : q + k] = -w
    mdl.rows(size[None, :], np.array([-np.inf]), np.array([size_tol]))
    bud = np.zeros(nv)
    bud[:q] = costs
    mdl.rows(bud[None, :], np.array([-np.inf]), np.array([1.0 + size_tol]))
    one = np.zeros(nv)
    one[q : q + k] = 1.0
    mdl.rows(one[None, :], np.array([1.0]), np.array([np.inf]))


def best_set_milp(rnd: GCRRound) -> tuple[np.ndarray, float, list[list[str]]] | None:
    """The enumeration's round winner (T as global indices, β, tied id tuples) via MILPs."""
    r = rnd.merged()
    if r is None:
        return None
    A, w, costs, u, B, n = r.A, r.w, r.costs, r.u, r.B, r.n
    tol, utol, integral_u, ev = r.tol, r.utol, r.integral_u, r.evaluate
    ids, Cp = r.ids, r.Cp

    ubmax = float((A * u[None, :]).sum(axis=1).max())
    uscale = max(1.0, ubmax)
    size_tol = tol / (n * B) + 1e-9
    uslack = (0.5 if integral_u else 0.5 * utol) / uscale + 1e-9

    def model(thr: float) -> _Reduced:
        return _Reduced(r, thr, uscale, uslack, size_tol)

    def feasible(thr: float) -> tuple[np.ndarray, float] | None:
        """A set with exact β*(T) >= thr − slack, or None (proof that none exists)."""
        mdl = model(thr)
        while True:
            T = mdl.solve()
            if T is None:
                return None
            b = ev(T)[0] if T.size else 0.0
            if b > utol and b >= thr - uslack * uscale:
                return T, b
            mdl.cut(T)

    # (1) β_max by bisection on the threshold: lo is reached by a verified set, hi is not
    step = 1.0 if integral_u else utol
    lo, hi = 0.0, ubmax + step
    while hi - lo > step:
        mid = lo + (np.floor((hi - lo) / 2) if integral_u else (hi - lo) / 2)
        mid = max(mid, lo + step)
        if mid >= hi:  # float rounding: the interval is down to one step
            break
        got = feasible(mid)
        if got is None or got[1] <= lo:  # (the latter only within the tolerances)
            hi = mid
        else:
            lo = got[1]
    if lo <= utol:
        return None
    beta_max = lo

    # stages 2-5 on one model with threshold β_max (− utol for real-valued utilities)
    thr = beta_max if integral_u else beta_max - utol
    red = model(thr)
    mdl = red.mdl
    assert mdl is not None
    P, E = red.P, red.E
    qr, kr = P.size, E.size
    wr = w[E]

    def pick(x: np.ndarray) -> np.ndarray:
        return P[np.flatnonzero(x[:qr] > 0.5)]

    def in_windows(vals: tuple[float, float, float], stage: int, lim: list[float]) -> bool:
        b, c, ws = vals
        if b < beta_max - utol or b <= utol:
            return False
        if stage > 2 and c > lim[0] + tol / max(1.0, n):
            return False
        return not (stage > 3 and ws < lim[1] - 1e-9)

    def optimise(obj: np.ndarray, maximize: bool, stage: int, lim: list[float]) -> np.ndarray:
        mdl.objective(obj, maximize)
        while True:
            x = mdl.solve()
            if x is None:  # cannot happen: the β stage found a member of every window
                raise RuntimeError("greedy_cohesive MILP lost its incumbent")
            T = pick(x)
            if T.size and in_windows(ev(T), stage, lim):
                return T
            mdl.cut(np.searchsorted(P, T))

    lim: list[float] = []
    obj = np.zeros(qr + kr)
    obj[:qr] = costs[P]
    T = optimise(obj, False, 2, lim)
    lim.append(ev(T)[1])
    crow = {c: float(costs[P[c]] / B) for c in range(qr)}
    cap = (lim[0] + tol / max(1.0, n)) / B + 1e-12
    mdl.row(crow, -np.inf, cap)
    obj = np.zeros(qr + kr)
    obj[qr:] = wr
    T = optimise(obj, True, 3, lim)
    lim.append(ev(T)[2])
    wrow = {qr + b: float(wr[b]) for b in range(kr)}
    mdl.row(wrow, lim[1] - 0.5, np.inf)
    obj = np.zeros(qr + kr)
    obj[:qr] = 1.0
    T = optimise(obj, False, 4, lim)
    s = T.size
    mdl.row({c: 1.0 for c in range(qr)}, s, s)
    mdl.objective(np.zeros(qr + kr), False)
    pool: dict[tuple[int, ...], tuple[float, float, float]] = {}
    fixed = False
    while True:
        x = mdl.solve()
        if x is None:
            break
        T = pick(x)
        vals = ev(T)
        if T.size == s and in_windows(vals, 4, lim):
            pool[tuple(int(c) for c in T)] = vals
        if len(pool) >= MAX_TIES:
            fixed = True
            break
        mdl.cut(np.searchsorted(P, T))
    if fixed:  # fix x_c in id order on a fresh model: the lexicographically smallest id tuple
        red = model(thr)
        fm = red.mdl
        assert fm is not None
        fm.row(crow, -np.inf, cap)
        fm.row(wrow, lim[1] - 0.5, np.inf)
        fm.row({c: 1.0 for c in range(qr)}, s, s)
        for c in sorted(range(qr), key=lambda c: ids[int(Cp[P[c]])]):
            fm.h.changeColBounds(c, 1.0, 1.0)
            if fm.solve() is None:
                fm.h.changeColBounds(c, 0.0, 0.0)
        x = fm.solve()
        assert x is not None
        T = pick(x)
        pool[tuple(int(c) for c in T)] = ev(T)
    return _chain(pool, utol, tol, n, ids, Cp)
