"""Priceability (spec budgeting.md §6.2; Peters & Skowron arXiv 1911.11747).

Golden values come from hand-worked instances; MES outcomes must be priceable (spec [D]: their
own payments are a price system); a returned price system is re-checked by a plain-loop checker
written here; a necessary condition (an unrepresented group with a large share of an unselected
project) must always be caught.
"""

from __future__ import annotations

import glob
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairsim.axioms import budgeting as ab
from fairsim.errors import InputError
from fairsim.io.pabulib import Election

mb = pytest.importorskip("fairsim.mechanisms.budgeting")


def _plain_check(sets, weights, costs, budget, W, b, pay, tol=1e-6):
    """Independent loop check of a price system ``pay[row][project]`` (per voter)."""
    n = sum(weights)
    if b < budget / n - tol:
        return False
    for i, A in enumerate(sets):
        for c in range(len(costs)):
            if pay[i][c] < -tol or (pay[i][c] > tol and not (c in A and c in W)):
                return False
        if sum(pay[i]) > b + tol:
            return False
    for c in range(len(costs)):
        if c in W:
            if abs(sum(weights[i] * pay[i][c] for i in range(len(sets))) - costs[c]) > tol * n:
                return False
        else:
            left = sum(weights[i] * (b - sum(pay[i])) for i, A in enumerate(sets) if c in A)
            if left > costs[c] + tol * n:
                return False
    return True


def _election(sets, costs, budget, weights=None):
    return Election.from_sets(
        [sorted(s) for s in sets],
        costs,
        budget,
        project_ids=[chr(ord("a") + c) for c in range(len(costs))],
        multiplicities=weights,
    )


def test_greedy_ignoring_a_group_is_not_priceable():
    # n = 4, B = 4: voters 1-3 approve {a, b} (cost 2 each), voter 4 approves {d} (cost 1).
    # Greedy(cost) buys a and b; a, b need b >= 4/3 from voters 1-3, and then voter 4's
    # leftover b >= 4/3 exceeds cost(d) = 1. Least total relaxation, with b = 1 + t:
    # budget rows 3·(1/3 − t) plus leftover row t, minimised at t = 1/3 -> 1/3.
    e = _election([{0, 1}, {0, 1}, {0, 1}, {2}], [2, 2, 1], 4)
    W = mb.greedy(e)
    assert sorted(W.selected) == ["a", "b"]
    v = ab.priceable(e, W)
    assert not v.holds
    assert v.witness["relaxation"] == pytest.approx(1 / 3, abs=1e-7)
    assert v.witness["constraint"] == "leftover"
    assert v.witness["projects"] == ["c"]
    assert v.witness["voters"] == [3]
    assert v.slack == pytest.approx(-1 / 12, abs=1e-7)
    assert ab.price_system(e, W) is None
    # MES buys a (2/3 from each of voters 1-3) and then d (voter 4): priceable with b = 1
    mes = mb.method_of_equal_shares(e)
    assert sorted(mes.selected) == ["a", "c"]
    assert ab.priceable(e, mes).holds
    assert ab.is_price_system(e, mes, 1.0, mes.details["payments"]).holds


def test_hand_instance_leftover_and_pay_rows():
    # voters 1-3 approve {a} (cost 3), voter 4 approves {c} (cost 1/2); B = 4, n = 4, b >= 1.
    e = _election([{0}, {0}, {0}, {1}], [3, 0.5], 4)
    v = ab.priceable(e, ["a"])
    assert not v.holds  # voter 4 keeps b >= 1 > cost(c) = 1/2
    assert v.witness["relaxation"] == pytest.approx(0.5, abs=1e-7)
    ps = ab.price_system(e, ["a", "b"])
    assert ps is not None
    pay = ps["payments"].toarray()
    assert pay[:3, 0] == pytest.approx([1.0, 1.0, 1.0], abs=1e-7)
    assert pay[3, 1] == pytest.approx(0.5, abs=1e-7)
    # nobody approves d-less projects in W: an unsupported funded project cannot be paid
    e2 = _election([{0}, {0}], [1, 1], 2)
    v2 = ab.priceable(e2, ["a", "b"])
    assert not v2.holds and v2.witness["relaxation_by_family"]["pay"] > 0
    # the empty outcome is priceable iff no supporters' share exceeds a cost (b = B/n = 1 is
    # best): 2·1 > 1 for a in e2; 1 <= 1 (boundary) and 1 > 0.9 below
    assert not ab.priceable(e2, []).holds
    assert ab.priceable(_election([{0}, {1}], [1, 1], 2), []).holds
    assert not ab.priceable(_election([{0}, {1}], [1, 0.9], 2), []).holds


