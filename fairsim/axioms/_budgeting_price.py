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

Large LPs (Amsterdam 621: 9,750 ballot classes, 111k payment variables, 150 s by simplex) first
try HiGHS' first-order PDLP solver (highspy): its approximate point is repaired (payments >= 0,
each pay row made exact by rescaling, best b for the resulting spendings) and accepted only if
the repaired point's own total relaxation is within the same tolerance as the simplex verdict,
so "priceable" always comes with a checked price system.

Large LPs that PDLP does not settle, and mid-size ones that an exact one-row test
(:func:`_screen`) already finds not priceable (PDLP is then skipped), go through row generation
on class-merged LPs (:func:`solve`): a small LP keeping a few leftover rows, whose classes merge
exactly by (A_z ∩ W, A_z ∩ kept rows). Its point, copied back to the classes, is checked on
the full data ("priceable"); its duals give an exact rational lower bound on the least
relaxation over the full data (:func:`dual_bound`, "not priceable"). Warszawa 2026 greedy
(51,202 classes; the full simplex runs > 400 s) is settled in 4-14 s on 2 cores. When the row
generation does not converge within BOUND_AFTER_S seconds the witness's ``"relaxation"`` is
that certified lower bound (``"relaxation_exact": False``). A "not priceable" verdict thus
always rests on the simplex optimum of the full LP or on an exactly checked dual bound [F].
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from fairsim.axioms import Verdict
from fairsim.axioms._budgeting_common import Profile
from fairsim.axioms._budgeting_price_cert import _certify, dual_bound


def _rel_tol(P: Profile) -> float:
    """Tolerance of the scaled LP on the total relaxation (money units of B/n) [F]."""
    return 1e-7 * max(1.0, float(P.costs.sum()) * P.n / P.budget) ** 0.5


#: LPs with at least this many payment variables first try the PDLP certificate (fast path),
#: for at most PDLP_TIME_S seconds (a priceable LP is certified in a few; an infeasible one
#: would use the whole limit).
PDLP_MIN_PAY = 20_000
PDLP_TIME_S = 6.0


def _index(P: Profile, Wm: np.ndarray) -> dict[str, Any]:
    """Index arrays of the LP (payment variables, rows, scaled costs) without the matrices."""
    scale = P.n / P.budget
    Wi = np.flatnonzero(Wm)
    Oi = np.flatnonzero(~Wm & P.A.any(axis=0))
    # payment variables: one per (class, c) with c ∈ A_z ∩ W
    zz, cc = np.nonzero(P.A[:, Wi])
    return {
        "zz": zz,
        "cc": Wi[cc],
        "jrow": cc,
        "W": Wi,
        "O": Oi,
        "scale": scale,
        "cost": P.costs * scale,
        "s_c": (P.A[:, Oi] * P.w[:, None]).sum(axis=0),
    }


