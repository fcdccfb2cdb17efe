"""One round of the Greedy Cohesive Rule without enumerating 2^|C′| sets (spec ``budgeting.md`` §4.6).

The enumeration in :mod:`fairsim.mechanisms._budgeting_lottery` visits every project set; this
module finds the same winner, with the same tie list, on real district files (30-100 projects).
Active classes with equal A_b ∩ C′ are merged (no u_b(T) changes). For a threshold θ, a set T
qualifies iff w({b : u_b(T) >= θ})·B >= n·cost(T) and cost(T) <= B, i.e. β*(T) >= θ.

* :func:`_reduce` (exact, iterated to a fixpoint) drops classes that cannot reach θ and projects
  no remaining class approves or that cost more than B·w(E)/n, and classes whose cheapest way
  to reach θ costs more than that.
* ``bnb`` (:func:`best_set_bnb`, numba kernel :func:`_dfs`): depth-first search over T with a
  bound: a class b short of θ by d_b needs extra cost val_b (its d_b cheapest remaining
  projects, or d_b itself for cost utility), so some v must satisfy
  w({b : val_b <= v})·B >= n·(cost(T) + v). One pass maximises β (the threshold rises with each
  improvement), a second collects every qualifying T at β_max within the cheapest cost.
* ``milp`` (:func:`~fairsim.mechanisms._budgeting_gcr_milp.best_set_milp`, HiGHS through ``highspy``): x_c, y_b binary with
  θ·y_b <= Σ_{A_b} u(c)x_c, Σ cost·x/B <= Σ w·y/n, cost(T) <= B, Σ y >= 1 (no big-M);
  bisection on θ, then min cost, max Σ w·y (= w(S) at the optimum), min |T| with the earlier
  optima fixed as rows, then every tied T by no-good cuts (at most ``MAX_TIES``, then fixing x_c
  in id order).

Both re-evaluate every proposed set with :func:`evaluate` (the enumeration's arithmetic and
tolerances) and apply the enumeration's tie chain (:func:`_chain`) to the pool, so solver
tolerances only widen the search. The outcome equals the enumeration's whenever distinct values
of β, cost and group weight differ by more than the rule's tolerances [F] (always the case for
integral costs, as in Pabulib files).
"""

from __future__ import annotations

import contextvars
import time
from dataclasses import dataclass, replace

import numpy as np
from numba import njit, objmode

#: at most this many tied optimal sets are listed; beyond it the winner is found by fixing
#: x_c in id order (exact for sets of equal size) and the list is truncated [F]
MAX_TIES = 512

#: perf_counter() time by which a round must finish (set by greedy_cohesive's time_limit;
#: a context variable, so concurrent threads keep their own)
DEADLINE: contextvars.ContextVar[float] = contextvars.ContextVar("gcr_deadline", default=np.inf)


class GCRTimeout(Exception):
    """The round's search passed :data:`DEADLINE`."""


def evaluate(
    A: np.ndarray,
    w: np.ndarray,
    costs: np.ndarray,
    u: np.ndarray,
    B: float,
    n: float,
    tol: float,
    utol: float,
    T: np.ndarray,
) -> tuple[float, float, float]:
    """(β*(T), cost(T), w(S(T))) with the enumeration's arithmetic (sums in index order)."""
    cost = 0.0
    U = np.zeros(A.shape[0])
    for c in np.sort(T):
        cost += float(costs[c])
        U = U + A[:, c] * float(u[c])
    order = np.argsort(-U, kind="stable")
    cw = np.cumsum(w[order])
    ok = cw * B >= n * cost - tol
    beta = 0.0
    if ok.any() and not cost > B + tol / max(1.0, n):
        beta = float(U[order[int(np.argmax(ok))]])
    wS = float(((U >= beta - utol) * w).sum())
    return beta, cost, wS


