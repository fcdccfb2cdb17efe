"""Exact FJR at real scale: a violation search, then MILPs over intervals of levels β (spec §6.1, §7) [D].

A group S is weakly (β, T)-cohesive and unsatisfied iff w(S)·B >= n·cost(T), cost(T) <= B and
u_b(T) >= β > u_b(W) for b ∈ S. Lowering β to just above max_{S} u_b(W) keeps S a violation,
so it suffices to try β = v + δ for the distinct values v of u_b(W) (δ = 1 for integral
utilities, else a tiny money tolerance), and for each such level only the classes
E = {b : u_b(W) <= v, u(A_b) >= β} may join. For an interval of levels [β_lo, v_hi] the relaxation

    th_b·y_b <= Σ_{c ∈ A_b} u(c) x_c with th_b = max(β_lo, u_b(W) + δ)  (b : u_b(W) <= v_hi),
    B·Σ w_b y_b >= n·Σ cost(c) x_c,   Σ cost(c) x_c <= B,   Σ y_b >= 1,   x, y binary

needs no big-M and is necessary for a violation in the interval (every member must strictly
gain from T); for a single level it is exact. So: solve the whole interval; infeasible proves
FJR on it; a solution T is re-checked exactly (:func:`fjr_test`, best β for that T) and, if it
is no violation, the interval is split in two (branch and bound over levels). Each model also
carries gain rows (a member must gain th_b − u_b(W) from T ∖ W, :func:`_gain_rows`), and its LP
relaxation is solved first (HiGHS dual simplex, devex pricing): infeasible already proves the
interval. Levels are pruned
before any solve by w(E)·B >= n·mincost(β) (cost utility: mincost = β, as u = cost; cardinality:
the cheapest β projects of some eligible class). A ``time_limit`` that runs out leaves the
verdict inconclusive (witness flag, never a guessed verdict).

Reductions of one interval model (:func:`_reduce`), each keeping every violation of the
interval feasible, so an infeasible reduced model still proves FJR on the interval:

* WLOG T ⊆ ∪_{b ∈ S} A_b (a project no member approves can be dropped: cost falls, members'
  utilities stay), so only projects approved by an eligible class are variables; and every
  c ∈ T has cost(c) <= cost(T) <= B·w(S)/n <= B·w(E)/n.
* A member b needs u_b(T) >= th_b and, as T ∩ W gives it at most u_b(W), u_b(T ∖ W) >=
  th_b − u_b(W); with T inside the surviving projects, a class that cannot reach both with all
  of them is no member. Dropping classes lowers w(E) and may drop projects: iterate to a
  fixpoint (each round only removes, so it ends).
* A member also needs cost(T) >= th_b (cost utility: u_b(T) = cost(A_b ∩ T)) or >= the cost of
  its th_b cheapest candidates (cardinality), and cost(T) <= B·w(E)/n.
* Classes with the same (A_b ∩ cand, u_b(W)) have the same th_b, coverage and gain rows; they
  merge into one variable y_K of summed weight w_K, and the two models are equivalent: from
  an unmerged solution take y_K = max_{b ∈ K} y_b (K's row is the row of a b with y_b = 1,
  Σ_K w_K y_K >= Σ_b w_b y_b keeps the size row, Σ y >= 1 stays); from a merged one set
  y_b = y_K on K (same rows, same total weight). The MILP only hands T on to the exact
  re-check, so no group is read off the merged y.

Before any MILP, :func:`_search` looks for a violation directly: every single project T = {c}
(one vectorised pass), then a bounded best-improvement local search over T (add or drop one
project) from the most promising singletons. It only ever returns a T that the exact check
:func:`fjr_test` confirms, so it changes running time, never a verdict [F].
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from fairsim.axioms import Verdict
from fairsim.axioms._budgeting_common import Profile, money_delta
from fairsim.axioms._budgeting_expost import _witness, candidates, fjr_test, utility_of_w

#: number of level intervals the branch and bound starts from (when there are many levels).
CHUNKS = 4
#: no-good cuts per level before a level is left open.
MAX_CUTS = 20
#: up to this many levels, each level gets its own exact MILP.
FEW_LEVELS = 24
#: local-search work of :func:`_search`, in class-utility updates (about 0.1 s per 10^7).
SEARCH_WORK = 4 * 10**7
#: singletons the local search starts from.
SEARCH_STARTS = 4
#: HiGHS options of the LP pre-check.
LP_OPTIONS = {"simplex_dual_edge_weight_strategy": "devex"}
#: interval MILPs with more (merged) classes than this run without HiGHS' presolve: on such
#: tall models it ran past the time limit (Warszawa 2026, MES cost, β in [1.93M, 4.22M],
#: 34,844 classes: 110 s at a 28 s limit, no solution; without it a solution in 4.6 s), while
#: on the district files (<= 15,000 classes) it pays off (sum over all files 23 s vs 32 s) [F].
NO_PRESOLVE_CLASSES = 20_000


def _cheapest(P: Profile, cand: np.ndarray) -> np.ndarray:
    """(k, |cand|+1): column j is the cost of the j cheapest approved candidates (inf if fewer)."""
    C = np.where(P.A[:, cand], P.costs[cand][None, :], np.inf)
    C.sort(axis=1)
    return np.concatenate([np.zeros((C.shape[0], 1)), np.cumsum(C, axis=1)], axis=1)


def levels(P: Profile, uW: np.ndarray, cheap: np.ndarray | None = None) -> list[float]:
    """Values v of u_b(W) whose level β = v + δ survives the cost pruning (increasing).

    Class b is eligible at v iff u_b(W) <= v (+utol) and u(A_b ∩ cand) >= v + δ (−utol): an
    interval of the sorted values, so w(E) for every level comes from one difference array;
    the interval is widened by a rounding margin (pruning less is always safe)."""
    d = money_delta(P)
    cand = candidates(P)
    U = (P.A[:, cand] * P.u[cand]).sum(axis=1)
    V = np.unique(uW)
    if V.size == 0:
        return []
    eps = 1e-12 * max(1.0, float(np.abs(V).max()), float(U.max(initial=0.0)))
    lo = np.searchsorted(V, uW - P.utol - eps, side="left")
    hi = np.searchsorted(V, U - d + P.utol + eps, side="right")
    ok = hi > lo
    wE = np.zeros(V.size + 1)
    cnt = np.zeros(V.size + 1)
    np.add.at(wE, lo[ok], P.w[ok])
    np.add.at(wE, hi[ok], -P.w[ok])
    np.add.at(cnt, lo[ok], 1.0)
    np.add.at(cnt, hi[ok], -1.0)
    wE, cnt = np.cumsum(wE)[:-1], np.cumsum(cnt)[:-1]
    betas = V + d
    if P.utility == "cost":
        need = betas.copy()
    else:
        need = np.full(V.size, np.inf)
        S = _cheapest(P, cand) if cheap is None else cheap
        for i in np.flatnonzero(cnt > 0.5):
            k = int(round(betas[i]))
            if k < S.shape[1]:
                inE = (lo <= i) & (i < hi)
                need[i] = float(S[inE, k].min())
    keep = (
        (cnt > 0.5)
        & (need <= P.budget * (1 + 1e-12))
        & (wE * P.budget >= P.n * need - P.tol - 1e-9 * np.abs(wE) * P.budget)
    )
    return [float(v) for v in V[keep]]


def _search(P: Profile, uW: np.ndarray, Wm: np.ndarray) -> dict[str, Any] | None:
    """A violation found by singletons and a bounded local search, or None (module docstring)."""
    cand = candidates(P)
    if cand.size == 0 or P.n <= 0:
        return None
    cap = P.budget + P.tol / max(1.0, P.n)
    # singletons: the supporters of c below u(c) form the heaviest group for T = {c}
    low = P.A[:, cand] & (uW[:, None] < P.u[cand][None, :] - P.utol)
    wt = P.w @ low
    cost1 = P.costs[cand]
    ratio = np.where(cost1 > 0, wt * P.budget / np.maximum(P.n * cost1, 1e-300), np.inf)
    ratio[(cost1 > cap) | (wt <= 0)] = -np.inf
    U = P.A[:, cand] * P.u[cand][None, :]  # (k, |cand|)

    def check(T: np.ndarray, uT: np.ndarray) -> tuple[float, dict[str, Any] | None]:
        cost = float(P.costs[cand[T]].sum())
        if cost > cap:
            return -np.inf, None
        s, beta, G = fjr_test(P, uW, uT, cost)
        if G is not None and G.size and P.big_enough(float(P.w[G].sum()), cost):
            # confirm on utilities summed afresh (the search updates uT incrementally)
            s, beta, G = fjr_test(P, uW, U[:, T].sum(axis=1), cost)
            if G is None or not G.size or not P.big_enough(float(P.w[G].sum()), cost):
                return -s, None
            found = _witness(P, G, cand[T], beta, float(P.w[G].sum()), cost)
            found["slack"] = s
            return -s, found
        return -s, None

    budget = max(50, SEARCH_WORK // max(1, P.A.shape[0]))
    for j in np.argsort(-ratio, kind="stable")[:SEARCH_STARTS]:
        if ratio[j] == -np.inf:  # +inf: a free project
            break
        x = np.zeros(cand.size, dtype=bool)
        x[j] = True
        uT = U[:, j].copy()
        cur, found = check(np.flatnonzero(x), uT)
        while found is None and budget > 0:
            best, arg = cur, -1
            for c in range(cand.size):
                budget -= 1
                x[c] ^= True
                uT += U[:, c] if x[c] else -U[:, c]
                val, f = check(np.flatnonzero(x), uT)
                if f is not None:
                    return f
                x[c] ^= True
                uT += U[:, c] if x[c] else -U[:, c]
                if val > best + 1e-15:
                    best, arg = val, c
            if arg < 0:
                break
            x[arg] ^= True
            uT += U[:, arg] if x[arg] else -U[:, arg]
            cur = best
        if found is not None:
            return found
    return None


def _reduce(
    P: Profile,
    uW: np.ndarray,
    Wm: np.ndarray,
    th_all: np.ndarray,
    v_hi: float,
    cheap: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Eligible classes, candidate projects, merged rows of one interval (module docstring).

    Returns (E, cand, weight, rep): the surviving classes ``E``, projects ``cand``, and the
    merged classes as ``rep`` (one representative class each, indices into P) with ``weight``.
    ``cheap``: :func:`_cheapest` over all candidates (cardinality; computed if None)."""
    cand = candidates(P)
    E = np.flatnonzero(uW <= v_hi + P.utol)
    while True:
        if E.size == 0:
            return E, cand[:0], np.zeros(0), E
        # cost(T) <= B·w(E)/n, with the money tolerance of Profile.big_enough on top
        cap = P.budget * min(1.0, float(P.w[E].sum()) / P.n) + P.tol / max(1.0, P.n)
        keep_c = P.A[np.ix_(E, cand)].any(axis=0) & (P.costs[cand] <= cap)
        cand = cand[keep_c]
        if cand.size == 0:
            return E[:0], cand, np.zeros(0), E[:0]
        sub = P.A[np.ix_(E, cand)]
        uc = sub.astype(np.float64) * P.u[cand][None, :]  # (float BLAS, not bool @ float)
        reach = uc.sum(axis=1)
        gain = uc[:, ~Wm[cand]].sum(axis=1)
        th = th_all[E]
        keep_b = (reach >= th - P.utol) & (gain >= th - uW[E] - P.utol)
        if P.utility == "cost":  # cost(T) >= u_b(T) >= th_b
            keep_b &= th <= cap + P.utol
        else:  # cost(T) >= its th_b cheapest approved candidates (over all candidates: a
            # dropped project costs > cap, so it changes this sum only when it exceeds cap)
            if cheap is None:
                cheap = _cheapest(P, candidates(P))
            k = np.minimum(np.ceil(th - P.utol).astype(np.int64), cheap.shape[1] - 1)
            keep_b &= cheap[E, k] <= cap
        if keep_b.all() and keep_c.all():
            break
        E = E[keep_b]
    # merge classes with identical (A_b ∩ cand, u_b(W))
    key = np.ascontiguousarray(
        np.concatenate(
            [np.packbits(P.A[np.ix_(E, cand)], axis=1), uW[E][:, None].view(np.uint8)], axis=1
        )
    )
    key1 = key.view(np.dtype((np.void, key.shape[1]))).ravel()
    _, first, inv = np.unique(key1, return_index=True, return_inverse=True)
    weight = np.zeros(first.size)
    np.add.at(weight, inv.ravel(), P.w[E])
    return E, cand, weight, E[first]