def _build(P: Profile, Wm: np.ndarray) -> dict[str, Any]:
    """The phase-1 LP in sparse form (columns and rows as described in the module docstring)."""
    from scipy import sparse

    k, m = P.A.shape
    L = _index(P, Wm)
    scale, cost, w = L["scale"], L["cost"], P.w
    Wi, Oi, zz, cc, s_c = L["W"], L["O"], L["zz"], L["cc"], L["s_c"]
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
    ar_k = np.arange(k)
    # budget rows: d_z - b - s_b <= 0
    r_b = sparse.csr_matrix(
        (
            np.concatenate([np.ones(k), -np.ones(k), -np.ones(k)]),
            (
                np.concatenate([ar_k, ar_k, ar_k]),
                np.concatenate([isd + ar_k, np.full(k, ib), isb + ar_k]),
            ),
        ),
        shape=(k, nvar),
    )
    # spending rows: Σ_c p_z(c) - d_z = 0
    r_d = sparse.csr_matrix(
        (
            np.concatenate([np.ones(npay), -np.ones(k)]),
            (np.concatenate([zz, ar_k]), np.concatenate([ip + np.arange(npay), isd + ar_k])),
        ),
        shape=(k, nvar),
    )
    # leftover rows for c ∉ W: b·s_c − Σ_{z∈N_c} w_z d_z − s_l <= cost(c)
    ar_o = np.arange(Oi.size)
    head = sparse.csr_matrix(
        (
            np.concatenate([s_c, -np.ones(Oi.size)]),
            (np.concatenate([ar_o, ar_o]), np.concatenate([np.full(Oi.size, ib), isl + ar_o])),
        ),
        shape=(Oi.size, nvar),
    )
    sup_t = sparse.csr_matrix(P.A[:, Oi].T.astype(np.float64))  # (|O|, k)
    Z = sparse.csr_matrix((w, (ar_k, isd + ar_k)), shape=(k, nvar))
    r_l = (head - sup_t @ Z).tocsr()
    # pay rows: Σ_z w_z p_z(c) + s+ − s− = cost(c)
    jrow = L["jrow"]
    ar_w = np.arange(Wi.size)
    r_e = sparse.csr_matrix(
        (
            np.concatenate([w[zz], np.ones(Wi.size), -np.ones(Wi.size)]),
            (
                np.concatenate([jrow, ar_w, ar_w]),
                np.concatenate([ip + np.arange(npay), isp + ar_w, ism + ar_w]),
            ),
        ),
        shape=(Wi.size, nvar),
    )
    obj = np.zeros(nvar)
    obj[isb:isd] = 1.0
    obj[isb:isp] = w  # a budget row relaxes every member of the class
    lb = np.zeros(nvar)
    lb[ib] = 1.0
    return {
        "obj": obj,
        "A_ub": sparse.vstack([r_b, r_l]).tocsr(),
        "b_ub": np.concatenate([np.zeros(k), cost[Oi]]),
        "A_eq": sparse.vstack([r_e, r_d]).tocsr(),
        "b_eq": np.concatenate([cost[Wi], np.zeros(k)]),
        "lb": lb,
        "zz": zz,
        "cc": cc,
        "jrow": jrow,
        "cols": (ib, ip, isb, isp, ism, isl, isd),
        "W": Wi,
        "O": Oi,
        "scale": scale,
        "cost": cost,
        "s_c": s_c,
    }


def _pdlp_point(L: dict[str, Any]) -> np.ndarray | None:
    """An approximate optimum of the LP by HiGHS' first-order PDLP solver (None if highspy is
    missing or PDLP fails). Only a starting point: :func:`_certificate` repairs and re-checks it."""
    try:
        import highspy
    except ImportError:  # pragma: no cover - highspy ships with cvxpy; simplex is the fallback
        return None
    from scipy import sparse

    A = sparse.vstack([L["A_ub"], L["A_eq"]]).tocsc()
    inf = highspy.kHighsInf
    n_ub = L["A_ub"].shape[0]
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = A.shape[1], A.shape[0]
    lp.col_cost_ = L["obj"]
    lp.col_lower_ = L["lb"]
    lp.col_upper_ = np.full(A.shape[1], inf)
    lp.row_lower_ = np.concatenate([np.full(n_ub, -inf), L["b_eq"]])
    lp.row_upper_ = np.concatenate([L["b_ub"], L["b_eq"]])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr
    lp.a_matrix_.index_ = A.indices
    lp.a_matrix_.value_ = A.data
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("solver", "pdlp")
    h.setOptionValue("time_limit", PDLP_TIME_S)
    h.passModel(lp)
    h.run()
    x = np.asarray(h.getSolution().col_value, dtype=np.float64)
    return x if x.size == A.shape[1] and np.all(np.isfinite(x)) else None


def _relaxation(P: Profile, L: dict[str, Any], b: float, pz: np.ndarray) -> dict[str, Any]:
    """Total relaxation (scaled money) of the point (b, payments pz per (class, c) variable)
    with each slack at its least value: the LP objective restricted to that point."""
    k = P.A.shape[0]
    w = P.w
    d = np.bincount(L["zz"], weights=pz, minlength=k)
    s_b = np.maximum(d - b, 0.0)
    got = np.bincount(L["jrow"], weights=w[L["zz"]] * pz, minlength=L["W"].size)
    s_pay = L["cost"][L["W"]] - got
    Oi = L["O"]
    spent_sup = P.A[:, Oi].T.astype(np.float64) @ (w * d)
    s_left = np.maximum(b * L["s_c"] - spent_sup - L["cost"][Oi], 0.0)
    total = float(s_b @ w + np.abs(s_pay).sum() + s_left.sum())
    return {"total": total, "s_budget": s_b, "s_pay": s_pay, "s_left": s_left, "d": d}


