"""The Greedy Cohesive Rule without enumeration (spec budgeting.md §4.6, §5.3): the branch and
bound ("bnb") and MILP ("milp") paths return the enumeration's outcome (selection, groups with β,
tie lists) on random and tie-heavy small elections; the §5.4 example by hand; on real Pabulib
files the outcome is FJR (GCR ⇒ FJR, checked by the independent axiom code) and BW-GCR-PB's
marginals pass Strong UFS with W_G inside every draw."""

from __future__ import annotations

import os
import random
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairsim.errors import InputError
from fairsim.io.pabulib import Election, read
from fairsim.mechanisms._budgeting_lottery import fair_lottery, greedy_cohesive

DATA = "/work/shared/data/pabulib"
NOWOLIPKI = os.path.join(DATA, "Poland_Warszawa_2017_Nowolipki__Powazki.pb")


def _key(out):
    return out.selected, out.details["groups"], out.details["tie_breaks"]


def _random_election(r: random.Random, m_max: int = 10, ties: bool = False) -> Election:
    m = r.randint(1, m_max)
    if ties:  # few distinct costs and repeated ballots: many equal β, cost, weight and size
        costs = [r.choice([2, 2, 3]) for _ in range(m)]
    else:
        costs = [
            r.choice([1, 2, 3, 5, 8]) if r.random() < 0.7 else r.randint(0, 12) for _ in range(m)
        ]
    B = r.randint(1, max(1, sum(costs)))
    nb = r.randint(1, 8)
    p = r.choice([0.3, 0.5, 0.8])
    sets = [{c for c in range(m) if r.random() < p} for _ in range(nb)]
    if ties:
        sets = sets + [set(s) for s in sets]
    mult = [r.randint(1, 3) for _ in sets]
    return Election.from_sets(sets, costs, B, multiplicities=mult)


@pytest.mark.parametrize("method", ["bnb", "milp"])
@pytest.mark.parametrize("utility", ["cardinality", "cost"])
def test_equals_enumeration_seeded(method, utility):
    r = random.Random(7 if method == "bnb" else 8)
    for _ in range(60 if method == "bnb" else 25):
        e = _random_election(r, m_max=12 if method == "bnb" else 9)
        ref = greedy_cohesive(e, utility, method="enumerate")
        assert _key(greedy_cohesive(e, utility, method=method)) == _key(ref)


@pytest.mark.parametrize("method", ["bnb", "milp"])
def test_equals_enumeration_with_ties(method):
    r = random.Random(3)
    tied_rounds = 0
    for _ in range(30 if method == "bnb" else 12):
        e = _random_election(r, m_max=9, ties=True)
        for utility in ("cardinality", "cost"):
            ref = greedy_cohesive(e, utility, method="enumerate")
            tied_rounds += len(ref.details["tie_breaks"])
            assert _key(greedy_cohesive(e, utility, method=method)) == _key(ref)
    assert tied_rounds >= 5  # the instances really exercise the tie chain


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["cardinality", "cost"]))
def test_bnb_equals_enumeration_property(seed, utility):
    e = _random_election(random.Random(seed), m_max=8)
    ref = greedy_cohesive(e, utility, method="enumerate")
    assert _key(greedy_cohesive(e, utility, method="bnb")) == _key(ref)


@pytest.mark.parametrize("method", ["bnb", "milp"])
def test_worked_example(method):
    # §5.4: n = 3, B = 30000; {a} and {b} tie at β = 1 as cheapest (8000) with weight 1 and
    # size 1; the id tuple picks {a} (voter 1), then {b} (voter 3); voter 2 alone has a share
    # of 10000 < 12000.
    e = Election.from_sets(
        [{"a", "c"}, {"c", "d"}, {"b", "d"}],
        {"a": 8000, "b": 8000, "c": 12000, "d": 12000},
        30000,
    )
    out = greedy_cohesive(e, "cardinality", method=method)
    assert out.selected == ["a", "b"]
    assert out.details["tie_breaks"][0] == (0, [["a"], ["b"]], ["a"])
    assert [(g["projects"], g["beta"], g["weight"]) for g in out.details["groups"]] == [
        (["a"], 1.0, 1),
        (["b"], 1.0, 1),
    ]
    # cost utility: β*({c}) = 12000 needs 2 voters (12000·3/30000 = 1.2): voters 1, 2.
    # β*({c, d}) = 12000 too but costs more; {a, c} gives voter 1 20000 but needs 2.8 voters.
    # Then voter 3 alone: {b} (8000 <= 10000) with β = 8000.
    out = greedy_cohesive(e, "cost", method=method)
    assert out.selected == ["c", "b"]
    assert [(g["projects"], g["beta"]) for g in out.details["groups"]] == [
        (["c"], 12000.0),
        (["b"], 8000.0),
    ]


def test_wide_round_falls_back_to_milp():
    # 64 projects costing 100 + c, all approved by everyone, B = 300: every project survives
    # the reductions (cost <= B), so "bnb" hands the round to the MILP. β = 2 is the most two
    # projects can give within 300; the cheapest pair is {p00, p01} (201), unique.
    ids = [f"p{c:02d}" for c in range(64)]
    e = Election.from_sets([set(ids)] * 3, {p: 100 + c for c, p in enumerate(ids)}, 300)
    out = greedy_cohesive(e, "cardinality")
    assert out.selected == ["p00", "p01"]
    assert out.details["groups"] == [{"projects": ["p00", "p01"], "beta": 2.0, "weight": 3}]
    assert out.details["tie_breaks"] == []