def test_is_price_system_catches_each_row():
    e = _election([{0, 1}, {0, 1}, {0, 1}, {2}], [2, 2, 1], 4)
    W = ["a", "c"]
    good = np.array([[2 / 3, 0, 0], [2 / 3, 0, 0], [2 / 3, 0, 0], [0, 0, 1.0]])
    assert ab.is_price_system(e, W, 1.0, good).holds
    assert ab.is_price_system(e, W, 0.9, good).witness["constraint"] == "b >= B/n"
    bad = good.copy()
    bad[3, 2] = 0.5
    assert ab.is_price_system(e, W, 1.0, bad).witness["constraint"] == "pay"
    assert ab.is_price_system(e, W, 1.2, good).holds  # leftover 3·(1.2 − 2/3) = 1.6 <= 2
    assert ab.is_price_system(e, W, 1.4, good).witness["constraint"] == "leftover"
    off = good.copy()
    off[0, 1] = 0.1
    assert ab.is_price_system(e, W, 1.0, off).witness["constraint"] == "payments only on A_i ∩ W"
    with pytest.raises(InputError, match="payments must have shape"):
        ab.is_price_system(e, W, 1.0, good[:2])
    with pytest.raises(InputError, match="b must be"):
        ab.is_price_system(e, W, float("nan"), good)


instances = st.integers(1, 5).flatmap(
    lambda m: st.tuples(
        st.lists(st.sets(st.integers(0, m - 1), max_size=m), min_size=1, max_size=7),
        st.lists(st.integers(1, 9), min_size=m, max_size=m),
        st.integers(1, 20),
        st.sets(st.integers(0, m - 1), max_size=m),
    )
)


@settings(max_examples=60, deadline=None)
@given(instances, st.sampled_from(["cost", "cardinality"]))
def test_mes_outcomes_are_priceable(inst, utility):
    sets, costs, budget, _ = inst
    e = _election(sets, costs, budget)
    out = mb.method_of_equal_shares(e, utility)
    assert ab.priceable(e, out).holds
    b0 = budget / len(sets)
    assert ab.is_price_system(e, out, b0, out.details["payments"]).holds
    ps = ab.price_system(e, out)
    pay = ps["payments"].toarray()
    W = {ord(x) - ord("a") for x in out.selected}
    assert _plain_check(sets, [1] * len(sets), costs, budget, W, ps["b"], pay)


@settings(max_examples=80, deadline=None)
@given(instances)
def test_priceable_agrees_with_necessary_condition_and_its_system(inst):
    sets, costs, budget, Wset = inst
    e = _election(sets, costs, budget)
    n = len(sets)
    v = ab.priceable(e, [chr(ord("a") + c) for c in Wset])
    # an unselected project whose supporters all approve nothing in W and whose share
    # (supporters · B/n) exceeds its cost: leftovers >= B/n each, so never priceable
    for c in range(len(costs)):
        sup = [i for i in range(n) if c in sets[i]]
        if c not in Wset and sup and all(not (sets[i] & Wset) for i in sup):
            if len(sup) * budget > n * costs[c]:
                assert not v.holds
    # a funded project nobody approves cannot be paid for
    if any(all(c not in s for s in sets) for c in Wset):
        assert not v.holds
    if v.holds:
        ps = ab.price_system(e, [chr(ord("a") + c) for c in Wset])
        assert _plain_check(sets, [1] * n, costs, budget, Wset, ps["b"], ps["payments"].toarray())
    else:
        assert v.slack < 0 and v.witness["relaxation"] > 0


VENDORED = sorted(
    glob.glob(os.path.join(os.path.dirname(__file__), "..", "data", "pabulib", "*.pb"))
)


@pytest.mark.parametrize("path", VENDORED, ids=os.path.basename)
def test_mes_priceable_on_vendored_files(path):
    from fairsim.io import pabulib

    e = pabulib.read(path).compress()
    for util in ("cost", "cardinality"):
        out = mb.method_of_equal_shares(e, util)
        assert ab.priceable(e, out).holds
        b0 = e.budget / e.n_voters
        assert ab.is_price_system(e, out, b0, out.details["payments"]).holds