def _certificate(P: Profile, L: dict[str, Any], x: np.ndarray) -> tuple[float, np.ndarray, float]:
    """Repair an approximate LP point into (b, payments, total relaxation): payments clipped to
    >= 0 and rescaled per project so every pay row holds exactly, then the best b >= 1 for
    those spendings (the relaxation is convex piecewise linear in b; its kinks are tried) [F]."""
    ib, ip, isb = L["cols"][:3]
    pz = np.maximum(x[ip:isb], 0.0)
    w = P.w
    got = np.bincount(L["jrow"], weights=w[L["zz"]] * pz, minlength=L["W"].size)
    need = L["cost"][L["W"]]
    fac = np.divide(need, got, out=np.ones_like(need), where=got > 0)
    pz = pz * fac[L["jrow"]]
    k = P.A.shape[0]
    d = np.bincount(L["zz"], weights=pz, minlength=k)
    Oi = L["O"]
    spent_sup = P.A[:, Oi].T.astype(np.float64) @ (w * d)
    s_c = L["s_c"]
    kinks = [1.0, float(x[ib]), float(d.max(initial=1.0))]
    pos = s_c > 0
    kinks += list((spent_sup[pos] + L["cost"][Oi][pos]) / s_c[pos])
    order = np.argsort(d)
    ds, ws = d[order], w[order]
    tail_w = np.concatenate([np.cumsum(ws[::-1])[::-1], [0.0]])
    tail_wd = np.concatenate([np.cumsum((ws * ds)[::-1])[::-1], [0.0]])
    best_b, best = 1.0, np.inf
    for b in sorted({max(1.0, kb) for kb in kinks}):
        i = int(np.searchsorted(ds, b, side="right"))
        f = tail_wd[i] - b * tail_w[i]
        f += float(np.maximum(b * s_c - spent_sup - L["cost"][Oi], 0.0).sum())
        if f < best:
            best_b, best = b, f
    return best_b, pz, _relaxation(P, L, best_b, pz)["total"]


def _result(P: Profile, L: dict[str, Any], b: float, pz: np.ndarray, total: float) -> dict:
    k, m = P.A.shape
    rel = _relaxation(P, L, b, pz)
    pay = np.zeros((k, m))
    pay[L["zz"], L["cc"]] = pz / L["scale"]
    return {
        "b": b / L["scale"],
        "payments": pay,
        "total": total,
        "tol": _rel_tol(P),
        "s_budget": rel["s_budget"],
        "s_pay": rel["s_pay"],
        "s_left": rel["s_left"],
        "W": L["W"],
        "O": L["O"],
        "scale": L["scale"],
    }