def _gain_rows(
    P: Profile, Wm: np.ndarray, uW: np.ndarray, E: np.ndarray, cand: np.ndarray, th: np.ndarray
) -> Any:
    """Gain rows g_b·y_b <= Σ_{c ∈ (A_b ∩ cand) ∖ W} min(u(c), g_b)·x_c, g_b = th_b − u_b(W) > 0.

    Validity: a member has u_b(T) >= th_b, and T ∩ W gives it at most u_b(W), so the projects
    of T ∖ W in A_b give it at least g_b; capping each coefficient at g_b keeps that true (one
    project worth >= g_b already suffices). Without them the LP relaxation takes T ⊆ W, which
    gains no member anything, with fractional y_b = u_b(T)/th_b close to 1, and HiGHS spends
    its time on cuts (Amsterdam 621: 30 s at the root) [F]."""
    from scipy import sparse

    g = th - uW[E]
    out = ~Wm[cand]
    sub = P.A[np.ix_(E, cand)] & out[None, :]
    coef = np.minimum(P.u[cand][None, :], g[:, None]) * sub / g[:, None]
    return sparse.hstack(
        [sparse.csr_matrix(-coef), sparse.identity(E.size, format="csr")], format="csr"
    )


def _interval_milp(
    P: Profile,
    uW: np.ndarray,
    beta_lo: float,
    v_hi: float,
    time_limit: float,
    cuts: list[np.ndarray] | None = None,
    Wm: np.ndarray | None = None,
    cheap: np.ndarray | None = None,
) -> tuple[str, np.ndarray | None]:
    """Solve the relaxation of one interval; ("feasible", x) | ("infeasible", None) |
    ("timeout", None). With ``Wm`` (the outcome) the gain rows of :func:`_gain_rows` are added."""
    from scipy import sparse
    from scipy.optimize import Bounds, LinearConstraint, linprog, milp

    d = money_delta(P)
    th_all = np.maximum(beta_lo, uW + d)
    Wmask = Wm if Wm is not None else np.zeros(P.costs.size, dtype=bool)
    _, cand, wk, E = _reduce(P, uW, Wmask, th_all, v_hi, cheap)
    if E.size == 0 or cand.size == 0:
        return "infeasible", None
    th = th_all[E]
    mx, k = cand.size, E.size
    cs = P.costs[cand] / P.budget  # money scaled by B
    # coverage rows scaled by the class threshold: y_b <= Σ (u(c)/th_b) x_c
    sub = P.A[np.ix_(E, cand)].astype(np.float64) * P.u[cand][None, :] / th[:, None]
    cov = sparse.hstack([sparse.csr_matrix(-sub), sparse.identity(k)], format="csr")
    if Wm is not None:
        cov = sparse.vstack([cov, _gain_rows(P, Wm, uW, E, cand, th)], format="csr")
    size = np.concatenate([cs, -wk / P.n])
    bud = np.concatenate([cs, np.zeros(k)])
    one = np.concatenate([np.zeros(mx), np.ones(k)])
    dense = [size, bud, one]
    lo_l, hi_l = [-np.inf, -np.inf, 1.0], [1e-12, 1.0 + 1e-12, np.inf]
    pos = {int(c): j for j, c in enumerate(cand)}
    for T in cuts or []:  # no-good cuts: exclude project sets the exact re-check rejected
        if all(int(c) in pos for c in T):
            row = np.zeros(mx + k)
            row[:mx] = -1.0
            row[[pos[int(c)] for c in T]] = 1.0
            dense.append(row)
            lo_l.append(-np.inf)
            hi_l.append(len(T) - 1.0)
    Amat = sparse.vstack([cov, sparse.csr_matrix(np.vstack(dense))], format="csr")
    nc = cov.shape[0]
    lo = np.concatenate([np.full(nc, -np.inf), lo_l])
    hi = np.concatenate([np.zeros(nc), hi_l])
    t0 = time.perf_counter()
    obj = np.concatenate([cs, -wk / P.n])  # prefer heavy groups and cheap T [F]
    cons = LinearConstraint(Amat, lo, hi)
    box = Bounds(np.zeros(mx + k), np.ones(mx + k))
    if Wm is not None:
        # with the gain rows the LP relaxation alone often proves the interval infeasible,
        # far faster than HiGHS' MIP presolve (Amsterdam 621: 11 s instead of 60 s); dual
        # simplex with devex pricing solves these tall LPs 2.5x faster than HiGHS' default
        # (Warszawa 2026, cardinality level 5: 4.0 s instead of 10 s) [F]
        fu, fl = np.isfinite(hi), np.isfinite(lo)
        lp = linprog(
            obj,
            A_ub=sparse.vstack([Amat[fu], -Amat[fl]], format="csr"),
            b_ub=np.concatenate([hi[fu], -lo[fl]]),
            bounds=(0.0, 1.0),
            method="highs-ds",
            options={"time_limit": max(time_limit, 0.01), **LP_OPTIONS},
        )
        if lp.status == 2:
            return "infeasible", None
        time_limit -= time.perf_counter() - t0
        if time_limit <= 0:
            return "timeout", None
    res = milp(
        obj,
        constraints=cons,
        integrality=np.ones(mx + k),
        bounds=box,
        options={
            "time_limit": max(time_limit, 0.01),
            "mip_rel_gap": 1.0,
            "presolve": k <= NO_PRESOLVE_CLASSES,
        },
    )
    if res.x is not None:
        x = np.zeros(P.costs.size)
        x[cand] = np.asarray(res.x[:mx])
        return "feasible", x
    if res.status == 2:  # proven infeasible
        return "infeasible", None
    return "timeout", None


