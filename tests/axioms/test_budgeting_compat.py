"""Compatibility oracle (spec budgeting.md §7 last bullet): hand-worked instances, re-verified
lotteries, exact certificates and the BW-GCR-PB cross-check (FJR + Strong UFS + BB1)."""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fairsim.agents.budgeting import election_sampler
from fairsim.axioms import budgeting as ax
from fairsim.errors import InputError
from fairsim.io.pabulib import Election
from fairsim.mechanisms._budgeting_lottery import fair_lottery


def _spec51() -> Election:
    """Spec §5.1: B = 3, a and b cost 2, one voter each. UFS needs 2·p_a >= min(3/2, 2), i.e.
    p_a >= 3/4 and p_b >= 3/4, but a feasible set (cost <= 3) holds at most one of them, so
    p_a + p_b <= 1 < 3/2: no lottery over feasible sets is UFS."""
    return Election.from_sets([["a"], ["b"]], {"a": 2, "b": 2}, 3)


def _jr_ifs() -> Election:
    """B = 6, x costs 4 (2 voters), y costs 3 (3 voters), n = 5, B/n = 6/5.
    {y}-cohesive: 3·6 >= 5·3, and only y serves them, so JR puts y in every W; then x never fits
    (4 + 3 = 7 > 6). IFS for an x voter needs 4·p_x >= min(6/5, 4), p_x >= 3/10 > 0."""
    return Election.from_sets([["x"], ["x"], ["y"], ["y"], ["y"]], {"x": 4, "y": 3}, 6)


def _exact_grid_max(sets: list[set[str]], need: dict[str, Fraction], steps: int = 20) -> bool:
    """Independent check: some λ on a 1/steps grid over ``sets`` meets every p_c >= need[c]?"""
    for combo in itertools.product(range(steps + 1), repeat=len(sets)):
        if sum(combo) != steps:
            continue
        p = {
            c: sum((Fraction(k, steps) for k, s in zip(combo, sets) if c in s), Fraction(0))
            for c in need
        }
        if all(p[c] >= need[c] for c in need):
            return True
    return False


def test_spec_example_infeasible_over_feasible_sets() -> None:
    e = _spec51()
    r = ax.compatibility(e, ex_post=("feasible",), ex_ante=("ufs",), bb1="none")
    assert not r.feasible
    assert sorted(map(tuple, r.admissible)) == [(), ("a",), ("b",)]
    cert = r.certificate
    assert cert is not None and cert["exact"]
    assert Fraction(cert["bound"]) < Fraction(cert["required"])
    # independent: a grid over the three feasible sets never reaches (3/4, 3/4)
    need = {"a": Fraction(3, 4), "b": Fraction(3, 4)}
    assert not _exact_grid_max([set(), {"a"}, {"b"}], need)


def test_spec_example_feasible_with_bb1() -> None:
    e = _spec51()
    r = ax.compatibility(e, ex_post=(), ex_ante=("ufs", "strong_ufs"), bb1="two")
    assert r.feasible and r.lottery is not None
    lot = r.lottery
    assert ax.ufs(e, lot.marginals).holds
    assert ax.strong_ufs(e, lot.marginals).holds
    assert ax.bb1(lot).holds
    assert float(sum(w for w, _ in lot.support())) == pytest.approx(1.0)
    assert np.all(lot.marginals >= 0.75 - 1e-9)


def test_jr_forces_incompatibility_with_ifs() -> None:
    e = _jr_ifs()
    free = ax.compatibility(e, ex_post=("feasible",), ex_ante=("ifs",), bb1="none")
    assert free.feasible and ax.ifs(e, free.lottery.marginals).holds  # type: ignore[union-attr]
    r = ax.compatibility(e, ex_post=("jr", "feasible"), ex_ante=("ifs",), bb1="none")
    assert not r.feasible
    assert sorted(map(tuple, r.admissible)) == [("y",)]
    assert r.certificate is not None and r.certificate["exact"]
    assert set(r.certificate["rows"]) == {"ifs:class0"}  # the x voters' row
    assert Fraction(r.certificate["bound"]) == 0
    assert Fraction(r.certificate["required"]) == Fraction(6, 5) / 6  # scaled by 1/B
    # with BB1 instead of a hard budget, {x, y} is allowed (7 - 4 <= cost(p)) and it works
    r2 = ax.compatibility(e, ex_post=("jr",), ex_ante=("ifs",), bb1="two")
    assert r2.feasible and ax.bb1(r2.lottery).holds  # type: ignore[arg-type]