def _duals(L: dict[str, Any], res: Any, k: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Pay-row and leftover-row multipliers (π, λ) per project from a linprog HiGHS result."""
    pi = np.zeros(m)
    lam = np.zeros(m)
    pi[L["W"]] = np.asarray(res.eqlin.marginals)[: L["W"].size]
    lam[L["O"]] = -np.asarray(res.ineqlin.marginals)[k:]
    return pi, lam


def _linprog(L: dict[str, Any]) -> Any:
    from scipy.optimize import linprog

    nvar = L["obj"].size
    res = linprog(
        L["obj"],
        A_ub=L["A_ub"],
        b_ub=L["b_ub"],
        A_eq=L["A_eq"],
        b_eq=L["b_eq"],
        bounds=np.column_stack([L["lb"], np.full(nvar, np.inf)]),
        method="highs",
    )
    if res.status != 0 or res.x is None:  # pragma: no cover - the relaxed LP is always feasible
        raise RuntimeError(f"priceability LP failed: {res.message}")
    return res


def _merged(P: Profile, Wm: np.ndarray, R: np.ndarray) -> tuple[Profile, np.ndarray]:
    """Classes merged by (A_z ∩ W, A_z ∩ R): the LP with only the leftover rows of R."""
    cols = np.flatnonzero(Wm | R)
    keys, inv = np.unique(P.A[:, cols], axis=0, return_inverse=True)
    A = np.zeros((keys.shape[0], P.A.shape[1]), dtype=bool)
    A[:, cols] = keys
    w = np.bincount(inv.ravel(), weights=P.w, minlength=keys.shape[0])
    return replace(P, A=A, w=w), inv.ravel()


#: leftover rows added per round of row generation, and the time budgets (seconds): a round
#: expected to end (at twice the last round's time) after BOUND_AFTER_S is not started when a
#: certified lower bound is at hand (it is reported instead of the optimum), nor after
#: GIVE_UP_S without one (the full simplex then decides).
ROWS_PER_ROUND = 4
BOUND_AFTER_S = 12.0
GIVE_UP_S = 25.0


def _screen(P: Profile, Wm: np.ndarray) -> np.ndarray:
    """Unselected projects whose supporters approving nothing in W alone hold more than its
    cost at b = B/n (best first), if the best one's bound (:func:`dual_bound` with π = 0,
    λ = 1 on that row: b0·w(N_c ∩ {A_z ∩ W = ∅}) − cost(c)) exceeds the tolerance exactly;
    empty otherwise. A cheap exact "not priceable" test run before the solvers [F]."""
    free = ~P.A[:, Wm].any(axis=1)
    off = np.flatnonzero(~Wm)
    lb = P.budget / P.n * (P.w[free] @ P.A[free][:, off]) - P.costs[off]
    order = np.argsort(-lb)
    rows = off[order[lb[order] > 0]]
    if rows.size == 0:
        return rows
    lam = np.zeros(len(P.ids))
    lam[rows[0]] = 1.0
    cert = dual_bound(P, Wm, np.zeros(len(P.ids)), lam)
    if cert is None or cert * (P.n / P.budget) <= _rel_tol(P):
        return rows[:0]
    return rows


def _solve_reduced(P: Profile, Wm: np.ndarray, seed: np.ndarray) -> dict[str, Any] | None:
    """Row generation over leftover rows on class-merged LPs (see :func:`solve`), starting
    with the rows ``seed``; None when it cannot settle the verdict with a checked point or
    certificate (the caller then runs the full simplex)."""
    import time

    t0 = time.perf_counter()
    k, m = P.A.shape
    L = _index(P, Wm)
    tol = _rel_tol(P)
    R = np.zeros(m, dtype=bool)
    R[seed[:ROWS_PER_ROUND]] = True
    for _ in range(L["O"].size + 1):
        t_round = time.perf_counter()
        Q, inv = _merged(P, Wm, R)
        Lq = _build(Q, Wm)
        res = _linprog(Lq)
        x = np.asarray(res.x)
        ib, ip, isb = Lq["cols"][:3]
        pay_q = np.zeros((Q.A.shape[0], m))
        pay_q[Lq["zz"], Lq["cc"]] = x[ip:isb]
        b = float(x[ib])
        pz = pay_q[inv[L["zz"]], L["cc"]]
        rel = _relaxation(P, L, b, pz)
        if rel["total"] <= tol:  # a checked price system of the full LP
            return _result(P, L, b, pz, rel["total"])
        left = np.zeros(m)
        left[L["O"]] = rel["s_left"]
        left[R] = 0.0
        converged = not np.any(left > 1e-6 * tol)
        cert = None
        if float(res.fun) > tol:
            cert = _certify(P, Wm, *_duals(Lq, res, Q.A.shape[0], m))
            if cert is not None and cert["lower_bound_exact"] * L["scale"] <= tol:
                cert = None
        now = time.perf_counter()
        elapsed = now - t0 + 2.0 * (now - t_round)  # expected end of the next round
        if cert is not None and (converged or elapsed > BOUND_AFTER_S):
            exact = converged and rel["total"] - float(res.fun) <= 1e-3 * tol
            out = _result(
                P, L, b, pz, float(res.fun) if exact else cert["lower_bound"] * L["scale"]
            )
            out.update(certificate=cert, exact=exact, upper=rel["total"])
            return out
        if converged or elapsed > GIVE_UP_S:
            return None
        top = np.argsort(-left)[:ROWS_PER_ROUND]
        R[top[left[top] > 1e-6 * tol]] = True
    return None  # pragma: no cover - each round adds a row, so |O| + 1 rounds suffice


#: LPs with at least this many payment variables are solved by the reduced path first.
REDUCE_MIN_PAY = 5_000


def solve(
    P: Profile, Wm: np.ndarray, fast: bool | None = None, reduce: bool | None = None
) -> dict[str, Any]:
    """Phase-1 LP; returns b, per-class payments (k, m), the total and per-row relaxations
    (and, when not priceable and it verifies, a dual ``"certificate"``, see :func:`dual_bound`).

    ``reduce`` (default: at least :data:`REDUCE_MIN_PAY` payment variables and either a
    positive :func:`_screen` or at least :data:`PDLP_MIN_PAY`; mid-size LPs that pass the
    screen go to the full simplex, faster there for priceable outcomes): row generation
    on the leftover rows. With only the leftover rows of a set R kept, classes with equal
    (A_z ∩ W, A_z ∩ R) are interchangeable, so they are merged into one class of their total
    weight; the merged LP is exact for the restricted LP: averaging a solution over each
    merged group (weights w_z) keeps the pay rows and the kept leftover rows (group members
    belong to the same N_c, c ∈ R) unchanged and does not increase Σ_z w_z s_z (s_z >=
    max(0, d_z − b) is convex), and a merged solution, copied to the members, is a solution
    with the same value. Dropping rows only lowers the optimum, so the merged optimum is a lower
    bound on the full one; its point, copied to the classes and scored on every row by
    :func:`_relaxation`, is an upper bound. Rows the copied point violates join R until none
    does (then both bounds meet: the least total relaxation). A verdict needs a check on the
    full data: "priceable" when the copied point's own relaxation is within the tolerance
    (a checked price system), "not priceable" when the merged LP's duals, turned into the
    exact lower bound of :func:`dual_bound`, exceed it. Otherwise the full simplex decides.
    Past the time budget (:data:`BOUND_AFTER_S`) the rounds stop at a certified bound: the
    result then has ``exact`` False, ``total`` = the certified lower bound and ``upper`` = the
    copied point's relaxation (its rows give the per-row slacks).

    :func:`_screen` first looks for an exact one-row certificate; if it finds one, PDLP is
    skipped and its rows seed the row generation.

    ``fast`` (default: at least :data:`PDLP_MIN_PAY` payment variables; tried before
    ``reduce``) gets an approximate optimum from PDLP, repaired by :func:`_certificate`; if the
    repaired point's total relaxation is within the tolerance it is a checked price system
    and W is priceable. When neither settles it (or without highspy) the exact simplex optimum
    of the full LP decides [F]."""
    npay = int(P.A[:, Wm].sum())
    L = _build(P, Wm)
    ib, ip, isb, isp, ism, isl, isd = L["cols"]
    if fast is None:
        fast = npay >= PDLP_MIN_PAY
    screen = reduce or (reduce is None and npay >= REDUCE_MIN_PAY)
    seed = _screen(P, Wm) if screen else np.zeros(0, dtype=np.int64)
    if reduce is None:
        reduce = npay >= REDUCE_MIN_PAY and (seed.size > 0 or npay >= PDLP_MIN_PAY)
    if fast and seed.size == 0:  # PDLP only certifies "priceable": skip it when screened out
        x0 = _pdlp_point(L)
        if x0 is not None:
            b, pz, total = _certificate(P, L, x0)
            if total <= _rel_tol(P):
                return _result(P, L, b, pz, total)
    if reduce:
        red = _solve_reduced(P, Wm, seed)
        if red is not None:
            return red
    res = _linprog(L)
    x = np.asarray(res.x)
    out = _result(P, L, float(x[ib]), x[ip:isb], float(res.fun))
    # the LP's own slacks (they sum to the optimum)
    out.update(s_budget=x[isb:isp], s_pay=x[isp:ism] - x[ism:isl], s_left=x[isl:isd])
    if out["total"] > out["tol"]:
        cert = _certify(P, Wm, *_duals(L, res, P.A.shape[0], P.A.shape[1]))
        if cert is not None and cert["lower_bound_exact"] * L["scale"] > out["tol"]:
            out["certificate"] = cert
    return out


def verdict(P: Profile, sol: dict[str, Any]) -> Verdict:
    """Turn the phase-1 solution into a Verdict (slack = −total relaxation / B; 0 if priceable).

    Witness keys beyond the row fields: ``"relaxation_exact"`` (False when the reduced path
    stopped at its time budget: ``"relaxation"`` is then the certified lower bound, and
    ``"relaxation_upper"`` the relaxation of an actual point, whose rows give
    ``"constraint"``, ``"required"`` and ``"relaxation_by_family"``), and ``"certificate"``
    (when it verifies): ``{"lower_bound": money, "pi": {id: π}, "lambda": {id: λ}}``, the
    multipliers of :func:`dual_bound`, which anyone can re-check exactly [F]."""
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
        "relaxation_exact": bool(sol.get("exact", True)),
        "relaxation_upper": float(sol.get("upper", total) / scale),
    }
    if "certificate" in sol:
        cert = sol["certificate"]
        wit["certificate"] = {key: cert[key] for key in ("lower_bound", "pi", "lambda")}
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