def test_method_validation_and_limits():
    e = Election.from_sets([set(range(25))], [1] * 25, 3)
    with pytest.raises(InputError, match="method"):
        greedy_cohesive(e, method="ilp")
    with pytest.raises(InputError, match="max_projects=20"):
        greedy_cohesive(e, method="enumerate")
    out = greedy_cohesive(e)  # "auto": 25 > 20 projects, so no enumeration
    # everyone approves everything at unit cost, B = 3: any 3 projects give β = 3; the id tuple
    # (string order) picks "0", "1", "10"
    assert out.selected == ["0", "1", "10"]
    assert out.details["groups"][0]["beta"] == 3.0


def _nowolipki():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read(NOWOLIPKI).compress()


needs_data = pytest.mark.skipif(not os.path.exists(NOWOLIPKI), reason="Pabulib file absent")


@needs_data
@pytest.mark.parametrize("utility", ["cardinality", "cost"])
def test_real_file_outcome_is_fjr(utility):
    from fairsim.axioms.budgeting import fjr

    e = _nowolipki()
    assert len(e.project_ids) == 30
    out = greedy_cohesive(e, utility)  # auto: 30 > 20 projects
    pos = {p: c for c, p in enumerate(e.project_ids)}
    assert sum(e.costs[pos[p]] for p in out.selected) <= e.budget
    v = fjr(e, out, utility=utility)
    assert v.holds, v.witness
    # the groups are disjoint and each pays for its T: Σ weights <= n
    assert sum(g["weight"] for g in out.details["groups"]) <= int(e.multiplicities.sum())


@needs_data
def test_real_file_fair_lottery():
    from fairsim.axioms.budgeting import strong_ufs

    e = _nowolipki()
    L = fair_lottery(e, 5)
    W = set(L.details["W_gcr"])
    assert W and W == set(greedy_cohesive(e, "cardinality", method="bnb").selected)
    assert strong_ufs(e, L).holds
    assert float(np.asarray(e.costs) @ L.marginals) <= e.budget * (1 + 1e-12)
    frac = sum(1 for x in L.details["p_exact"] if 0 < x < 1)
    if frac <= 12:
        for prob, S in L.support():
            assert prob > 0 and W <= set(S)
    for _ in range(200):
        assert W <= set(L.sample())


@pytest.mark.parametrize("method", ["bnb", "milp"])
def test_equals_enumeration_fractional_costs(method):
    # non-integral costs (0.1 steps are not binary fractions): β is real-valued, so the search
    # runs with the rule's tolerances instead of integer steps
    r = random.Random(11)
    for _ in range(25 if method == "bnb" else 10):
        m = r.randint(1, 8)
        costs = [round(r.choice([0.1, 0.3, 0.7, 1.25, 2.2]) * r.randint(1, 4), 2) for _ in range(m)]
        B = round(r.uniform(0.2, sum(costs)), 1) or 0.1
        sets = [{c for c in range(m) if r.random() < 0.5} for _ in range(r.randint(1, 7))]
        e = Election.from_sets(sets, costs, B)
        for utility in ("cardinality", "cost"):
            ref = greedy_cohesive(e, utility, method="enumerate")
            assert _key(greedy_cohesive(e, utility, method=method)) == _key(ref)


def test_time_limit_stops_the_search_with_a_clear_error():
    # 26 projects, 40 random ballots: branch and bound and MILP both need more than 1 µs
    import random

    from fairsim.errors import InputError
    from fairsim.io.pabulib import Election
    from fairsim.mechanisms.budgeting import greedy_cohesive

    rnd = random.Random(3)
    ids = [f"p{j:02d}" for j in range(26)]
    sets = [{p for p in ids if rnd.random() < 0.4} for _ in range(40)]
    e = Election.from_sets(sets, {p: rnd.randint(1, 9) for p in ids}, 40)
    for method in ("bnb", "milp"):
        with pytest.raises(InputError, match=r"time_limit=1e-06 s"):
            greedy_cohesive(e, "cardinality", method=method, time_limit=1e-6)
    with pytest.raises(InputError, match="time_limit"):
        greedy_cohesive(e, time_limit=0)
    # a generous limit changes nothing
    a = greedy_cohesive(e, "cardinality", method="bnb")
    b = greedy_cohesive(e, "cardinality", method="bnb", time_limit=300)
    assert a.selected == b.selected


def test_fair_lottery_names_its_gcr_arguments_in_errors():
    from fairsim.errors import InputError
    from fairsim.io.pabulib import Election
    from fairsim.mechanisms.budgeting import fair_lottery

    e = Election.from_sets([{"a"}, {"b"}], {"a": 1, "b": 1}, 2)
    with pytest.raises(InputError, match="gcr_method must be one of"):
        fair_lottery(e, gcr_method="greedy")
    with pytest.raises(InputError, match="time_limit must be a number of seconds > 0"):
        fair_lottery(e, time_limit=-1)