def test_bb1_reference_budget_filters_sets() -> None:
    e = _jr_ifs()
    r = ax.compatibility(e, ex_post=(), ex_ante=(), bb1="two", bb1_reference="budget")
    # BB1 against B = 6: cost(W) - max <= 6 and cost(W) + max_out >= 6
    assert sorted(map(tuple, r.admissible)) == [("x",), ("x", "y"), ("y",)]
    assert r.feasible


def test_no_admissible_set_is_certified() -> None:
    # total cost 1 < B = 5: against t = B no set is under-BB1 (cost(W) + max_out <= 1 < 5)
    e = Election.from_sets([["a"]], {"a": 1}, 5)
    r = ax.compatibility(e, ex_post=(), ex_ante=("ifs",), bb1="under", bb1_reference="budget")
    assert not r.feasible and r.admissible == []
    assert r.certificate is not None and "no project set" in r.certificate["reason"]
    # against t = cost(p) the full set works
    r = ax.compatibility(e, ex_post=(), ex_ante=("ifs",), bb1="under")
    assert r.feasible and r.lottery is not None
    assert r.lottery.support() == [(1.0, ["a"])]


def test_certificate_dominates_every_admissible_set() -> None:
    """The certificate's combined row is re-evaluated here on each admissible set.

    B = 13/2, n = 6. EJR: {b,d}x2 afford d (2·6.5 >= 6·1), {a}+{a,b} afford a (13 >= 12), so W
    meets {b, d} and {a, b}; with c (cost 4) the cheapest such W is {c, d, a} at 7 > 6.5, so c is
    never funded, while UFS asks the {c} voters for spend >= min(2·13/12, 4) > 0."""
    e = Election.from_sets(
        [["c"], ["c"], ["b", "d"], ["b", "d"], ["a"], ["a", "b"]],
        {"a": 2, "b": 4, "c": 4, "d": 1},
        6.5,
    )
    r = ax.compatibility(e, ex_post=("ejr", "feasible"), ex_ante=("ufs",), bb1="none")
    assert not r.feasible and r.certificate is not None
    pos = {x: i for i, x in enumerate(e.project_ids)}
    classes = [["c"], ["b", "d"], ["a"], ["a", "b"]]
    weights = [2, 2, 1, 1]
    B, n = Fraction(13, 2), Fraction(6)
    assert all("c" not in W for W in r.admissible)
    costs = [Fraction(int(c)) for c in e.costs]
    y = {int(k.split("class")[1]): Fraction(v) for k, v in r.certificate["rows"].items()}
    req = sum(
        (
            yk * min(weights[b] * B / n, sum((costs[pos[c]] for c in classes[b]), Fraction(0))) / B
            for b, yk in y.items()
        ),
        Fraction(0),
    )
    for W in r.admissible:
        val = sum(
            (
                yk * sum((costs[pos[c]] for c in classes[b] if c in W), Fraction(0)) / B
                for b, yk in y.items()
            ),
            Fraction(0),
        )
        assert val < req


def test_validation_errors() -> None:
    e = _spec51()
    with pytest.raises(InputError, match="ex_post"):
        ax.compatibility(e, ex_post=("nope",))
    with pytest.raises(InputError, match="ex_ante"):
        ax.compatibility(e, ex_ante="gfx")
    with pytest.raises(InputError, match="bb1"):
        ax.compatibility(e, bb1="one")
    with pytest.raises(InputError, match="max_projects"):
        ax.compatibility(e, max_projects=1)
    with pytest.raises(InputError, match="generator"):
        ax.find_incompatibility("impartial_culture", 4, 3, 2, 0)
    with pytest.raises(InputError, match="generator"):
        election_sampler("nope", 4, 3)
    with pytest.raises(InputError, match="trials"):
        ax.find_incompatibility(election_sampler("impartial_culture", 4, 3), 4, 3, 0, 0)


