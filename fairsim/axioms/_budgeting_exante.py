"""Ex-ante fair-share kernels (spec §6.3 [F]) and the BB1 check of lotteries (§6.4 [F])."""

from __future__ import annotations

from typing import Any

import numpy as np

from fairsim.axioms import Verdict
from fairsim.axioms._budgeting_common import Profile, knapsack_opt
from fairsim.axioms._budgeting_expost import _Limit


def _eps(P: Profile) -> float:
    return 1e-9 * max(1.0, P.budget)


def _class_check(P: Profile, name: str, left: np.ndarray, right: np.ndarray) -> Verdict:
    gap = left - right
    nonempty = P.A.any(axis=1)
    if not nonempty.any():
        return Verdict(name, True, None, float("inf"))
    gap = np.where(nonempty, gap, np.inf)
    b = int(np.argmin(gap))
    slack = float(gap[b])
    if slack >= -_eps(P):
        return Verdict(name, True, None, slack)
    wit = {
        "voters": P.voters([b]),
        "projects": [P.ids[c] for c in np.flatnonzero(P.A[b])],
        "beta": float(left[b]),
        "group_weight": float(P.w[b]),
        "required": float(right[b]),
    }
    return Verdict(name, False, wit, slack)


def ifs(P: Profile, p: np.ndarray, variant: str) -> Verdict:
    """IFS: spend_i(p) >= min(B/n, cost(A_i)); ``"utility"``: Σ_{A_i} p_c >= OPT(A_i, B/n)."""
    share = P.budget / P.n
    if variant == "spending":
        left = P.A.astype(np.float64) @ (p * P.costs)
        right = np.minimum(share, P.A.astype(np.float64) @ P.costs)
    else:
        left = P.A.astype(np.float64) @ p
        right = np.array([knapsack_opt(P.costs, P.ids, row, share) for row in P.A])
    return _class_check(P, "ifs", left, right)


def ufs(P: Profile, p: np.ndarray, strong: bool) -> Verdict:
    """UFS per ballot class (spending) or Strong UFS (Σ_{A_z} p_c >= OPT(A_z, share(z)))."""
    shares = P.w * P.budget / P.n
    if not strong:
        left = P.A.astype(np.float64) @ (p * P.costs)
        right = np.minimum(shares, P.A.astype(np.float64) @ P.costs)
        return _class_check(P, "ufs", left, right)
    left = P.A.astype(np.float64) @ p
    right = np.array(
        [knapsack_opt(P.costs, P.ids, row, s) for row, s in zip(P.A, shares, strict=True)]
    )
    return _class_check(P, "strong_ufs", left, right)


def gfs_enum(P: Profile, p: np.ndarray, limit: int) -> tuple[float, np.ndarray]:
    """Max gap over unions U ⊆ approved projects, with S_U = {b : A_b ⊆ U} (spec §7)."""
    approved = np.flatnonzero(P.A.any(axis=0))
    if approved.size > 62 or (1 << approved.size) > limit:
        raise _Limit
    nonempty = np.flatnonzero(P.A.any(axis=1))
    cls_mask = np.array(
        [sum(1 << j for j, c in enumerate(approved) if P.A[b, c]) for b in nonempty], dtype=np.int64
    )
    spend = p[approved] * P.costs[approved]
    best, best_g = -np.inf, np.array([], dtype=np.int64)
    for U in range(1, 1 << approved.size):
        inside = (cls_mask & ~U) == 0
        if not inside.any():
            continue
        G = nonempty[inside]
        union = int(np.bitwise_or.reduce(cls_mask[inside]))
        if union != U:
            continue  # the group's union is a smaller set, visited separately
        sel = np.array([(U >> j) & 1 for j in range(approved.size)], dtype=bool)
        need = min(float(P.w[G].sum()) * P.budget / P.n, float(P.costs[approved][sel].sum()))
        gap = need - float(spend[sel].sum())
        if gap > best:
            best, best_g = gap, G
    return best, best_g


def gfs_need(P: Profile, G: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """(required, spent) of group G: min(share(G), cost(U_G)) and Σ_{U_G} p_c cost(c)."""
    union = P.A[G].any(axis=0)
    need = min(float(P.w[G].sum()) * P.budget / P.n, float(P.costs[union].sum()))
    return need, float((p * P.costs)[union].sum())


def gfs_verdict(P: Profile, gap: float, G: np.ndarray, p: np.ndarray) -> Verdict:
    if G.size == 0 or gap <= _eps(P):
        return Verdict("gfs", True, None, -gap if np.isfinite(gap) else float("inf"))
    need, spent = gfs_need(P, G, p)
    wit = {
        "voters": P.voters(G),
        "projects": [P.ids[c] for c in np.flatnonzero(P.A[G].any(axis=0))],
        "beta": spent,
        "group_weight": float(P.w[G].sum()),
        "required": need,
    }
    return Verdict("gfs", False, wit, -gap)


def bb1(
    support: list[tuple[Any, list[int]]], costs: np.ndarray, t: float, sided: str, budget: float
) -> Verdict:
    """BB1 (§6.4): each support set overshoots t by less than one project and undershoots likewise."""
    eps = 1e-9 * max(1.0, budget)
    m = costs.size
    slack = float("inf")
    for prob, idx in support:
        mask = np.zeros(m, dtype=bool)
        mask[idx] = True
        cw = float(costs[mask].sum())
        checks = []
        if sided in ("two", "over"):
            top = float(costs[mask].max()) if mask.any() else 0.0
            checks.append(("over", max(t - cw, t - (cw - top))))
        if sided in ("two", "under"):
            top = float(costs[~mask].max()) if (~mask).any() else 0.0
            checks.append(("under", max(cw - t, cw + top - t)))
        for side, s in checks:
            slack = min(slack, s)
            if s < -eps:
                wit = {
                    "voters": [],
                    "projects": sorted(int(c) for c in idx),
                    "beta": cw,
                    "group_weight": float(prob),
                    "required": t,
                    "side": side,
                }
                return Verdict("bb1", False, wit, s)
    return Verdict("bb1", True, None, slack)