def test_registered():
    from fairsim import registry

    assert registry._REGISTRY["axiom:budgeting.priceable"].kind == "axiom"


def test_input_errors():
    e = _election([{0}], [1], 1)
    with pytest.raises(InputError, match="unknown project"):
        ab.priceable(e, ["zz"])
    empty = Election.from_sets([], [1.0], 1.0, project_ids=["a"])
    with pytest.raises(InputError, match="n must be > 0"):
        ab.priceable(empty, [])


# --- the PDLP fast path (large LPs): a repaired first-order point, re-checked, or simplex ---


def _fast_and_exact(e, Wnames):
    from fairsim.axioms import _budgeting_price as pr
    from fairsim.axioms._budgeting_common import outcome_mask, profile

    P = profile(e, "cost")
    Wm = outcome_mask(P, Wnames)
    return P, pr.solve(P, Wm, fast=True), pr.solve(P, Wm, fast=False)


@settings(max_examples=40, deadline=None)
@given(instances)
def test_fast_path_agrees_with_simplex_and_its_system_checks(inst):
    sets, costs, budget, Wset = inst
    e = _election(sets, costs, budget)
    names = [chr(ord("a") + c) for c in Wset]
    P, fast, exact = _fast_and_exact(e, names)
    ok_fast = fast["total"] <= fast["tol"]
    assert ok_fast == (exact["total"] <= exact["tol"])
    if ok_fast:  # the certificate itself must pass the independent loop checker
        pay = fast["payments"][P.row_class]
        assert _plain_check(sets, [1] * len(sets), costs, budget, Wset, fast["b"], pay)
    else:  # a failure always carries the simplex optimum (least total relaxation)
        assert fast["total"] == pytest.approx(exact["total"], rel=1e-9, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(instances)
def test_relaxation_of_the_simplex_point_is_the_lp_optimum(inst):
    # the fast path scores a point by _relaxation (each slack at its least value); at the
    # simplex optimum that score must equal the optimum HiGHS reports
    from fairsim.axioms import _budgeting_price as pr
    from fairsim.axioms._budgeting_common import outcome_mask, profile

    sets, costs, budget, Wset = inst
    e = _election(sets, costs, budget)
    P = profile(e, "cost")
    Wm = outcome_mask(P, [chr(ord("a") + c) for c in Wset])
    sol = pr.solve(P, Wm, fast=False)
    L = pr._build(P, Wm)
    pz = sol["payments"][L["zz"], L["cc"]] * L["scale"]
    rel = pr._relaxation(P, L, sol["b"] * L["scale"], pz)
    assert rel["total"] == pytest.approx(sol["total"], rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("path", VENDORED, ids=os.path.basename)
def test_fast_path_on_vendored_files(path):
    # MES outcomes: the fast path must find a certificate that the independent checker accepts
    from fairsim.io import pabulib

    e = pabulib.read(path).compress()
    if e.vote_type != "approval":
        pytest.skip("approval files only")
    out = mb.method_of_equal_shares(e, "cost")
    P, fast, _ = _fast_and_exact(e, out)
    assert fast["total"] <= fast["tol"]
    pay = fast["payments"][P.row_class]
    assert ab.is_price_system(e, out, fast["b"], pay, tol=1e-6 * e.budget / e.n_voters).holds


AMSTERDAM_621 = "/work/shared/data/pabulib/Netherlands_Amsterdam_621.pb"


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists(AMSTERDAM_621), reason="shared Pabulib data absent")
def test_amsterdam_621_priceability_in_seconds():
    # 60 projects, 10,081 voters, 111k payment variables: formerly 150-160 s (simplex only)
    import time

    from fairsim.io import pabulib

    e = pabulib.read(AMSTERDAM_621).compress()
    for W in (mb.method_of_equal_shares(e, "cost"), mb.greedy(e, "cost")):
        t = time.perf_counter()
        assert ab.priceable(e, W).holds
        assert time.perf_counter() - t < 30
        ps = ab.price_system(e, W)
        tol = 1e-6 * e.budget / e.n_voters
        assert ab.is_price_system(e, W, ps["b"], ps["payments"], tol=tol).holds