def test_search_finds_budget_feasibility_clash_and_not_bb1() -> None:
    """Strong UFS over budget-feasible sets fails on some random instances (spec §5.1's reason
    for BB1); with BB1 instead, FJR + Strong UFS is never infeasible (BW-GCR-PB)."""
    hard = ax.find_incompatibility(
        election_sampler("euclidean", 6, 5),
        6,
        5,
        30,
        3,
        ex_post=("feasible",),
        ex_ante=("strong_ufs",),
        bb1="none",
    )
    assert hard.trials == 30 and len(hard.found) > 0
    t, e, res = hard.smallest  # type: ignore[misc]
    assert res.certificate is not None and res.certificate["exact"]
    soft = ax.find_incompatibility(
        election_sampler("euclidean", 6, 5),
        6,
        5,
        30,
        3,
        ex_post=("fjr",),
        ex_ante=("strong_ufs",),
        bb1="two",
    )
    assert soft.found == [] and soft.feasible == 30


def _check_bw(e: Election) -> None:
    r = ax.compatibility(e, ex_post=("fjr",), ex_ante=("strong_ufs",), bb1="two")
    lot = fair_lottery(e, 0)
    adm = {tuple(sorted(W)) for W in r.admissible}
    for _, W in lot.support():  # BW-GCR-PB's draws are FJR, so they are admissible
        assert tuple(sorted(W)) in adm
    assert r.feasible, "FJR + Strong UFS + BB1 reported infeasible although BW-GCR-PB exists"
    got = r.lottery
    assert got is not None
    assert ax.strong_ufs(e, got.marginals).holds
    assert ax.bb1(got).holds
    for _, W in got.support():
        assert ax.fjr(e, W, utility="cardinality").holds


def test_fjr_strong_ufs_bb1_always_feasible_200_instances() -> None:
    rng = np.random.default_rng(2404)
    from fairsim.agents.budgeting import random_election

    for k in range(200):
        gen = ("impartial_culture", "euclidean")[k % 2]
        n, m = int(rng.integers(2, 7)), int(rng.integers(2, 6))
        e = random_election(gen, n, m, rng, p=0.4, radius=0.3)
        _check_bw(e)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sets(st.integers(0, 3), max_size=4), min_size=1, max_size=5),
    st.lists(st.integers(1, 6), min_size=4, max_size=4),
    st.integers(1, 12),
)
def test_fjr_strong_ufs_bb1_feasible_hypothesis(
    ballots: list[set[int]], costs: list[int], budget: int
) -> None:
    e = Election.from_sets([sorted(b) for b in ballots], costs, budget)
    _check_bw(e)


def test_bb1_milp_couples_support_and_reference() -> None:
    """Two sets with costs 0 and 4 and BB1 windows [0, hi1] and [2, 4]; the rows force
    λ1, λ2 >= 1/2, so t = cost(p) = 2 must lie in both windows: infeasible for hi1 = 1 although
    the LP without the coupling is feasible; feasible (λ = (1/2, 1/2)) for hi1 = 2."""
    from fairsim.axioms._budgeting_compat import _solve_lp
    from fairsim.axioms._budgeting_compat_bb1 import _solve_milp

    V = np.eye(2)
    h = np.array([0.5, 0.5])
    cw, lo = np.array([0.0, 4.0]), np.array([0.0, 2.0])
    assert _solve_lp(V, h, 0.0) is not None
    assert _solve_milp(V, h, cw, lo, np.array([1.0, 4.0]), 0.0) is None
    lam = _solve_milp(V, h, cw, lo, np.array([2.0, 4.0]), 0.0)
    assert lam is not None and np.allclose(lam, [0.5, 0.5], atol=1e-7)


def test_milp_agrees_with_fast_path_on_random_instances() -> None:
    from fairsim.agents.budgeting import random_election
    from fairsim.axioms import _budgeting_compat as C
    from fairsim.axioms import _budgeting_compat_bb1 as CB
    from fairsim.axioms._budgeting_common import profile

    rng = np.random.default_rng(7)
    for _ in range(25):
        e = random_election("impartial_culture", 5, 4, rng, p=0.4)
        P = profile(e, "cardinality")
        res = C.solve(P, ("ejr",), ("gfs",), "two", "marginals")
        bits, _ = C.admissible_sets(P, ("ejr",), "two", "marginals")
        sets = np.array([C._mask_of(x, 4) for x in bits])
        V, h = C._row_matrix(P, C.ex_ante_rows(P, ("gfs",)), sets)
        cw = sets.astype(float) @ P.costs
        b = [C._bb1_bounds(P.costs, s, "two") for s in sets]
        lam = CB._solve_milp(V, h, cw, np.array([x[0] for x in b]), np.array([x[1] for x in b]), 0)
        assert (lam is not None) == res.feasible
        if lam is not None:
            t = float(lam @ cw)
            for k in np.flatnonzero(lam > 1e-7):
                assert b[k][0] - 1e-6 <= t <= b[k][1] + 1e-6