def fjr_levels(P: Profile, Wm: np.ndarray, time_limit: float) -> Verdict:
    """Exact FJR by branch and bound over level intervals; inconclusive if time runs out."""
    t0 = time.perf_counter()
    uW = utility_of_w(P, Wm)
    hit = _search(P, uW, Wm)
    if hit is not None:
        s = float(hit.pop("slack"))
        hit.update(levels=0, milps=0)
        return Verdict("fjr", False, hit, s)
    cheap = _cheapest(P, candidates(P)) if P.utility == "cardinality" else None
    lv = levels(P, uW, cheap)
    d = money_delta(P)
    # wide intervals relax too much, narrow ones cost a MILP each: start from single levels
    # when there are few, else from CHUNKS pieces (measured on Warszawa 2018 Wawer) [F]
    size = 1 if len(lv) <= FEW_LEVELS else -(-len(lv) // CHUNKS)
    stack = [(a, min(a + size, len(lv)) - 1) for a in range(0, len(lv), size)][::-1]
    open_: list[tuple[int, int]] = []
    cuts: dict[int, list[np.ndarray]] = {}
    solves = 0
    while stack:
        i, j = stack.pop()
        left = time_limit - (time.perf_counter() - t0)
        if left <= 0:
            open_.append((i, j))
            continue
        status, x = _interval_milp(
            P, uW, lv[i] + d, lv[j], left, cuts.get(i) if i == j else None, Wm, cheap
        )
        solves += 1
        if status == "infeasible":
            continue
        if status == "timeout" or x is None:
            open_.append((i, j))
            continue
        T = np.flatnonzero(x > 0.5)
        cost = float(P.costs[T].sum())
        uT = (P.A * P.u)[:, T].sum(axis=1)
        s, b_, G = fjr_test(P, uW, uT, cost)
        if G is not None and cost <= P.budget + P.tol / max(1.0, P.n):
            wg = float(P.w[G].sum())
            if P.big_enough(wg, cost):
                found = _witness(P, G, T, b_, wg, cost)
                found.update(levels=len(lv), milps=solves)
                return Verdict("fjr", False, found, s)
        if i == j:  # exact level: the solution failed the exact re-check only by float noise;
            cuts.setdefault(i, []).append(T)  # exclude it and solve the level again
            if len(cuts[i]) > MAX_CUTS:
                open_.append((i, j))
            else:
                stack.append((i, j))
            continue
        mid = (i + j) // 2
        stack += [(mid + 1, j), (i, mid)]
    if open_:
        wit: dict[str, Any] = {
            "voters": [],
            "projects": [],
            "beta": float(lv[min(a for a, _ in open_)] + d),
            "group_weight": 0.0,
            "required": 0.0,
            "inconclusive": True,
            "levels": len(lv),
            "milps": solves,
            "open_levels": int(sum(b - a + 1 for a, b in open_)),
            "open_beta_range": [
                float(lv[min(a for a, _ in open_)] + d),
                float(lv[max(b for _, b in open_)] + d),
            ],
        }
        return Verdict("fjr", False, wit, 0.0, inconclusive=True)
    return Verdict("fjr", True, None, float("inf"))
