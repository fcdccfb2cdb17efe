"""Priceability of a PB outcome as one linear programme (spec ``budgeting.md`` §6.2).

Peters & Skowron, EC 2020 (arXiv 1911.11747), in the PB form of spec §6.2: a voter budget
b >= B/n and payments p_z(c) >= 0 per ballot class z (per member), positive only on A_z ∩ W, with

* (budget)    Σ_c p_z(c) <= b for every class z;
* (pay)       Σ_z w_z p_z(c) = cost(c) for every c ∈ W;
* (leftover)  Σ_{z ∈ N_c} w_z (b − Σ_{c'} p_z(c')) <= cost(c) for every c ∉ W.

The leftover row is linear in (b, p), so the whole system is an LP. It is solved once, as the
phase-1 relaxation "minimise the total violation" (one non-negative slack per row, two on the
equalities), with HiGHS through :func:`scipy.optimize.linprog`. Optimum 0 (within tolerance):
priceable, the LP point is a price system. Positive optimum: not priceable, and the optimum is
the least total relaxation (in money) that would make it so, a certificate with the same weight
as a Farkas ray; the witness names the most relaxed rows [F]. A class's budget row counts
with the class weight, so the relaxation is the same before and after ``compress()``. Money is scaled by n/B (so
b >= 1) for conditioning.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fairsim.axioms import Verdict
from fairsim.axioms._budgeting_common import Profile


def _rel_tol(P: Profile) -> float:
    """Tolerance of the scaled LP on the total relaxation (money units of B/n) [F]."""
    return 1e-7 * max(1.0, float(P.costs.sum()) * P.n / P.budget) ** 0.5


def solve(P: Profile, Wm: np.ndarray) -> dict[str, Any]:
    """Phase-1 LP; returns b, per-class payments (k, m), the total and per-row relaxations."""
    from scipy import sparse
    from scipy.optimize import linprog

    k, m = P.A.shape
    scale = P.n / P.budget
    cost = P.costs * scale
    w = P.w
    Wi = np.flatnonzero(Wm)
    Oi = np.flatnonzero(~Wm & P.A.any(axis=0))
    # payment variables: one per (class, c) with c ∈ A_z ∩ W
    zz, cc = np.nonzero(P.A[:, Wi])
    cc = Wi[cc]
    npay = zz.size
    # columns: [b, p (npay), s_budget (k), s_pay+ (|W|), s_pay- (|W|), s_left (|O|), d (k)]
    # with d_z = Σ_c p_z(c) the spending of class z (keeps the leftover rows sparse)
    ib = 0
    ip = 1
    isb = ip + npay
    isp = isb + k
    ism = isp + Wi.size
    isl = ism + Wi.size
    isd = isl + Oi.size
    nvar = isd + k
    # budget rows: d_z - b - s_b <= 0
    r_b = sparse.csr_matrix(
        (
            np.concatenate([np.ones(k), -np.ones(k), -np.ones(k)]),
            (
                np.concatenate([np.arange(k), np.arange(k), np.arange(k)]),
                np.concatenate([isd + np.arange(k), np.full(k, ib), isb + np.arange(k)]),
            ),
        ),
        shape=(k, nvar),
    )
    # spending rows: Σ_c p_z(c) - d_z = 0
    r_d = sparse.csr_matrix(
        (
            np.concatenate([np.ones(npay), -np.ones(k)]),
            (
                np.concatenate([zz, np.arange(k)]),
                np.concatenate([ip + np.arange(npay), isd + np.arange(k)]),
            ),
        ),
        shape=(k, nvar),
    )
    # leftover rows for c ∉ W: b·s_c − Σ_{z∈N_c} w_z d_z − s_l <= cost(c)
    s_c = (P.A[:, Oi] * w[:, None]).sum(axis=0)
    head = sparse.csr_matrix(
        (
            np.concatenate([s_c, -np.ones(Oi.size)]),
            (
                np.concatenate([np.arange(Oi.size), np.arange(Oi.size)]),
                np.concatenate([np.full(Oi.size, ib), isl + np.arange(Oi.size)]),
            ),
        ),
        shape=(Oi.size, nvar),
    )
    sup_t = sparse.csr_matrix(P.A[:, Oi].T.astype(np.float64))  # (|O|, k)
    Z = sparse.csr_matrix((w, (np.arange(k), isd + np.arange(k))), shape=(k, nvar))
    r_l = (head - sup_t @ Z).tocsr()
    A_ub = sparse.vstack([r_b, r_l]).tocsr()
    b_ub = np.concatenate([np.zeros(k), cost[Oi]])
    # pay rows: Σ_z w_z p_z(c) + s+ − s− = cost(c)
    wcol = {int(c): j for j, c in enumerate(Wi)}
    jrow = np.array([wcol[int(c)] for c in cc], dtype=np.int64)
    r_e = sparse.csr_matrix(
        (
            np.concatenate([w[zz], np.ones(Wi.size), -np.ones(Wi.size)]),
            (
                np.concatenate([jrow, np.arange(Wi.size), np.arange(Wi.size)]),
                np.concatenate(
                    [ip + np.arange(npay), isp + np.arange(Wi.size), ism + np.arange(Wi.size)]
                ),
            ),
        ),
        shape=(Wi.size, nvar),
    )
    obj = np.zeros(nvar)
    obj[isb:isd] = 1.0
    obj[isb:isp] = w  # a budget row relaxes every member of the class
    lb = np.zeros(nvar)
    lb[ib] = 1.0
    res = linprog(
        obj,
        A_ub=A_ub,
        b_ub=b_ub,
        A_eq=sparse.vstack([r_e, r_d]).tocsr(),
        b_eq=np.concatenate([cost[Wi], np.zeros(k)]),
        bounds=np.column_stack([lb, np.full(nvar, np.inf)]),
        method="highs",
    )
    if res.status != 0 or res.x is None:  # pragma: no cover - the relaxed LP is always feasible
        raise RuntimeError(f"priceability LP failed: {res.message}")
    x = np.asarray(res.x)
    pay = np.zeros((k, m))
    pay[zz, cc] = x[ip : ip + npay] / scale
    return {
        "b": float(x[ib]) / scale,
        "payments": pay,
        "total": float(res.fun),
        "tol": _rel_tol(P),
        "s_budget": x[isb:isp],
        "s_pay": x[isp:ism] - x[ism:isl],
        "s_left": x[isl:isd],
        "W": Wi,
        "O": Oi,
        "scale": scale,
    }


def verdict(P: Profile, sol: dict[str, Any]) -> Verdict:
    """Turn the phase-1 solution into a Verdict (slack = −total relaxation / B; 0 if priceable)."""
    total = sol["total"]
    if total <= sol["tol"]:
        return Verdict("priceable", True, None, 0.0)
    scale = sol["scale"]
    fam = {
        "budget": float(sol["s_budget"] @ P.w) / scale,
        "pay": float(np.abs(sol["s_pay"]).sum()) / scale,
        "leftover": float(sol["s_left"].sum()) / scale,
    }
    cands: list[tuple[float, str, list[int], list[int]]] = []
    if sol["s_budget"].size:
        z = int(np.argmax(sol["s_budget"] * P.w))
        cands.append((float(sol["s_budget"][z] * P.w[z]), "budget", P.voters([z]), []))
    if sol["s_pay"].size:
        j = int(np.argmax(np.abs(sol["s_pay"])))
        c = int(sol["W"][j])
        cands.append((float(abs(sol["s_pay"][j])), "pay", P.voters(np.flatnonzero(P.A[:, c])), [c]))
    if sol["s_left"].size:
        j = int(np.argmax(sol["s_left"]))
        c = int(sol["O"][j])
        cands.append(
            (float(sol["s_left"][j]), "leftover", P.voters(np.flatnonzero(P.A[:, c])), [c])
        )
    amount, family, voters, proj = max(cands, key=lambda t: t[0])
    wit = {
        "voters": voters,
        "projects": [P.ids[c] for c in proj],
        "beta": float(sol["b"]),
        "group_weight": float(P.w[P.row_class[voters]].sum()) if voters else 0.0,
        "required": float(amount / scale),
        "constraint": family,
        "relaxation": float(total / scale),
        "relaxation_by_family": fam,
    }
    return Verdict("priceable", False, wit, -float(total / scale) / P.budget)


def check_system(
    A: np.ndarray,
    w: np.ndarray,
    P: Profile,
    Wm: np.ndarray,
    b: float,
    pay: np.ndarray,
    tol: float,
) -> tuple[bool, str, float]:
    """Test a price system: voters ``A`` (r, m) with weights ``w`` paying ``pay`` (r, m) each.

    Returns (ok, first violated row family, its excess)."""
    if b < P.budget / P.n - tol:
        return False, "b >= B/n", P.budget / P.n - b
    if np.any(pay < -tol):
        return False, "payments >= 0", float(-pay.min())
    off = pay * ~(A & Wm[None, :])
    if np.any(np.abs(off) > tol):
        return False, "payments only on A_i ∩ W", float(np.abs(off).max())
    spent = pay.sum(axis=1)
    if np.any(spent > b + tol):
        return False, "budget", float((spent - b).max())
    got = w @ pay
    Wi = np.flatnonzero(Wm)
    err = np.abs(got[Wi] - P.costs[Wi])
    if err.size and err.max() > tol * max(1.0, P.n):
        return False, "pay", float(err.max())
    left = np.maximum(b - spent, 0.0) * w
    Oi = np.flatnonzero(~Wm)
    over = A[:, Oi].T.astype(np.float64) @ left - P.costs[Oi]
    if over.size and over.max() > tol * max(1.0, P.n):
        return False, "leftover", float(over.max())
    return True, "", 0.0