# ----------------------------------------------------------------------------- BB1 pieces
# Independent exact helpers: BB1 windows, the rows of IFS (share B/n), coverage and the Farkas
# inequality of each piece, all recomputed here with Fractions from the election itself.


def _window(costs: list[Fraction], W: frozenset[int], side: str) -> tuple[Any, Any]:
    """Exact [lo, hi] of references t for which W is BB1 (spec §6.4), None = infinite."""
    inside = [costs[c] for c in W]
    outside = [costs[c] for c in range(len(costs)) if c not in W]
    cw = sum(inside, Fraction(0))
    lo = cw - max(inside, default=Fraction(0)) if side in ("two", "over") else None
    hi = cw + max(outside, default=Fraction(0)) if side in ("two", "under") else None
    return lo, hi


def _bb1_ok(costs: list[Fraction], W: frozenset[int], side: str, t: Fraction) -> bool:
    lo, hi = _window(costs, W, side)
    return (lo is None or lo <= t) and (hi is None or t <= hi)


def _ifs_rows(ballots: list[list[int]], costs: list[Fraction], B: Fraction) -> dict[str, Any]:
    """IFS rows per nonempty distinct ballot (first-row order, class index among all distinct
    ballots): Σ_{c∈A} cost_c p_c >= min(B/n, cost(A)), both sides scaled by 1/B."""
    distinct: list[tuple[int, ...]] = []
    for b in ballots:
        if tuple(sorted(b)) not in distinct:
            distinct.append(tuple(sorted(b)))
    n = Fraction(len(ballots))
    out = {}
    for k, A in enumerate(distinct):
        if A:
            rhs = min(B / n, sum((costs[c] for c in A), Fraction(0)))
            out[f"ifs:class{k}"] = ({c: costs[c] / B for c in A}, rhs / B)
    return out


def _t_set_contains(piece: dict[str, Any], t: Fraction) -> bool:
    a, b = piece["t_range"]
    lo_ok = a == "-inf" or (t > Fraction(a) if piece["open"][0] else t >= Fraction(a))
    hi_ok = b == "inf" or (t < Fraction(b) if piece["open"][1] else t <= Fraction(b))
    return lo_ok and hi_ok


def _verify_pieces(
    cert: dict[str, Any],
    ballots: list[list[int]],
    costs: list[Fraction],
    B: Fraction,
    family: list[frozenset[int]],
    side: str,
) -> None:
    """Re-check a ``bb1_pieces`` certificate from scratch: (1) coverage — at every t where the
    admissible family can change (all window ends), between them and beyond them, exactly one
    piece holds t and its sets include every W of ``family`` BB1 at t; (2) each piece's
    combined inequality max_W [y·G 1_W + (α − β)cost(W)/B] < y·h + (α·a − β·b)/B."""
    assert cert["kind"] == "bb1_pieces"
    ends = sorted(
        {v for W in family for v in _window(costs, W, side) if v is not None} | {Fraction(0)}
    )
    probes = set(ends) | {ends[0] - 1, ends[-1] + 1}
    probes |= {(x + y) / 2 for x, y in itertools.pairwise(ends)}
    pieces = cert["pieces"]
    for t in probes:
        holders = [p for p in pieces if _t_set_contains(p, t)]
        assert len(holders) == 1, (t, holders)
        sets = {family[k] for k in holders[0]["sets"]}
        assert {W for W in family if _bb1_ok(costs, W, side, t)} <= sets
    rows = _ifs_rows(ballots, costs, B)
    for p in pieces:
        y = {k: Fraction(v) for k, v in p["rows"].items()}
        al, be = Fraction(p.get("t_low", 0.0)), Fraction(p.get("t_high", 0.0))
        a, b = p["t_range"]
        req = sum((y[k] * rows[k][1] for k in y), Fraction(0))
        req += ((al * Fraction(a) if al else 0) - (be * Fraction(b) if be else 0)) / B
        best = None
        for k in p["sets"]:
            W = family[k]
            val = sum(
                (y[r] * sum((g for c, g in rows[r][0].items() if c in W), Fraction(0)) for r in y),
                Fraction(0),
            )
            val += (al - be) * sum((costs[c] for c in W), Fraction(0)) / B
            best = val if best is None else max(best, val)
        assert best is None or best < req, (p, best, req)
        assert p["exact"]


