"""Participatory-budgeting axioms (spec ``budgeting.md`` §6, checking strategies §7).

Ex post (W = ids, an ``Outcome`` or a bool mask): :func:`jr`, :func:`pjr`, :func:`ejr`,
:func:`fjr`, :func:`ejr_up_to_one`, :func:`exhaustive`, :func:`priceable` (with
:func:`price_system` and :func:`is_price_system`). Ex ante (p = marginals or a ``Lottery``):
:func:`ifs`, :func:`ufs`, :func:`strong_ufs`, :func:`gfs`; and :func:`bb1` for lotteries.

:func:`compatibility` (with :func:`find_incompatibility`) is the compatibility oracle of §7:
an LP over lotteries on the ex-post admissible sets under the ex-ante rows.

Every check returns a :class:`~fairsim.axioms.Verdict`; witnesses hold ``"voters"`` (ballot row
indices), ``"projects"``, ``"beta"``, ``"group_weight"`` and ``"required"`` (the group weight
n·cost(T)/B the projects call for). ``method``: ``"enumerate"`` (exact search over project sets,
never over voter subsets), ``"ilp"`` (HiGHS via scipy.optimize.milp), ``"bruteforce"`` (tests
only, rows + projects <= 20), ``"auto"`` (enumerate, then ILP after 10^6 visited sets).
Sources: Peters, Pierczyński, Skowron arXiv 2008.13276 (EJR, EJR-1, FJR); Peters & Skowron
arXiv 1911.11747 (priceability); Aziz et al. arXiv
2404.05198 (ex-ante shares, BB1; exact forms are fairsim's reconstructions [F], spec §6.3-6.4).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from fairsim.axioms import Verdict
from fairsim.axioms import _budgeting_exante as _ea
from fairsim.axioms import _budgeting_expost as _ep
from fairsim.axioms._budgeting_brute import brute
from fairsim.axioms._budgeting_common import (
    AUTO_LIMIT,
    METHODS,
    check_choice,
    marginals,
    outcome_mask,
    profile,
)
from fairsim.axioms._budgeting_compat import (
    CompatResult,
    SupportLottery,
    compatibility,
)
from fairsim.axioms._budgeting_compat_search import SearchResult, find_incompatibility
from fairsim.errors import InputError
from fairsim.registry import register

#: sets the FJR enumeration may visit under ``method="auto"`` before the level MILPs take over.
FJR_AUTO_LIMIT = 500
#: above this many (ballot class, project) cells ``method="auto"`` skips the FJR enumeration
#: (Warszawa 2026: 51,202 classes × 83 projects, 23-26 s of scans before the level MILPs,
#: which start with their own quick violation search) [F].
FJR_ENUM_CELLS = 200_000


def _run(
    method: str,
    enum: Callable[[int], Verdict],
    ilp: Callable[[], Verdict],
    bf: Callable[[], Verdict],
) -> Verdict:
    check_choice(method, "method", METHODS)
    if method == "bruteforce":
        return bf()
    if method == "ilp":
        return ilp()
    try:
        return enum(AUTO_LIMIT if method == "auto" else 1 << 62)
    except _ep._Limit:
        if method == "enumerate":
            raise InputError(
                "method='enumerate' cannot finish this instance (more than 2^62 project sets "
                "to visit); use method='ilp' or 'auto'"
            ) from None
        return ilp()


def jr(e: Any, W: Any, utility: str = "cost", variant: str = "positive") -> Verdict:
    """Justified representation (spec §6.1 [F]): no {c}-cohesive group left out.

    ``"positive"``: some member approves a selected project (abcvoting's JR at unit cost);
    ``"ejr1"``: some member has u_i(W) >= u(c). O(nnz) over projects (§7).
    """
    check_choice(variant, "variant", ("positive", "ejr1"))
    P = profile(e, utility)
    return _ep.jr(P, outcome_mask(P, W), variant)


def ejr(e: Any, W: Any, utility: str = "cost", method: str = "auto") -> Verdict:
    """Extended justified representation (§6.1; arXiv 2008.13276): every T-cohesive group S has
    a member with u_i(W) >= u(T). Witness: T, its would-be violators, ``beta`` = u(T)."""
    P = profile(e, utility)
    Wm = outcome_mask(P, W)
    return _run(
        method,
        lambda lim: _ep.ejr_enum(P, Wm, None, lim, "ejr"),
        lambda: _ilp().ejr_ilp(P, Wm, None, "ejr"),
        lambda: brute(P, Wm, "ejr"),
    )


def ejr_up_to_one(
    e: Any, W: Any, utility: str = "cost", variant: str = "strict", method: str = "auto"
) -> Verdict:
    """EJR up to one project (§6.1): ``"strict"`` [F] some member has u_i(W) >= u(T) or
    u_i(W) + u(a) > u(T) for an a ∈ T\\W; ``"pabutools"`` u_i(W) + max_{T\\W} u(a) >= u(T)."""
    check_choice(variant, "variant", ("strict", "pabutools"))
    P = profile(e, utility)
    Wm = outcome_mask(P, W)
    return _run(
        method,
        lambda lim: _ep.ejr_enum(P, Wm, variant, lim, "ejr_up_to_one"),
        lambda: _ilp().ejr_ilp(P, Wm, variant, "ejr_up_to_one"),
        lambda: brute(P, Wm, "ejr1", variant),
    )


def pjr(e: Any, W: Any, utility: str = "cost", method: str = "auto") -> Verdict:
    """Proportional justified representation (§6.1): every T-cohesive S has
    u(W ∩ ∪_S A_i) >= u(T).

    ``"enumerate"``: the cohesive-set search of §7 over T, keeping only supporters with
    u_b(W) < u(T) (every PJR violator is one, as u_b(W) <= u(W ∩ ∪_S A_i)), and at each T the
    heaviest group whose union covers less than u(T), over distinct signatures A_b ∩ W
    (:mod:`fairsim.axioms._budgeting_pjr`). ``"ilp"``: one MILP in (T, S, X = W ∩ ∪_S A_i)
    with the EJR rows as a strengthening. ``"auto"``: the search, and if it exceeds 10^6 sets,
    EJR by MILP first (EJR ⇒ PJR: if EJR holds, so does PJR, with ``witness`` None and
    ``slack`` +inf), else the PJR MILP. When PJR holds, ``slack`` is a lower bound on the margin
    min_T (n·cost(T) − B·w(G_T))/(n·B) over the groups G_T that could violate at T.
    """
    P = profile(e, utility)
    Wm = outcome_mask(P, W)

    def ilp() -> Verdict:
        if method == "auto" and _ilp().ejr_ilp(P, Wm, None, "ejr").holds:
            return Verdict("pjr", True, None, float("inf"))
        return _ilp().ejr_ilp(P, Wm, None, "pjr", pjr=True)

    return _run(
        method,
        lambda lim: _ep.pjr_enum(P, Wm, lim),
        ilp,
        lambda: brute(P, Wm, "pjr"),
    )


def fjr(
    e: Any, W: Any, utility: str = "cost", method: str = "auto", time_limit: float = 600.0
) -> Verdict:
    """Full justified representation (§6.1; arXiv 2008.13276): every weakly (β, T)-cohesive
    group (w(S)·B >= n·cost(T), u_i(T) >= β > 0 on S) has a member with u_i(W) >= β.

    ``"enumerate"``: depth-first search over T with cost(T) <= B (small instances).
    ``"ilp"``: exact branch and bound over threshold levels β = u_b(W) + δ, one big-M-free MILP
    per level interval (HiGHS), see :mod:`fairsim.axioms._budgeting_fjr` [D]; finishes on the
    ~50-project Warszawa district files. ``"auto"``: enumerate up to 500 sets, then the
    level MILPs (straight to the level MILPs above 200,000 class × project cells). If
    ``time_limit`` (seconds, level MILPs only) runs out, the verdict has ``holds=False``,
    ``inconclusive=True`` (and ``witness["inconclusive"] = True``) and the open β range; a
    witness without that flag is an exactly re-checked violation. ``slack`` is +inf when FJR holds by
    the level MILPs (they bound no slack).
    """
    P = profile(e, utility)
    Wm = outcome_mask(P, W)
    if not (isinstance(time_limit, (int, float)) and time_limit > 0):
        raise InputError(f"time_limit must be a number of seconds > 0; got {time_limit!r}")
    check_choice(method, "method", METHODS)

    def levels() -> Verdict:
        from fairsim.axioms._budgeting_fjr import fjr_levels

        return fjr_levels(P, Wm, float(time_limit))

    if method == "auto":
        if P.A.size > FJR_ENUM_CELLS:  # the pruned-but-uncounted scans alone take seconds
            return levels()
        try:
            return _ep.fjr_enum(P, Wm, FJR_AUTO_LIMIT)
        except _ep._Limit:
            return levels()
    return _run(method, lambda lim: _ep.fjr_enum(P, Wm, lim), levels, lambda: brute(P, Wm, "fjr"))


def exhaustive(e: Any, W: Any, among: str = "all") -> Verdict:
    """Exhaustiveness (§6.2): no unselected project of the pool fits in the leftover budget.

    ``among="supported"`` restricts the pool to cost > 0 projects with a supporter (pabutools'
    Add1 stop). ``witness["feasible"]`` tells whether cost(W) <= B + ε.
    """
    check_choice(among, "among", ("all", "supported"))
    P = profile(e, "cost")
    Wm = outcome_mask(P, W)
    eps = 1e-9 * max(1.0, P.budget)
    spent = float(P.costs[Wm].sum())
    pool = ~Wm
    if among == "supported":
        pool &= (P.costs > 0) & P.A.any(axis=0)
    fits = np.flatnonzero(pool & (spent + P.costs <= P.budget + eps))
    left = P.budget - spent
    if fits.size == 0:
        rest = P.costs[pool]
        slack = float(rest.min() - left) if rest.size else float("inf")
        return Verdict("exhaustive", True, None, slack)
    c = int(fits[np.argmin(P.costs[fits])])
    wit = {
        "voters": [],
        "projects": [P.ids[c]],
        "beta": float(P.costs[c]),
        "group_weight": 0.0,
        "required": float(left),
        "feasible": bool(spent <= P.budget + eps),
    }
    return Verdict("exhaustive", False, wit, float(P.costs[c] - left))


def _priced_profile(e: Any) -> Any:
    P = profile(e, "cost")
    if not P.n > 0:
        raise InputError(f"priceability needs voters: total weight n must be > 0; got {P.n}")
    return P


def price_system(e: Any, W: Any) -> dict[str, Any] | None:
    """A price system supporting ``W`` (spec §6.2; Peters & Skowron arXiv 1911.11747), or None.

    Returns ``{"b": voter budget, "payments": csr (ballot rows x projects, per voter),
    "leftover": per ballot row}`` from the LP of :func:`priceable`; None if not priceable.
    """
    from fairsim.axioms import _budgeting_price as _pr

    P = _priced_profile(e)
    sol = _pr.solve(P, outcome_mask(P, W))
    if sol["total"] > sol["tol"]:
        return None
    from scipy import sparse

    pay = sol["payments"][P.row_class]
    return {
        "b": sol["b"],
        "payments": sparse.csr_matrix(pay),
        "leftover": np.maximum(sol["b"] - pay.sum(axis=1), 0.0),
    }


def priceable(e: Any, W: Any) -> Verdict:
    """Priceability (spec §6.2; Peters & Skowron, EC 2020, arXiv 1911.11747).

    W is priceable if some voter budget b >= B/n and payments p_i(c) >= 0, positive only on
    A_i ∩ W, satisfy Σ_c p_i(c) <= b, Σ_i w_i p_i(c) = cost(c) for c ∈ W, and, for every c ∉ W,
    Σ_{i ∈ N_c} w_i (b − Σ_c' p_i(c')) <= cost(c). Decided by one LP (HiGHS) over ballot
    classes, solved as "minimise the total relaxation". On failure the witness gives that least
    relaxation (``"relaxation"``, in money; per row family in ``"relaxation_by_family"``) and the
    most relaxed row: ``"constraint"`` in {budget, pay, leftover}, its ``"projects"`` and
    ``"voters"``, ``"required"`` = its relaxation, ``"beta"`` = the LP's b [F]. ``slack`` is
    −relaxation/B (0 when priceable) [F]. :func:`price_system` returns the price system itself.

    Large instances: an exact one-row screen and a row-generation LP over merged classes come
    first; "not priceable" is then certified by LP duality in exact fractions
    (``witness["certificate"]``: multipliers ``"pi"``, ``"lambda"`` and the ``"lower_bound"``
    they prove). When the reduced LP stops at its time budget, ``"relaxation_exact"`` is False
    and ``"relaxation"`` is that certified lower bound (``"relaxation_upper"``: the relaxation of
    an actual point); the verdict itself is exact either way.
    """
    from fairsim.axioms import _budgeting_price as _pr

    P = _priced_profile(e)
    return _pr.verdict(P, _pr.solve(P, outcome_mask(P, W)))


def is_price_system(e: Any, W: Any, b: float, payments: Any, tol: float = 1e-6) -> Verdict:
    """Check a given price system (b, payments per voter of each ballot row (rows x projects,
    dense or sparse; a row with multiplicity w stands for w voters paying alike))
    against the rows of :func:`priceable` (spec §6.2) with absolute money tolerance ``tol`` [F].
    Witness on failure: ``"constraint"`` (the first violated row family) and ``"required"`` (its
    excess). Used to confirm that MES outcomes are priceable via their own payments [D]."""
    from fairsim.axioms import _budgeting_price as _pr

    P = _priced_profile(e)
    Wm = outcome_mask(P, W)
    if not (np.isfinite(b) and b >= 0):
        raise InputError(f"b must be a finite number >= 0; got {b!r}")
    if not (np.isfinite(tol) and tol >= 0):
        raise InputError(f"tol must be a finite number >= 0; got {tol!r}")
    pay = payments.toarray() if hasattr(payments, "toarray") else np.asarray(payments, float)
    rows = P.row_class.size
    if pay.shape != (rows, len(P.ids)):
        raise InputError(
            f"payments must have shape (ballot rows, projects) = {(rows, len(P.ids))}; "
            f"got {pay.shape}"
        )
    A_rows = P.A[P.row_class]
    ok, row, excess = _pr.check_system(A_rows, P.row_w, P, Wm, float(b), pay, tol)
    if ok:
        return Verdict("is_price_system", True, None, 0.0)
    wit = {
        "voters": [],
        "projects": [],
        "beta": float(b),
        "group_weight": 0.0,
        "required": float(excess),
        "constraint": row,
    }
    return Verdict("is_price_system", False, wit, -float(excess) / P.budget)


def ifs(e: Any, p: Any, variant: str = "spending") -> Verdict:
    """Individual fair share (§6.3 [F]): ``"spending"`` spend_i(p) >= min(B/n, cost(A_i));
    ``"utility"`` (Strong IFS) Σ_{A_i} p_c >= OPT(A_i, B/n)."""
    check_choice(variant, "variant", ("spending", "utility"))
    P = profile(e, "cost")
    return _ea.ifs(P, marginals(P, p), variant)


def ufs(e: Any, p: Any) -> Verdict:
    """Unanimous fair share (§6.3 [F]): each ballot class z spends
    Σ_{A_z} p_c cost(c) >= min(w_z·B/n, cost(A_z))."""
    P = profile(e, "cost")
    return _ea.ufs(P, marginals(P, p), strong=False)


def strong_ufs(e: Any, p: Any) -> Verdict:
    """Strong UFS (§6.3 [F]): each class z gets Σ_{A_z} p_c >= OPT(A_z, w_z·B/n), the binary
    fractional-knapsack optimum over A_z sorted by (cost, id)."""
    P = profile(e, "cost")
    return _ea.ufs(P, marginals(P, p), strong=True)


def gfs(e: Any, p: Any, method: str = "auto") -> Verdict:
    """Group fair share (§6.3 [F]): every group S with union U_S spends
    Σ_{U_S} p_c cost(c) >= min(w(S)·B/n, cost(U_S)). Exact over unions U with
    S_U = {b : A_b ⊆ U}, or a MILP (§7); ``"bruteforce"`` is the enumeration (classes suffice).
    ``"auto"`` beyond enumeration: a closure LP bounds every gap (totally unimodular, so exact
    for share(S) − spending); if the bound is within ε GFS holds with ``slack`` = −bound (a lower
    bound on the margin), if its optimal group violates GFS that is the witness, else the MILP.
    Voters with an empty ballot never join a group (they claim no spending) [F]."""
    check_choice(method, "method", METHODS)
    P = profile(e, "cost")
    pm = marginals(P, p)
    if method == "ilp":
        gap, G = _ilp().gfs_ilp(P, pm)
    else:
        try:
            gap, G = _ea.gfs_enum(P, pm, AUTO_LIMIT if method == "auto" else 1 << 62)
        except _ep._Limit:
            if method != "auto":
                raise InputError("method='enumerate' needs at most 62 approved projects") from None
            return _gfs_large(P, pm)
    return _ea.gfs_verdict(P, gap, G, pm)


def _gfs_large(P: Any, pm: np.ndarray) -> Verdict:
    """GFS beyond enumeration: the closure LP bound first, the MILP only when it cannot decide.

    bound <= ε: GFS holds, ``slack`` = −bound (a lower bound on the margin). Else the optimal
    closure's group is tested as it is; a real violation is reported with ``slack`` = −its gap.
    Otherwise the MILP decides, with the exact largest gap.
    """
    bound, G = _ilp().gfs_closure(P, pm)
    if bound <= _ea._eps(P):
        return Verdict("gfs", True, None, -bound if np.isfinite(bound) else float("inf"))
    if G.size:
        need, spent = _ea.gfs_need(P, G, pm)
        if need - spent > _ea._eps(P):
            return _ea.gfs_verdict(P, need - spent, G, pm)
    gap, G = _ilp().gfs_ilp(P, pm)
    return _ea.gfs_verdict(P, gap, G, pm)


def bb1(
    lottery: Any, sided: str = "two", reference: str = "marginals", max_outcomes: int = 65536
) -> Verdict:
    """Budget balance up to one project (§6.4 [F]) on every support set of ``lottery``.

    With t = cost(p) (``reference="marginals"``) or B (``"budget"``): over, cost(W) <= t or
    cost(W) − max_W cost <= t; under, cost(W) >= t or cost(W) + max_{C\\W} cost >= t.
    Exact on ``lottery.support(max_outcomes)``; above that, 10^4 draws (``witness`` or the
    verdict's ``sampled`` flag in the witness when violated).
    """
    check_choice(sided, "sided", ("two", "over", "under"))
    check_choice(reference, "reference", ("marginals", "budget"))
    for attr in ("support", "marginals", "costs", "budget", "project_ids"):
        if not hasattr(lottery, attr):
            raise InputError(f"lottery must be a fairsim Lottery; it has no {attr!r}")
    costs = np.asarray(lottery.costs, dtype=np.float64)
    pm = np.asarray(lottery.marginals, dtype=np.float64)
    t = float(pm @ costs) if reference == "marginals" else float(lottery.budget)
    pos = {p: c for c, p in enumerate(lottery.project_ids)}
    sampled = False
    try:
        sup = [(prob, [pos[x] for x in ids]) for prob, ids in lottery.support(max_outcomes)]
    except ValueError:
        sampled = True
        rng = np.random.default_rng(0)
        sup = [(1e-4, [pos[x] for x in lottery.sample(rng)]) for _ in range(10_000)]
    v = _ea.bb1(sup, costs, t, sided, float(lottery.budget))
    if v.witness is not None:
        v.witness["projects"] = [lottery.project_ids[c] for c in v.witness["projects"]]
        v.witness["sampled"] = sampled
    return v


def _ilp() -> Any:
    from fairsim.axioms import _budgeting_ilp

    return _budgeting_ilp


_EX_POST: dict[str, Callable[..., Verdict]] = {
    "jr": jr,
    "pjr": pjr,
    "ejr": ejr,
    "fjr": fjr,
    "ejr_up_to_one": ejr_up_to_one,
    "exhaustive": exhaustive,
    "priceable": priceable,
}
_EX_ANTE: dict[str, Callable[..., Verdict]] = {
    "ifs": ifs,
    "ufs": ufs,
    "strong_ufs": strong_ufs,
    "gfs": gfs,
}

_f: Callable[..., Any]
for _name, _f in _EX_POST.items():
    register(f"budgeting.{_name}", "axiom", signature="outcome", stage="ex_post")(_f)
for _name, _f in _EX_ANTE.items():
    register(f"budgeting.{_name}", "axiom", signature="outcome", stage="ex_ante")(_f)
register("budgeting.bb1", "axiom", signature="lottery", stage="ex_post")(bb1)
del _name, _f

__all__ = [
    "CompatResult",
    "SearchResult",
    "SupportLottery",
    "bb1",
    "compatibility",
    "ejr",
    "ejr_up_to_one",
    "exhaustive",
    "find_incompatibility",
    "fjr",
    "gfs",
    "ifs",
    "is_price_system",
    "jr",
    "pjr",
    "price_system",
    "priceable",
    "strong_ufs",
    "ufs",
]
