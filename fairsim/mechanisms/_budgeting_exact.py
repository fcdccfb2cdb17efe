"""Exact rational paths of greedy, MES and sequential Phragmén (spec ``budgeting.md`` §1, §4).

``exact=True`` in the public rules dispatches here. Money (costs, budget, voter budgets,
payments), rho and Phragmén times are :class:`fractions.Fraction`; comparisons are exact, so
ties are exact ties broken by the rule's ``tie_break`` and there are no near ties (spec §4
"Numerics"). The rules run on ballot classes (identical approval sets merged) with integer
weights; no Python object is made per voter beyond one per class.

Rationals [F]: a cost or the budget is rebuilt from the raw ``.pb`` string kept in
``e.project_meta["cost"]`` / ``e.meta["budget"]`` (decimal comma accepted) when that string
parses to the stored float; otherwise from the shortest decimal ``repr`` of the float, so a cost
written ``0.1`` is exactly 1/10.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

F0 = Fraction(0)


def to_fraction(x: float, raw: str | None = None) -> Fraction:
    """Exact rational of a stored money value (raw string if it agrees with ``x``, else repr)."""
    if raw is not None:
        try:
            q = Fraction(raw.strip().replace(",", "."))
        except (ValueError, ZeroDivisionError):
            q = None
        if q is not None and float(q) == float(x):
            return q
    return Fraction(repr(float(x)))


class ExactPrep:
    """Ballot classes with integer weights, supporter lists and Fraction costs / budget."""

    def __init__(self, e: Any) -> None:
        cls, first = e.approval_classes()
        self.cls = cls
        w = np.bincount(cls, weights=e.multiplicities, minlength=first.size)
        self.w = [int(round(x)) for x in w]
        csc = e.approvals[first].tocsc()
        csc.sort_indices()
        ptr, idx = csc.indptr, csc.indices
        self.supp = [[int(i) for i in idx[ptr[c] : ptr[c + 1]]] for c in range(e.m)]
        self.s = [sum(self.w[i] for i in sp) for sp in self.supp]
        self.n = sum(self.w)
        raw_costs = e.project_meta.get("cost")
        self.costs = [
            to_fraction(e.costs[j], raw_costs[j] if raw_costs is not None else None)
            for j in range(e.m)
        ]
        self.budget = to_fraction(e.budget, e.meta.get("budget"))


def greedy_order(prep: ExactPrep, utility: str, rank: np.ndarray) -> list[int]:
    """Projects by (-score, tie rank), score s_c or s_c / cost(c) (+inf if cost 0 < s_c)."""

    def key(j: int) -> tuple[int, Fraction, int]:
        s, c = prep.s[j], prep.costs[j]
        if s == 0:
            return (1, F0, int(rank[j]))
        if utility == "cost":
            return (1, -Fraction(s), int(rank[j]))
        if c == 0:
            return (0, F0, int(rank[j]))
        return (1, -Fraction(s) / c, int(rank[j]))

    return sorted(range(len(prep.costs)), key=key)


def greedy_fill(
    prep: ExactPrep, utility: str, rank: np.ndarray, start: list[int], fund_unsupported: bool
) -> tuple[list[int], list[int]]:
    """Greedy (spec §4.1) from the selection ``start``; returns (selection, skipped indices)."""
    sel = list(start)
    taken = set(sel)
    spent = sum((prep.costs[j] for j in sel), F0)
    skipped: list[int] = []
    for j in greedy_order(prep, utility, rank):
        if j in taken or (prep.s[j] == 0 and not fund_unsupported):
            continue
        if spent + prep.costs[j] <= prep.budget:
            sel.append(j)
            taken.add(j)
            spent += prep.costs[j]
        else:
            skipped.append(j)
    return sel, skipped


def _rho(prep: ExactPrep, c: int, b: list[Fraction], u: Fraction) -> Fraction:
    """Least rho with sum_{N_c} w_i min(b_i, rho u) = cost(c); the caller checked affordability."""
    r = prep.costs[c]
    uu = prep.s[c] * u
    for i in sorted(prep.supp[c], key=lambda i: b[i]):
        rho = r / uu
        if rho * u <= b[i]:
            return rho
        r -= prep.w[i] * b[i]
        uu -= prep.w[i] * u
    raise AssertionError("unreachable: an affordable project always has a rho")


def mes_run(prep: ExactPrep, utility: str, rank: np.ndarray, b0: Fraction) -> dict[str, Any]:
    """One MES run (spec §4.2) with every voter starting at ``b0``; lazy rho evaluation."""
    m = len(prep.costs)
    u = list(prep.costs) if utility == "cost" else [Fraction(1)] * m
    by_rank = sorted(range(m), key=lambda j: int(rank[j]))
    order = [j for j in by_rank if prep.costs[j] == 0 and prep.s[j] > 0]
    rhos: list[Fraction] = [F0] * len(order)
    alive = {j for j in range(m) if prep.costs[j] > 0 and prep.s[j] > 0}
    stored = dict.fromkeys(alive, F0)
    b = [b0] * len(prep.w)
    pay: dict[int, dict[int, Fraction]] = {}
    ties: list[tuple[int, list[int], int]] = []
    while alive:
        best: Fraction | None = None
        fresh: dict[int, Fraction] = {}
        for c in sorted(alive, key=lambda j: (stored[j], int(rank[j]))):
            if best is not None and stored[c] > best:
                break
            if sum(prep.w[i] * b[i] for i in prep.supp[c]) < prep.costs[c]:
                alive.discard(c)
                continue
            rc = _rho(prep, c, b, u[c])
            stored[c] = fresh[c] = rc
            if best is None or rc < best:
                best = rc
        if best is None:
            break
        tied = sorted((c for c, r in fresh.items() if r == best), key=lambda j: int(rank[j]))
        chosen = tied[0]
        if len(tied) > 1:
            ties.append((len(order), tied, chosen))
        pc: dict[int, Fraction] = {}
        for i in prep.supp[chosen]:
            p = min(b[i], best * u[chosen])
            pc[i] = p
            b[i] -= p
        pay[chosen] = pc
        order.append(chosen)
        rhos.append(best)
        alive.discard(chosen)
    return {"order": order, "rho": rhos, "budgets": b, "pay": pay, "ties": ties}


def _exhaustive_supported(prep: ExactPrep, order: list[int]) -> bool:
    spent = sum((prep.costs[j] for j in order), F0)
    chosen = set(order)
    return not any(
        spent + prep.costs[j] <= prep.budget
        for j in range(len(prep.costs))
        if j not in chosen and prep.costs[j] > 0 and prep.s[j] > 0
    )


def mes_add1(
    prep: ExactPrep,
    utility: str,
    rank: np.ndarray,
    b0: Fraction,
    run: dict[str, Any],
    step: Fraction,
    convention: str,
) -> tuple[dict[str, Any], int]:
    """Add1 completion (spec §4.3) in exact arithmetic; returns (run, iterations)."""
    prev = None
    n_supported = sum(1 for j in range(len(prep.costs)) if prep.costs[j] > 0 and prep.s[j] > 0)
    for it in range(1, 10**6 + 1):
        if it > 1:
            if convention == "pabutools":
                b = b0 + (it - 1) * step
            else:
                b = Fraction((prep.budget / prep.n).__floor__() + (it - 1))
            run = mes_run(prep, utility, rank, b)
        cost = sum((prep.costs[j] for j in run["order"]), F0)
        if cost > prep.budget:
            return (prev if prev is not None else run), it
        if convention == "pabutools" and _exhaustive_supported(prep, run["order"]):
            return run, it
        if convention == "pabulib" and len(run["order"]) >= n_supported:
            return run, it
        prev = run
    raise RuntimeError("MES add1 completion did not stop within 10**6 iterations")


def phragmen_run(
    prep: ExactPrep, rank: np.ndarray, skip: bool, fund_unsupported: bool
) -> tuple[list[int], list[Fraction | float], list[tuple[int, list[int], int]]]:
    """Sequential Phragmén (spec §4.4) with exact times; returns (order, t* list, ties)."""
    m = len(prep.costs)
    load = [F0] * len(prep.w)
    alive = {c for c in range(m) if prep.costs[c] <= prep.budget and prep.s[c] > 0}
    order: list[int] = []
    times: list[Fraction | float] = []
    ties: list[tuple[int, list[int], int]] = []
    spent = F0
    stopped = False
    while alive:
        tc = {
            c: (prep.costs[c] + sum(prep.w[i] * load[i] for i in prep.supp[c])) / prep.s[c]
            for c in alive
        }
        best = min(tc.values())
        tied = sorted((c for c in alive if tc[c] == best), key=lambda j: int(rank[j]))
        misfit = [c for c in tied if spent + prep.costs[c] > prep.budget]
        if misfit:
            if not skip:
                stopped = True
                break
            alive.difference_update(misfit)
            continue
        chosen = tied[0]
        if len(tied) > 1:
            ties.append((len(order), tied, chosen))
        for i in prep.supp[chosen]:
            load[i] = best
        spent += prep.costs[chosen]
        order.append(chosen)
        times.append(best)
        alive.discard(chosen)
    if fund_unsupported and not stopped:
        rest = [
            j
            for j in sorted(range(m), key=lambda j: int(rank[j]))
            if prep.s[j] == 0 and prep.costs[j] <= prep.budget
        ]
        while rest:
            fits = [spent + prep.costs[j] <= prep.budget for j in rest]
            if not all(fits):
                if not skip:
                    break
                rest = [j for j, f in zip(rest, fits, strict=True) if f]
                continue
            j = rest.pop(0)
            order.append(j)
            times.append(float("inf"))
            spent += prep.costs[j]
    return order, times, ties