def _pieces_run(
    ballots: list[list[int]], costs: list[int], B: float, family: list[frozenset[int]], side: str
) -> tuple[Any, Any, Any]:
    """The oracle's BB1 step on a hand-chosen admissible family (as an ex-post filter would
    leave it): returns (search, certificate or None, profile)."""
    from fairsim.axioms import _budgeting_compat as C
    from fairsim.axioms import _budgeting_compat_bb1 as CB
    from fairsim.axioms._budgeting_common import profile

    m = len(costs)
    e = Election.from_sets(ballots, costs, B)
    P = profile(e, "cardinality")
    bits = [sum(1 << c for c in W) for W in family]
    rows = C.ex_ante_rows(P, ("ifs",))
    sets = np.array([C._mask_of(x, m) for x in bits])
    V, h = C._row_matrix(P, rows, sets)
    cw = sets.astype(np.float64) @ P.costs
    pts, elo, ehi = CB.bb1_breakpoints(P, bits, side)
    fc = [Fraction(c) for c in costs]

    def accept(lam: np.ndarray) -> bool:  # independent: rows, and BB1 of the support at t
        t = float(lam @ cw)
        if not np.all(V @ lam >= h - 1e-9):
            return False
        for k in np.flatnonzero(lam > 1e-9):
            lo, hi = _window(fc, family[k], side)
            if (lo is not None and float(lo) > t + 1e-9) or (
                hi is not None and float(hi) < t - 1e-9
            ):
                return False
        return True

    search = CB._bb1_piece_search(V, h, cw, P.budget, pts, elo, ehi, accept)
    cert = None if search.lam is not None else CB._piece_certificate(P, rows, bits, pts, search)
    return search, cert, (V, h, cw)


def _milp_verdict(
    family: list[frozenset[int]], costs: list[int], side: str, V: Any, h: Any, cw: Any
) -> bool:
    from fairsim.axioms._budgeting_compat_bb1 import _solve_milp

    fc = [Fraction(c) for c in costs]
    win = [_window(fc, W, side) for W in family]
    lo = np.array([-np.inf if w[0] is None else float(w[0]) for w in win])
    hi = np.array([np.inf if w[1] is None else float(w[1]) for w in win])
    return _solve_milp(V, h, cw, lo, hi, 0.0) is not None


@pytest.mark.parametrize("side", ["two", "over", "under"])
def test_bb1_alone_infeasible_hand_worked(side: str) -> None:
    """Projects a..e cost 1, B = 1, voters {a} and {b}: IFS (share B/n = 1/2) needs p_a >= 1/2
    and p_b >= 1/2. With the admissible family {a}, {b,c,d,e} the lottery is forced to
    (1/2, 1/2), so t = cost(p) = 5/2; the BB1 windows are [0, 2] and [3, 5] (two-sided;
    [0, inf) and [3, inf) over; (-inf, 2] and (-inf, 5] under) and 5/2 misses one of them.
    Without the coupling the LP is feasible, so only the BB1 pieces certify it."""
    ballots, costs = [[0], [1]], [1, 1, 1, 1, 1]
    family = [frozenset({0}), frozenset({1, 2, 3, 4})]
    search, cert, (V, h, cw) = _pieces_run(ballots, costs, 1, family, side)
    assert search.lam is None and cert is not None and cert["exact"]
    want = {"two": ["0", "2", "3", "5"], "over": ["0", "3"], "under": ["2", "5"]}[side]
    assert cert["breakpoints"] == want
    _verify_pieces(cert, ballots, [Fraction(c) for c in costs], Fraction(1), family, side)
    from fairsim.axioms._budgeting_compat import _solve_lp

    assert _solve_lp(V, h, 0.0) is not None  # the relaxation alone is feasible
    assert not _milp_verdict(family, costs, side, V, h, cw)