@dataclass(frozen=True)
class GCRRound:
    """One GCR round: active classes × candidate projects C′ (``A``, ``w``, ``costs``, ``u``),
    B, n, the rule's tolerances, project ids and C′'s global indices (for the tie chain)."""

    A: np.ndarray
    w: np.ndarray
    costs: np.ndarray
    u: np.ndarray
    B: float
    n: float
    tol: float
    utol: float
    ids: list[str]
    Cp: np.ndarray
    integral_u: bool

    def merged(self) -> GCRRound | None:
        """The round with identical active classes merged (:func:`_merge`); None if empty."""
        m = _merge(self.A, self.w)
        return None if m is None else replace(self, A=m[0], w=m[1])

    def evaluate(self, T: np.ndarray) -> tuple[float, float, float]:
        """:func:`evaluate` on this round."""
        return evaluate(self.A, self.w, self.costs, self.u, self.B, self.n, self.tol, self.utol, T)


def _reduce(
    A: np.ndarray,
    w: np.ndarray,
    costs: np.ndarray,
    u: np.ndarray,
    B: float,
    n: float,
    thr: float,
    uslack: float,
    integral_u: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Classes E and projects P that can take part in a set T with β*(T) >= ``thr``.

    Each step keeps every feasible (T, S) and every winner: WLOG T ⊆ ∪_S A_b (other projects
    only add cost or size); c ∈ T has cost(c) <= cost(T) <= B·w(E)/n; a member reaches thr with
    projects of P only, and then cost(T) >= the cost of its cheapest way to reach thr (its thr
    cheapest projects for cardinality, thr itself for cost utility). Iterated to a fixpoint.
    """
    E = np.ones(A.shape[0], dtype=bool)
    P = np.ones(A.shape[1], dtype=bool)
    while True:
        cap = B * float(w[E].sum()) / n * (1 + 1e-9) + 1e-9
        P2 = P & A[E].any(axis=0) & (costs <= cap)
        reach = (A[:, P2] * u[P2][None, :]).sum(axis=1) >= thr - uslack
        E2 = E & reach
        if integral_u and E2.any():
            k = max(1, int(np.ceil(thr - 1e-9)))
            if np.all(u[P2] == 1.0):
                cs = np.where(A[:, P2], costs[P2][None, :], np.inf)
                cs.sort(axis=1)
                mc = cs[:, : min(k, cs.shape[1])].sum(axis=1)
                E2 &= mc <= cap
        if not np.all(u == 1.0) and thr > cap + uslack:  # cost utility: cost(T) >= u_b(T)
            E2[:] = False
        if np.array_equal(E2, E) and np.array_equal(P2, P):
            return np.flatnonzero(E), np.flatnonzero(P)
        E, P = E2, P2
        if not E.any():
            return np.flatnonzero(E), np.flatnonzero(P & False)


# ----------------------------------------------------------------------------- branch and bound


@njit(cache=True)
def _share_bound(
    bits: np.ndarray,
    w: np.ndarray,
    costs: np.ndarray,
    Urow: np.ndarray,
    thr: float,
    j: int,
    B: float,
    n: float,
    c: float,
) -> float:
    """Upper bound on max over X ⊆ R of B·w(S(T ∪ X)) − n·cost(T ∪ X) (cardinality) [D].

    Charge each remaining project's n·cost(c) to the classes short of thr that approve it, in
    proportion to weight (π_bc = n·cost(c)·w_b / s_c). Then n·cost(X) >= Σ_b Σ_{X ∩ A_b} π_bc,
    and a short class joins only if X holds d_b of its projects, paying at least
    w_b·(its d_b smallest n·cost(c)/s_c); so the gain is at most B·w(sat) − n·cost(T) +
    Σ_b w_b·max(0, B − n·δ_b), δ_b = the sum of those d_b smallest ratios.
    """
    k = bits.size
    q = costs.size
    s = np.zeros(q)
    short = np.zeros(k, dtype=np.int64)
    one = np.uint64(1)
    wsat = 0.0
    for b in range(k):
        need = thr - Urow[b]
        if need <= 0.0:
            wsat += w[b]
            continue
        cnt = 0
        for t in range(j + 1, q):
            if (bits[b] >> np.uint64(t)) & one:
                cnt += 1
        if cnt < need:
            continue
        short[b] = int(np.ceil(need - 1e-9))
        for t in range(j + 1, q):
            if (bits[b] >> np.uint64(t)) & one:
                s[t] += w[b]
    ratio = np.full(q, np.inf)
    for t in range(j + 1, q):
        if s[t] > 0.0:
            ratio[t] = costs[t] / s[t]
    order = np.argsort(ratio)
    bound = B * wsat - n * c
    for b in range(k):
        if short[b] == 0:
            continue
        got = 0
        delta = 0.0
        for i in range(q):
            t = order[i]
            if ratio[t] == np.inf:
                break
            if (bits[b] >> np.uint64(t)) & one:
                delta += ratio[t]
                got += 1
                if got == short[b]:
                    break
        if B - n * delta > 0.0:
            bound += w[b] * (B - n * delta)
    return bound


@njit(cache=True)
def _dfs(
    bits: np.ndarray,
    w: np.ndarray,
    costs: np.ndarray,
    u: np.ndarray,
    suf: np.ndarray,
    card: bool,
    B: float,
    n: float,
    mtol: float,
    uslack: float,
    thr: float,
    mode: int,
    ctol: float,
    step: float,
    out: np.ndarray,
    deadline: float,
) -> tuple[int, int, float]:
    """Sets T (bitmasks over projects sorted by cost, ascending iff ``card``) with w({b : u_b(T) >= thr})·B >= n·cost(T).

    Depth-first over T in increasing index order. A node T with remainder R (higher indices) is
    pruned unless some group can still pay: a class b needing d_b = thr − u_b(T) more needs extra
    cost val_b >= (cardinality) its d_b cheapest projects in A_b ∩ R, (cost utility) d_b; so
    some v needs w({b : val_b <= v})·B >= n·(cost(T) + v). ``enumerate_all``: collect every
    qualifying T with cost <= best + ctol (pruning on that too); else stop at the first one.
    ``mode`` 0: stop at the first qualifying T; 1: collect every qualifying T with cost <=
    best + ctol (pruning on that too); 2: maximise β*(T), raising thr to β*(T) + ``step`` at each
    improvement (out[0] is the best set). Returns (sets written to ``out``, nodes visited, best
    β); tolerances only widen the search. Every 1024 nodes the clock is read (object mode):
    past ``deadline`` (perf_counter seconds) it returns found = −1.
    """
    enumerate_all = mode == 1
    k = bits.size
    q = costs.size
    U = np.zeros((q + 1, k))
    cst = np.zeros(q + 1)
    msk = np.zeros(q + 1, dtype=np.uint64)
    idx = np.full(q + 1, -1, dtype=np.int64)
    vals = np.empty(k)
    order = np.empty(k, dtype=np.int64)
    best = np.inf
    bbest = -np.inf
    found = 0
    nodes = 0
    d = 0
    one = np.uint64(1)
    while d >= 0:
        idx[d] += 1
        j = idx[d]
        if j >= q:
            d -= 1
            continue
        c = cst[d] + costs[j]
        if c > B + mtol / n or (enumerate_all and c > best + ctol):
            if card:
                idx[d] = q  # costs ascend: every later j at this depth is worse
            continue
        nodes += 1
        if (nodes & 1023) == 0:
            with objmode(now="float64"):
                now = time.perf_counter()
            if now > deadline:
                return -1, nodes, bbest
        for b in range(k):
            U[d + 1, b] = U[d, b] + (u[j] if (bits[b] >> np.uint64(j)) & one else 0.0)
        rmask = ~((one << np.uint64(j + 1)) - one) if j + 1 < 64 else np.uint64(0)
        nv = 0
        wsat = 0.0
        for b in range(k):
            need = thr - uslack - U[d + 1, b]
            if need <= 0.0:
                vals[nv] = 0.0
                order[nv] = b
                nv += 1
                wsat += w[b]
                continue
            if suf[b, j + 1] < need:
                continue
            if card:
                r = bits[b] & rmask
                v = 0.0
                t = 0.0
                while t < need:
                    low = r & (~r + one)
                    pos = 0
                    while (low >> np.uint64(pos)) != one:
                        pos += 1
                    v += costs[pos]
                    r ^= low
                    t += 1.0
                vals[nv] = v
            else:
                vals[nv] = need
            order[nv] = b
            nv += 1
        if nv == 0:
            continue
        srt = np.argsort(vals[:nv])
        acc = 0.0
        lb = np.inf
        for i in range(nv):
            acc += w[order[srt[i]]]
            v = vals[srt[i]]
            if i + 1 < nv and vals[srt[i + 1]] == v:
                continue
            if acc * B >= n * (c + v) - mtol:
                lb = c + v
                break
        if lb == np.inf or (enumerate_all and lb > best + ctol):
            continue
        if (
            card
            and nv > 1
            and _share_bound(bits, w, costs, U[d + 1], thr - uslack, j, B, n, c) < -mtol
        ):
            continue
        if wsat > 0.0 and wsat * B >= n * c - mtol:
            if mode == 0:
                out[0] = msk[d] | (one << np.uint64(j))
                return 1, nodes, thr
            if mode == 2:
                srtU = np.argsort(-U[d + 1])
                acc = 0.0
                for i in range(k):
                    acc += w[srtU[i]]
                    if acc * B >= n * c - mtol:
                        break
                bnode = U[d + 1, srtU[i]]
                if bnode > bbest:
                    bbest = bnode
                    out[0] = msk[d] | (one << np.uint64(j))
                    found = 1
                    thr = max(thr, bnode + step)
            elif c <= best + ctol:
                if found < out.size:
                    out[found] = msk[d] | (one << np.uint64(j))
                found += 1
                if c < best:
                    best = c
        if d + 1 < q:
            msk[d + 1] = msk[d] | (one << np.uint64(j))
            cst[d + 1] = c
            idx[d + 1] = j
            d += 1
    return found, nodes, bbest


def _merge(Afull: np.ndarray, wfull: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Classes with equal A_b ∩ C′ merged (weights summed); empty rows dropped."""
    keep = Afull.any(axis=1)
    if not keep.any():
        return None
    packed = np.packbits(Afull[keep], axis=1)
    uniq, inv = np.unique(packed, axis=0, return_inverse=True)
    inv = np.asarray(inv).ravel()
    A = np.unpackbits(uniq, axis=1)[:, : Afull.shape[1]].astype(bool)
    w = np.bincount(inv, weights=wfull[keep], minlength=uniq.shape[0]).astype(np.int64)
    return A, w


class _Searcher:
    """β*-threshold search by branch and bound over the reduced instance at each threshold."""

    def __init__(self, r: GCRRound, uslack: float) -> None:
        self.A, self.w, self.costs, self.u = r.A, r.w, r.costs, r.u
        self.B, self.n, self.tol, self.integral_u = r.B, r.n, r.tol, r.integral_u
        self.uslack = uslack
        self.card = bool(np.all(r.u == 1.0))
        self.nodes = 0

    def run(
        self, thr: float, mode: int, ctol: float = 0.0, step: float = 1.0
    ) -> list[np.ndarray] | None:
        """Sets (indices into C′) found at ``thr``; None if the reduced instance is too wide."""
        if time.perf_counter() > DEADLINE.get():
            raise GCRTimeout
        E, P = _reduce(
            self.A, self.w, self.costs, self.u, self.B, self.n, thr, self.uslack, self.integral_u
        )
        if E.size == 0 or P.size == 0:
            return []
        if P.size > 63:
            return None
        # cardinality: cheapest first (the bound reads the cheapest remaining projects);
        # cost utility: dearest first (remaining utility shrinks fast, so classes drop out)
        key = self.costs[P] if self.card else -self.costs[P]
        perm = P[np.argsort(key, kind="stable")]
        Ar = self.A[np.ix_(E, perm)]
        bits = (Ar.astype(np.uint64) << np.arange(perm.size, dtype=np.uint64)[None, :]).sum(
            axis=1, dtype=np.uint64
        )
        ur = self.u[perm]
        suf = np.zeros((E.size, perm.size + 1))
        suf[:, :-1] = np.cumsum((Ar * ur[None, :])[:, ::-1], axis=1)[:, ::-1]
        size = 64
        while True:
            out = np.zeros(size, dtype=np.uint64)
            found, nodes, _ = _dfs(
                bits,
                self.w[E].astype(np.float64),
                self.costs[perm].astype(np.float64),
                ur.astype(np.float64),
                suf,
                self.card,
                self.B,
                self.n,
                self.tol * 2 + 1e-9,
                self.uslack,
                thr,
                mode,
                ctol,
                step,
                out,
                float(DEADLINE.get()),
            )
            self.nodes += nodes
            if found < 0:
                raise GCRTimeout
            if found <= size:
                break
            size = 2 * found
        sets = []
        for m in out[:found]:
            sel = [perm[j] for j in range(perm.size) if (int(m) >> j) & 1]
            sets.append(np.array(sorted(sel), dtype=np.int64))
        return sets


def best_set_bnb(rnd: GCRRound) -> tuple[np.ndarray, float, list[list[str]]] | None | str:
    """The enumeration's round winner by branch and bound; ``"wide"`` if > 63 projects remain."""
    r = rnd.merged()
    if r is None:
        return None
    A, u, n = r.A, r.u, r.n
    tol, utol, integral_u, ev = r.tol, r.utol, r.integral_u, r.evaluate

    ubmax = float((A * u[None, :]).sum(axis=1).max())
    uslack = 0.5 if integral_u else 0.5 * utol + 1e-12 * max(1.0, ubmax)
    srch = _Searcher(r, uslack)
    step = 1.0 if integral_u else utol
    # β_max: one branch and bound whose threshold rises with each improvement
    sets = srch.run(step if integral_u else 2 * utol, 2, 0.0, step)
    if sets is None:
        return "wide"
    if not sets:
        return None
    lo = ev(sets[0])[0]
    if lo <= utol:
        return None
    thr = lo if integral_u else lo - utol
    sets = srch.run(thr, 1, tol / max(1.0, n) * 2 + 1e-9)
    if sets is None:
        return "wide"
    pool = {tuple(int(c) for c in T): ev(T) for T in sets}
    pool = {t: v for t, v in pool.items() if v[0] > utol}
    if not pool:  # only if the tolerances of the search and of the check disagree
        raise RuntimeError("greedy_cohesive branch and bound lost its incumbent")
    return _chain(pool, utol, tol, n, r.ids, r.Cp)


def _chain(
    pool: dict[tuple[int, ...], tuple[float, float, float]],
    utol: float,
    tol: float,
    n: float,
    ids: list[str],
    Cp: np.ndarray,
) -> tuple[np.ndarray, float, list[list[str]]]:
    """The enumeration's tie chain (max β, min cost, max w(S), min |T|, id tuple) on a pool."""
    keys = list(pool)
    bmax = max(pool[t][0] for t in keys)
    keys = [t for t in keys if pool[t][0] >= bmax - utol]
    cmin = min(pool[t][1] for t in keys)
    keys = [t for t in keys if pool[t][1] <= cmin + tol / max(1.0, n)]
    wmax = max(pool[t][2] for t in keys)
    keys = [t for t in keys if pool[t][2] >= wmax - 1e-9]
    smin = min(len(t) for t in keys)
    keys = [t for t in keys if len(t) == smin]
    named = sorted((tuple(sorted(ids[int(Cp[c])] for c in t)), t) for t in keys)
    best = named[0][1]
    return (
        np.array([Cp[c] for c in best], dtype=np.int64),
        pool[best][0],
        [list(t) for t, _ in named],
    )
