"""Greedy, Method of Equal Shares and sequential Phragmén (spec ``budgeting.md`` §4.1-4.4).

Float mode: money compares with eps = 1e-9 * max(1, B); rho / time values within a relative
1e-12 count as tied and go to ``tie_break`` (spec §4 "Numerics"). Rules run on ballot classes
(identical approval sets merged, weights = multiplicities), so ``e.compress()`` never changes them.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from fairsim.errors import InputError
from fairsim.mechanisms._budgeting_common import Outcome, check_election, check_utility, tie_rank


class _Prep:
    """Ballot classes and the CSC supporter lists of an election."""

    def __init__(self, e: Any) -> None:
        cls, first = e.approval_classes()
        self.cls = cls
        assert e.multiplicities is not None
        self.w = np.bincount(cls, weights=e.multiplicities, minlength=first.size).astype(np.float64)
        csc = e.approvals[first].tocsc()
        csc.sort_indices()
        self.ptr = csc.indptr.astype(np.int64)
        self.idx = csc.indices.astype(np.int64)
        self.s = np.bincount(
            np.repeat(np.arange(e.m), np.diff(self.ptr)), weights=self.w[self.idx], minlength=e.m
        )
        self.n = float(self.w.sum())
        self.costs = e.costs
        self.budget = e.budget
        self.eps = 1e-9 * max(1.0, e.budget)


def _ties(ties: np.ndarray, ids: list[str], offset: int = 0) -> list[tuple[int, list[str], str]]:
    out = []
    for r in range(ties.shape[0]):
        row = [int(j) for j in ties[r] if j >= 0]
        if len(row) > 1:
            out.append((r + offset, [ids[j] for j in row], ids[row[0]]))
    return out


def _finish(e: Any, rule: str, utility: str | None, sel: list[int], **details: Any) -> Outcome:
    d: dict[str, Any] = {"rule": rule, "utility": utility}
    d["cost"] = float(e.costs[sel].sum()) if sel else 0.0
    d.update(details)
    d.setdefault("tie_breaks", [])
    return Outcome([e.project_ids[j] for j in sel], d)


def greedy_order(e: Any, utility: str, s: np.ndarray, rank: np.ndarray) -> list[int]:
    """Projects by (-score, tie rank); score = s_c (cost) or s_c/cost(c) exactly (cardinality)."""
    inf = float("inf")

    def score(j: int) -> Any:
        if s[j] == 0:
            return Fraction(0)
        if utility == "cost":
            return Fraction(int(round(s[j])))
        if e.costs[j] == 0:
            return inf
        return Fraction(int(round(s[j]))) / Fraction(float(e.costs[j]))

    return sorted(range(e.m), key=lambda j: (-score(j), rank[j]))


def _greedy_fill(
    e: Any, utility: str, prep: _Prep, rank: np.ndarray, start: list[int], fund_unsupported: bool
) -> tuple[list[int], list[str]]:
    sel = list(start)
    taken = set(sel)
    spent = float(e.costs[sel].sum()) if sel else 0.0
    skipped: list[str] = []
    for j in greedy_order(e, utility, prep.s, rank):
        if j in taken or (prep.s[j] == 0 and not fund_unsupported):
            continue
        if spent + e.costs[j] <= e.budget + prep.eps:
            sel.append(j)
            taken.add(j)
            spent += float(e.costs[j])
        else:
            skipped.append(e.project_ids[j])
    return sel, skipped


def _check_exact(exact: Any) -> bool:
    if not isinstance(exact, bool):
        raise InputError(f"exact must be a bool; got {exact!r}")
    return exact


def _finish_exact(
    e: Any, rule: str, utility: str | None, sel: list[int], prep: Any, **d: Any
) -> Outcome:
    from fractions import Fraction as _F

    out = _finish(e, rule, utility, sel, **d)
    out.details["cost"] = sum((prep.costs[j] for j in sel), _F(0))
    out.details["exact"] = True
    return out


def _named_ties(ties: list[tuple[int, list[int], int]], ids: list[str]) -> list[Any]:
    return [(r, [ids[j] for j in tied], ids[c]) for r, tied, c in ties]


def greedy(
    e: Any,
    utility: str = "cost",
    *,
    tie_break: Any = None,
    fund_unsupported: bool = True,
    exact: bool = False,
) -> Outcome:
    """Greedy utilitarian rule (spec ``budgeting.md`` §4.1; pabutools ``greedy_utilitarian_welfare``).

    Walk projects by decreasing s_c (cost utility) or s_c / cost(c) (cardinality utility, exact
    cross-multiplied comparison; cost 0 < s_c scores +inf), ties by ``tie_break``; add a project
    when it fits the remaining budget, otherwise skip it and continue. Unsupported projects
    (s_c = 0) come last and are funded when they fit if ``fund_unsupported`` (pabutools).
    ``details["skipped"]`` lists skipped projects. ``exact=True`` [F] compares in
    :class:`~fractions.Fraction` arithmetic (costs and budget rebuilt as rationals, spec §4
    "Numerics"); ``details["cost"]`` is then a Fraction.
    """
    check_election(e)
    utility = check_utility(utility)
    rank = tie_rank(e, tie_break)
    if _check_exact(exact):
        from fairsim.mechanisms import _budgeting_exact as ex

        xp = ex.ExactPrep(e)
        xs, xk = ex.greedy_fill(xp, utility, rank, [], bool(fund_unsupported))
        skipped_ids = [e.project_ids[j] for j in xk]
        return _finish_exact(e, "greedy", utility, xs, xp, skipped=skipped_ids)
    prep = _Prep(e)
    sel, skipped = _greedy_fill(e, utility, prep, rank, [], bool(fund_unsupported))
    return _finish(e, "greedy", utility, sel, skipped=skipped)


def _mes_run(e: Any, prep: _Prep, u: np.ndarray, rank: np.ndarray, b0: float) -> dict[str, Any]:
    from fairsim.allocation._pb_mes import mes_kernel

    zero = [j for j in np.argsort(rank) if e.costs[j] == 0 and prep.s[j] > 0]
    cand = (e.costs > 0) & (prep.s > 0)
    sel, rhos, b, pay, ties, near = mes_kernel(
        prep.ptr, prep.idx, prep.w, e.costs, u, cand, rank, float(b0), prep.eps
    )
    order = [int(j) for j in zero] + [int(j) for j in sel]
    return {
        "order": order,
        "rho": [0.0] * len(zero) + [float(r) for r in rhos],
        "budgets": b,
        "pay": pay,
        "ties": _ties(ties, e.project_ids, len(zero)),
        "near": [int(r) + len(zero) for r in np.flatnonzero(near)],
    }


def _exhaustive_supported(e: Any, prep: _Prep, order: list[int]) -> bool:
    spent = float(e.costs[order].sum()) if order else 0.0
    chosen = np.zeros(e.m, np.bool_)
    chosen[order] = True
    pool = (~chosen) & (e.costs > 0) & (prep.s > 0)
    return not bool(np.any(spent + e.costs[pool] <= e.budget + prep.eps))


def method_of_equal_shares(
    e: Any,
    utility: str = "cost",
    completion: str | None = None,
    *,
    tie_break: Any = None,
    add1_step: float = 1.0,
    add1_convention: str = "pabutools",
    fund_unsupported: bool = True,
    exact: bool = False,
) -> Outcome:
    """Method of Equal Shares (Peters, Pierczyński, Skowron, arXiv 2008.13276; spec §4.2-4.3).

    Every voter starts with B/n; each round the candidate with the least rho (each supporter pays
    min(b_i, rho u_i(c))) is bought; unaffordable projects drop out; cost-0 supported projects come
    first. ``completion``: ``None``; ``"greedy"`` (greedy on the rest, pabutools
    ``completion_by_rule_combination``); ``"add1"`` (``add1_convention="pabutools"``: rerun with
    per-voter budget raised by ``add1_step`` until the outcome is exhaustive among supported
    projects or overspends, returning the last feasible one; ``"pabulib"``: budgets B/n, then
    floor(B/n) + 1, + 2, ... until overspending, ties ``"cost_then_votes"`` by default).
    Details: ``rho``, ``payments`` (CSR rows x projects, per voter), ``voter_budgets`` (per row),
    ``near_ties``, and ``add1_iterations``. ``exact=True`` [F]: Fraction arithmetic with exact
    ties (see :func:`_mes_exact` for the details' exact form).
    """
    check_election(e)
    utility = check_utility(utility)
    if completion not in (None, "greedy", "add1"):
        raise InputError(f"completion must be None, 'greedy' or 'add1'; got {completion!r}")
    if add1_convention not in ("pabutools", "pabulib"):
        raise InputError(
            f"add1_convention must be 'pabutools' or 'pabulib'; got {add1_convention!r}"
        )
    if not (np.isfinite(add1_step) and add1_step > 0):
        raise InputError(f"add1_step must be finite and > 0; got {add1_step!r}")
    if completion == "add1" and add1_convention == "pabulib" and tie_break is None:
        tie_break = "cost_then_votes"
    rank = tie_rank(e, tie_break)
    if _check_exact(exact):
        return _mes_exact(
            e, utility, completion, rank, add1_step, add1_convention, bool(fund_unsupported)
        )
    prep = _Prep(e)
    u = e.costs.copy() if utility == "cost" else np.ones(e.m)
    b0 = e.budget / prep.n if prep.n > 0 else 0.0
    extra: dict[str, Any] = {}
    run = _mes_run(e, prep, u, rank, b0)
    if completion == "add1":
        run, extra["add1_iterations"] = _add1(e, prep, u, rank, b0, run, add1_step, add1_convention)
    order = run["order"]
    if completion == "greedy":
        order, skipped = _greedy_fill(e, utility, prep, rank, order, bool(fund_unsupported))
        extra["skipped"] = skipped
    from scipy import sparse

    pay_cls = sparse.csc_matrix((run["pay"], prep.idx, prep.ptr), shape=(prep.w.size, e.m)).tocsr()
    return _finish(
        e,
        "method_of_equal_shares",
        utility,
        order,
        completion=completion,
        rho=run["rho"],
        payments=pay_cls[prep.cls],
        voter_budgets=run["budgets"][prep.cls],
        tie_breaks=run["ties"],
        near_ties=run["near"],
        **extra,
    )


def _mes_exact(
    e: Any,
    utility: str,
    completion: str | None,
    rank: np.ndarray,
    add1_step: float,
    add1_convention: str,
    fund_unsupported: bool,
) -> Outcome:
    """MES in Fractions. Details: ``rho`` (Fractions), ``payments`` ({project id: {class:
    payment per member}}), ``voter_class`` (class of each ballot row), ``voter_budgets`` (object
    array per row of Fractions), ``near_ties`` = [] (exact ties only)."""
    from fairsim.mechanisms import _budgeting_exact as ex

    xp = ex.ExactPrep(e)
    b0 = xp.budget / xp.n if xp.n > 0 else Fraction(0)
    extra: dict[str, Any] = {}
    run = ex.mes_run(xp, utility, rank, b0)
    if completion == "add1":
        step = ex.to_fraction(add1_step)
        run, extra["add1_iterations"] = ex.mes_add1(
            xp, utility, rank, b0, run, step, add1_convention
        )
    order = run["order"]
    if completion == "greedy":
        order, skipped = ex.greedy_fill(xp, utility, rank, order, fund_unsupported)
        extra["skipped"] = [e.project_ids[j] for j in skipped]
    budgets = np.empty(len(xp.w), dtype=object)
    budgets[:] = run["budgets"]
    return _finish_exact(
        e,
        "method_of_equal_shares",
        utility,
        order,
        xp,
        completion=completion,
        rho=run["rho"],
        payments={e.project_ids[c]: pc for c, pc in run["pay"].items()},
        voter_class=xp.cls,
        voter_budgets=budgets[xp.cls],
        tie_breaks=_named_ties(run["ties"], e.project_ids),
        near_ties=[],
        **extra,
    )


def _add1(
    e: Any,
    prep: _Prep,
    u: np.ndarray,
    rank: np.ndarray,
    b0: float,
    run: dict[str, Any],
    step: float,
    convention: str,
) -> tuple[dict[str, Any], int]:
    prev = None
    n_supported = int(np.count_nonzero((e.costs > 0) & (prep.s > 0)))
    for it in range(1, 10**6 + 1):
        if it > 1:
            if convention == "pabutools":
                b = b0 + (it - 1) * step
            else:
                b = float(np.floor(e.budget / prep.n)) + (it - 1)
            run = _mes_run(e, prep, u, rank, b)
        cost = float(e.costs[run["order"]].sum()) if run["order"] else 0.0
        if cost > e.budget + prep.eps:
            return (prev if prev is not None else run), it
        if convention == "pabutools" and _exhaustive_supported(e, prep, run["order"]):
            return run, it
        if convention == "pabulib" and len(run["order"]) >= n_supported:
            return run, it
        prev = run
    raise RuntimeError("MES add1 completion did not stop within 10**6 iterations")


def sequential_phragmen(
    e: Any,
    *,
    tie_break: Any = None,
    on_overflow: str = "stop",
    fund_unsupported: bool = True,
    exact: bool = False,
) -> Outcome:
    """Sequential Phragmén for PB (spec §4.4; Brill et al., arXiv 2102.12305, 2302.03672).

    Voters earn money at rate 1; project c (cost(c) <= B) becomes affordable to its supporters
    at t_c = (cost(c) + sum_{N_c} w_i l_i) / s_c; the earliest is bought and its supporters' loads
    set to t_c. ``on_overflow="stop"`` (pabutools) stops once a project tied at the minimum does
    not fit; ``"skip"`` [F] drops it and goes on. Unsupported projects are then added one by one
    while all of them fit if ``fund_unsupported``. ``details["loads"]`` lists t* per selection.
    ``exact=True`` [F]: Fraction arithmetic with exact ties; loads are then Fractions (``inf``
    for unsupported projects) and ``details["cost"]`` a Fraction.
    """
    from fairsim.allocation._pb_phragmen import phragmen_kernel

    check_election(e)
    if on_overflow not in ("stop", "skip"):
        raise InputError(f"on_overflow must be 'stop' or 'skip'; got {on_overflow!r}")
    rank = tie_rank(e, tie_break)
    if _check_exact(exact):
        from fairsim.mechanisms import _budgeting_exact as ex

        xp = ex.ExactPrep(e)
        xo, xt, xties = ex.phragmen_run(xp, rank, on_overflow == "skip", bool(fund_unsupported))
        return _finish_exact(
            e,
            "sequential_phragmen",
            None,
            xo,
            xp,
            loads=xt,
            tie_breaks=_named_ties(xties, e.project_ids),
            on_overflow=on_overflow,
        )
    prep = _Prep(e)
    cand = e.costs <= e.budget + prep.eps
    skip = on_overflow == "skip"
    sel, times, _, ties, spent, stopped = phragmen_kernel(
        prep.ptr, prep.idx, prep.w, e.costs, cand, rank, e.budget, prep.eps, skip
    )
    order = [int(j) for j in sel]
    loads = [float(t) for t in times]
    if fund_unsupported and not stopped:
        rest = [int(j) for j in np.argsort(rank) if prep.s[j] == 0 and cand[j]]
        while rest:
            fits = [spent + e.costs[j] <= e.budget + prep.eps for j in rest]
            if not all(fits):
                if not skip:
                    break
                rest = [j for j, f in zip(rest, fits, strict=True) if f]
                continue
            j = rest.pop(0)
            order.append(j)
            loads.append(float("inf"))
            spent += float(e.costs[j])
    return _finish(
        e,
        "sequential_phragmen",
        None,
        order,
        loads=loads,
        tie_breaks=_ties(ties, e.project_ids),
        on_overflow=on_overflow,
    )