def test_bb1_pieces_feasible_when_windows_meet() -> None:
    """Same voters, family {a}, {b, c}: windows [0, 2] and [1, 3] contain t = 3/2."""
    family = [frozenset({0}), frozenset({1, 2})]
    search, cert, (_, _, cw) = _pieces_run([[0], [1]], [1, 1, 1], 1, family, "two")
    assert cert is None and search.lam is not None
    assert np.allclose(search.lam, [0.5, 0.5], atol=1e-7)
    assert float(search.lam @ cw) == pytest.approx(1.5)


def _grid_feasible(
    family: list[frozenset[int]], costs: list[int], side: str, V: Any, h: Any, cw: Any
) -> bool:
    """Brute force over t: the breakpoints, their midpoints and a 1/4 grid; at each t the LP over
    the sets BB1 at t (computed here) with Σλ = 1, V λ >= h, cost·λ = t."""
    from scipy.optimize import linprog

    fc = [Fraction(c) for c in costs]
    ends = sorted({v for W in family for v in _window(fc, W, side) if v is not None})
    top = sum(fc)
    probes = set(ends) | {Fraction(k, 4) for k in range(int(4 * top) + 1)}
    probes |= {(x + y) / 2 for x, y in itertools.pairwise(ends)}
    for t in sorted(probes):
        cols = [k for k, W in enumerate(family) if _bb1_ok(fc, W, side, t)]
        if not cols:
            continue
        K = len(cols)
        res = linprog(
            np.zeros(K),
            A_ub=-V[:, cols] if V.shape[0] else None,
            b_ub=-h if V.shape[0] else None,
            A_eq=np.vstack([np.ones(K), cw[cols]]),
            b_eq=[1.0, float(t)],
            method="highs",
        )
        if res.status == 0:
            return True
    return False


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sets(st.integers(0, 3), min_size=1, max_size=3), min_size=1, max_size=4),
    st.lists(st.integers(1, 5), min_size=4, max_size=4),
    st.integers(1, 10),
    st.sets(st.integers(0, 15), min_size=1, max_size=6),
    st.sampled_from(["two", "over", "under"]),
)
def test_bb1_pieces_agree_with_milp_and_grid(
    ballots: list[set[int]], costs: list[int], budget: int, fam: set[int], side: str
) -> None:
    """Random ballots, costs and an arbitrary admissible family (as any ex-post filter may
    leave): the piece search, the support MILP and brute force over t agree; an infeasible
    verdict carries a certificate that re-verifies exactly here."""
    ballots_l = [sorted(b) for b in ballots]
    family = [frozenset(c for c in range(4) if (x >> c) & 1) for x in sorted(fam)]
    search, cert, (V, h, cw) = _pieces_run(ballots_l, costs, budget, family, side)
    feasible = search.lam is not None
    assert _milp_verdict(family, costs, side, V, h, cw) == feasible
    if _grid_feasible(family, costs, side, V, h, cw):
        assert feasible
    if not feasible:
        assert cert is not None and cert["exact"]
        _verify_pieces(
            cert, ballots_l, [Fraction(c) for c in costs], Fraction(budget), family, side
        )


def test_bb1_only_infeasibility_on_structured_random_instances() -> None:
    """Instances built to make BB1 bite: voters {0} and {1}, cost(0) = cost(1) = c = B (IFS
    then forces p_0, p_1 >= 1/2), the other projects cost 1..c, a family holding {0} plus a few
    projects and {1} plus many (and maybe one random set). Every verdict agrees with the MILP
    and the grid; each BB1-only infeasibility (LP relaxation feasible) carries a certificate
    re-verified exactly here, and the seed yields several of them."""
    from fairsim.axioms._budgeting_compat import _solve_lp

    rng = np.random.default_rng(2026)
    m, bb1_only = 6, 0
    for _ in range(120):
        c = int(rng.integers(1, 4))
        costs = [c, c, *rng.integers(1, c + 1, size=m - 2).tolist()]
        fam = {1 | int(rng.integers(0, 4)) << 2, 2 | int(rng.integers(7, 16)) << 2}
        fam |= set(rng.integers(1, 1 << m, size=int(rng.integers(0, 2))).tolist())
        family = [frozenset(j for j in range(m) if (x >> j) & 1) for x in sorted(fam)]
        side = str(rng.choice(["two", "over", "under"]))
        search, cert, (V, h, cw) = _pieces_run([[0], [1]], costs, c, family, side)
        feasible = search.lam is not None
        assert _milp_verdict(family, costs, side, V, h, cw) == feasible
        if feasible:
            continue
        assert not _grid_feasible(family, costs, side, V, h, cw)
        assert cert is not None and cert["exact"]
        _verify_pieces(cert, [[0], [1]], [Fraction(x) for x in costs], Fraction(c), family, side)
        bb1_only += _solve_lp(V, h, 0.0) is not None
    assert bb1_only >= 3


