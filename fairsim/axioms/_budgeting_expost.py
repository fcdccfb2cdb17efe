"""Ex-post PB axiom kernels: JR, PJR, EJR, EJR-1, FJR by enumeration over project sets (spec §7).

Never loops over voter subsets: a depth-first search over project sets T in index order carries
the *live* ballot classes (they approve all of T and could still be under-represented at T or
an extension of it, see :func:`_dfs_cohesive`) and prunes as soon as they cannot afford T
(supersets have fewer live supporters and cost more). FJR (weak cohesiveness) prunes with an optimistic bound instead.
``_Limit`` is raised after ``limit`` visited sets so ``method="auto"`` can switch to the ILP.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from fairsim.axioms import Verdict
from fairsim.axioms._budgeting_common import Profile


class _Limit(Exception):
    """The enumeration visited more sets than allowed."""


class _Found(Exception):
    def __init__(self, witness: dict[str, Any], slack: float):
        self.witness = witness
        self.slack = slack


def utility_of_w(P: Profile, Wm: np.ndarray) -> np.ndarray:
    """u_b(W) for every class."""
    return P.A.astype(np.float64) @ (P.u * Wm)


def candidates(P: Profile) -> np.ndarray:
    """Projects that may belong to T: approved by someone and of positive utility."""
    return np.flatnonzero(P.A.any(axis=0) & (P.u > 0))


def _slack(P: Profile, weight: float, cost: float) -> float:
    return (P.n * cost - P.budget * weight) / (P.n * P.budget)


def _witness(P: Profile, G: Any, T: Any, beta: float, weight: float, cost: float) -> dict[str, Any]:
    return {
        "voters": P.voters(G),
        "projects": [P.ids[int(c)] for c in T],
        "beta": float(beta),
        "group_weight": float(weight),
        "required": float(P.n * cost / P.budget),
    }


def jr(P: Profile, Wm: np.ndarray, variant: str) -> Verdict:
    """JR, O(nnz): per project c, the unrepresented supporters must not afford {c} (§7)."""
    uW = utility_of_w(P, Wm)
    covered = (P.A & Wm).any(axis=1)
    slack = float("inf")
    for c in candidates(P):
        sup = P.A[:, c]
        bad = sup & (~covered if variant == "positive" else uW < P.u[c] - P.utol)
        G = np.flatnonzero(bad)
        wg = float(P.w[G].sum())
        s = _slack(P, wg, P.costs[c])
        slack = min(slack, s)
        if G.size and P.big_enough(wg, P.costs[c]):
            return Verdict("jr", False, _witness(P, G, [c], P.u[c], wg, P.costs[c]), s)
    return Verdict("jr", True, None, slack)


def _dfs_cohesive(
    P: Profile,
    Wm: np.ndarray,
    visit: Callable[[list[int], np.ndarray, float, float], None],
    limit: int,
) -> float:
    """Visit every T (index order) whose *live* common supporters can afford it.

    A class b is live at T (added up to candidate position ``pos``) if it could still belong to
    an EJR/PJR violation at T or at an extension T' ⊇ T by later candidates: it approves T
    (T' ⊆ A_b), and u_b(W) < u(T) + u(A_b ∩ later candidates), an upper bound on u(T'). With
    cost utility also u_b(W) < w(live)·B/n, since a violating group S ⊆ live has
    u(T') = cost(T') <= w(S)·B/n. T and its subtree are pruned when the live classes cannot
    afford T (w(live)·B < n·cost(T); extensions cost more and have fewer live classes). Every
    violating group of EJR, EJR-1 and PJR at T is a subset of its live classes (its members
    have u_b(W) < u(T)), so ``visit`` receives the live classes in place of supp(T) [D].

    Returns a lower bound on the slack of the pruned sets: (n·cost(T) − B·w(live))/(n·B) at
    each pruned T with live classes (their violating groups weigh at most w(live)).
    """
    cand = candidates(P)
    uW = utility_of_w(P, Wm)
    # suf[pos, b] = u(A_b ∩ cand[pos:])
    U = P.A[:, cand] * P.u[cand]
    suf = np.zeros((cand.size + 1, P.A.shape[0]))
    if cand.size:
        suf[:-1] = np.cumsum(U[:, ::-1], axis=1)[:, ::-1].T
    scale = P.budget / P.n
    count = 0
    bound = float("inf")

    def rec(start: int, T: list[int], live: np.ndarray, cost: float, uT: float) -> None:
        nonlocal count, bound
        for pos in range(start, cand.size):
            c = int(cand[pos])
            s2 = live[P.A[live, c]]
            if s2.size == 0:
                continue
            cost2 = cost + P.costs[c]
            u2 = uT + P.u[c]
            s2 = s2[uW[s2] < u2 + suf[pos + 1, s2] - P.utol]
            if P.utility == "cost" and s2.size:
                cap = float(P.w[s2].sum()) * scale
                s2 = s2[uW[s2] < cap + P.utol + P.tol / P.n]
            if s2.size == 0:
                continue
            wl = float(P.w[s2].sum())
            if not P.big_enough(wl, cost2):
                bound = min(bound, _slack(P, wl, cost2))
                continue
            count += 1
            if count > limit:
                raise _Limit
            T.append(c)
            visit(T, s2, cost2, u2)
            rec(pos + 1, T, s2, cost2, u2)
            T.pop()

    rec(0, [], np.arange(P.A.shape[0]), 0.0, 0.0)
    return bound


def ejr_enum(P: Profile, Wm: np.ndarray, variant: str | None, limit: int, name: str) -> Verdict:
    """EJR (variant None) or EJR-1 (``"strict"``/``"pabutools"``) by cohesive-set search."""
    uW = utility_of_w(P, Wm)
    best = [float("inf")]

    def visit(T: list[int], supp: np.ndarray, cost: float, uT: float) -> None:
        below = uW[supp] < uT - P.utol
        if variant is not None:
            outside = [c for c in T if not Wm[c]]
            top = max((P.u[c] for c in outside), default=0.0)
            if variant == "strict":
                below &= uW[supp] + top <= uT + P.utol
            else:
                below &= uW[supp] + top < uT - P.utol
        G = supp[below]
        wg = float(P.w[G].sum())
        s = _slack(P, wg, cost)
        best[0] = min(best[0], s)
        if G.size and P.big_enough(wg, cost):
            raise _Found(_witness(P, G, T, uT, wg, cost), s)

    try:
        best[0] = min(best[0], _dfs_cohesive(P, Wm, visit, limit))
    except _Found as f:
        return Verdict(name, False, f.witness, f.slack)
    return Verdict(name, True, None, best[0])


def pjr_enum(P: Profile, Wm: np.ndarray, limit: int) -> Verdict:
    """PJR by cohesive-set search: at each T, the heaviest group of live supporters with
    u_b(W) < u(T) whose union covers u(W ∩ ∪_S A_b) < u(T) (:func:`heaviest_cover`)."""
    from fairsim.axioms._budgeting_pjr import Inconclusive, heaviest_cover

    uW = utility_of_w(P, Wm)
    best = [float("inf")]

    def visit(T: list[int], live: np.ndarray, cost: float, uT: float) -> None:
        E = live[uW[live] < uT - P.utol]
        wE = float(P.w[E].sum())
        if E.size == 0 or not P.big_enough(wE, cost):
            best[0] = min(best[0], _slack(P, wE, cost))
            return
        wg, G = heaviest_cover(P, Wm, E, uT)
        s = _slack(P, wg, cost)
        best[0] = min(best[0], s)
        if P.big_enough(wg, cost):
            raise _Found(_witness(P, G, T, uT, wg, cost), s)

    try:
        best[0] = min(best[0], _dfs_cohesive(P, Wm, visit, limit))
    except _Found as f:
        return Verdict("pjr", False, f.witness, f.slack)
    except Inconclusive:
        wit = {"voters": [], "projects": [], "beta": 0.0, "group_weight": 0.0, "required": 0.0}
        wit["inconclusive"] = True
        return Verdict("pjr", False, wit, 0.0, inconclusive=True)
    return Verdict("pjr", True, None, best[0])


def fjr_test(P: Profile, uW: np.ndarray, uT: np.ndarray, cost: float) -> tuple[float, float, Any]:
    """Best β for a fixed T: returns (slack, beta, group) of the heaviest weakly cohesive group.

    For β the group is {b : u_b(T) >= β > u_b(W)}; its weight is W_T(>= β) − W_W(>= β) over the
    classes with u_b(T) > u_b(W), evaluated at every distinct u_b(T) by sorted cumulative sums.
    """
    cand = np.flatnonzero((uT > uW + P.utol) & (uT > 0))
    if cand.size == 0:
        return float("inf"), 0.0, None
    t, wv, ww = uT[cand], uW[cand], P.w[cand]
    ot, ow = np.argsort(t), np.argsort(wv)
    ts, ws = t[ot], wv[ow]
    tail_t = np.concatenate([np.cumsum(ww[ot][::-1])[::-1], [0.0]])
    tail_w = np.concatenate([np.cumsum(ww[ow][::-1])[::-1], [0.0]])
    betas = np.unique(ts)
    weight = (
        tail_t[np.searchsorted(ts, betas - P.utol, side="left")]
        - tail_w[np.searchsorted(ws, betas - P.utol, side="left")]
    )
    i = int(np.argmax(weight))
    beta = float(betas[i])
    G = cand[(t >= beta - P.utol) & (wv < beta - P.utol)]
    return _slack(P, float(P.w[G].sum()), cost), beta, G


def fjr_enum(P: Profile, Wm: np.ndarray, limit: int) -> Verdict:
    """FJR: search T with cost(T) <= B; prune when even T ∪ (rest) cannot build a big group."""
    uW = utility_of_w(P, Wm)
    cand = candidates(P)
    U = P.A * P.u  # (k, m) class utilities per project
    suffix = np.zeros((cand.size + 1, P.A.shape[0]))
    for pos in range(cand.size - 1, -1, -1):
        suffix[pos] = suffix[pos + 1] + U[:, cand[pos]]
    count = 0
    slack = float("inf")

    def rec(start: int, T: list[int], uT: np.ndarray, cost: float) -> None:
        nonlocal count, slack
        for pos in range(start, cand.size):
            c = int(cand[pos])
            cost2 = cost + P.costs[c]
            if cost2 > P.budget + P.tol / max(1.0, P.n):
                continue
            uT2 = uT + U[:, c]
            optimistic = float(P.w[uT2 + suffix[pos + 1] > uW + P.utol].sum())
            if not P.big_enough(optimistic, cost2):
                continue
            count += 1
            if count > limit:
                raise _Limit
            T.append(c)
            s, beta, G = fjr_test(P, uW, uT2, cost2)
            slack = min(slack, s)
            if G is not None and G.size and P.big_enough(float(P.w[G].sum()), cost2):
                raise _Found(_witness(P, G, T, beta, float(P.w[G].sum()), cost2), s)
            rec(pos + 1, T, uT2, cost2)
            T.pop()

    try:
        rec(0, [], np.zeros(P.A.shape[0]), 0.0)
    except _Found as f:
        return Verdict("fjr", False, f.witness, f.slack)
    return Verdict("fjr", True, None, slack)
