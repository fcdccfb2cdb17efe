"""Compatibility oracle (spec budgeting.md §7 last bullet): hand-worked instances, re-verified
lotteries, exact certificates and the BW-GCR-PB cross-check (FJR + Strong UFS + BB1)."""

from __future__ import annotations

import itertools
from fractions import Fraction

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
    from fairsim.axioms._budgeting_compat import _solve_lp, _solve_milp

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
        lam = C._solve_milp(V, h, cw, np.array([x[0] for x in b]), np.array([x[1] for x in b]), 0)
        assert (lam is not None) == res.feasible
        if lam is not None:
            t = float(lam @ cw)
            for k in np.flatnonzero(lam > 1e-7):
                assert b[k][0] - 1e-6 <= t <= b[k][1] + 1e-6