def test_oracle_bb1_pieces_lotteries_pass_public_checkers() -> None:
    """Feasible over budget-feasible sets with BB1 against cost(p): where the fast paths fail
    and the piece search decides, the lottery passes the public IFS and BB1 checks, its sets
    are feasible, and the MILP route reaches the same verdict."""
    from fairsim.agents.budgeting import random_election
    from fairsim.axioms import _budgeting_compat as C
    from fairsim.axioms._budgeting_common import profile

    rng = np.random.default_rng(11)
    decided = 0
    for _ in range(40):
        e = random_election("impartial_culture", 5, 5, rng, p=0.4, budget_fraction=0.5)
        P = profile(e, "cardinality")
        r = C.solve(P, ("feasible",), ("ifs",), "two", "marginals")
        assert (
            r.feasible == C.solve(P, ("feasible",), ("ifs",), "two", "marginals", "milp").feasible
        )
        if r.details.get("decided_by") != "bb1_pieces":
            continue
        decided += 1
        lot = r.lottery
        assert lot is not None and ax.ifs(e, lot.marginals).holds and ax.bb1(lot).holds
        pos = {x: j for j, x in enumerate(e.project_ids)}
        for _, W in lot.support():
            assert sum(float(e.costs[pos[x]]) for x in W) <= float(e.budget) + 1e-9
    assert decided >= 3


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sets(st.integers(0, 3), max_size=3), min_size=1, max_size=5),
    st.lists(st.integers(1, 6), min_size=4, max_size=4),
    st.integers(1, 14),
    st.sampled_from([("feasible",), ("jr", "feasible"), ("ejr", "feasible"), ("exhaustive",)]),
    st.sampled_from([("ifs",), ("ufs",), ("strong_ifs",), ("gfs",)]),
    st.sampled_from(["two", "over", "under"]),
)
def test_bb1_against_cost_p_never_decides_alone_on_elections(
    ballots: list[set[int]],
    costs: list[int],
    budget: int,
    ex_post: tuple[str, ...],
    ex_ante: tuple[str, ...],
    side: str,
) -> None:
    """The module docstring's augmentation argument: with up-closed ex-post axioms (plus the
    budget) and ex-ante lower bounds, BB1 against t = cost(p) is feasible whenever the
    uncoupled LP is, and the lottery then passes the public BB1 check."""
    e = Election.from_sets([sorted(b) for b in ballots], costs, budget)
    free = ax.compatibility(e, ex_post=ex_post, ex_ante=ex_ante, bb1="none")
    r = ax.compatibility(e, ex_post=ex_post, ex_ante=ex_ante, bb1=side)
    assert r.feasible == free.feasible
    if r.feasible:
        assert ax.bb1(r.lottery, sided=side).holds  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["pieces", "milp"])
def test_solve_attaches_piece_certificate(monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    """The oracle end to end on the hand-worked instance, with the admissible family {a},
    {b,c,d,e} standing in for an ex-post filter that is not closed under adding projects
    (none of the offered axioms is such a filter, see the module docstring)."""
    from fairsim.axioms import _budgeting_compat as C
    from fairsim.axioms._budgeting_common import profile

    e = Election.from_sets([["a"], ["b"]], {k: 1 for k in "abcde"}, 1)
    monkeypatch.setattr(C, "admissible_sets", lambda *args: ([0b00001, 0b11110], 0))
    r = C.solve(profile(e, "cardinality"), (), ("ifs",), "two", "marginals", method)
    assert not r.feasible and r.lottery is None
    assert r.details["decided_by"] == ("milp" if method == "milp" else "bb1_pieces")
    assert sorted(map(tuple, r.admissible)) == [("a",), ("b", "c", "d", "e")]
    cert = r.certificate
    assert cert is not None and cert["kind"] == "bb1_pieces" and cert["exact"]
    pos = {x: j for j, x in enumerate(e.project_ids)}
    family = [frozenset(pos[x] for x in W) for W in r.admissible]
    _verify_pieces(cert, [[0], [1]], [Fraction(1)] * 5, Fraction(1), family, "two")
