"""Tests of the PB rules (spec budgeting.md §4) against independent exact references."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairsim import registry
from fairsim.errors import InputError
from fairsim.io.pabulib import Election
from fairsim.mechanisms.budgeting import (
    greedy,
    max_welfare,
    method_of_equal_shares,
    sequential_phragmen,
)


def ref_mes(sets, costs, budget, mult, utility):
    """Pure-Python MES with Fractions (spec §4.2), ties by str id; voters expanded."""
    ids = sorted(costs, key=str)
    voters = [s for s, k in zip(sets, mult, strict=True) for _ in range(k)]
    n = len(voters)
    b = [Fraction(budget) / n] * n
    chosen: list[str] = []
    supp = {c: [i for i, s in enumerate(voters) if c in s] for c in ids}
    chosen += [c for c in ids if costs[c] == 0 and supp[c]]
    cand = [c for c in ids if costs[c] > 0 and supp[c]]
    while True:
        best, arg = None, None
        for c in list(cand):
            cost = Fraction(costs[c])
            u = cost if utility == "cost" else Fraction(1)
            if sum(b[i] for i in supp[c]) < cost:
                cand.remove(c)
                continue
            # least rho with sum min(b_i, rho u) = cost, by scanning candidate breakpoints
            pays = sorted(supp[c], key=lambda i: b[i])
            r, cnt = cost, len(pays)
            for i in pays:
                rho = r / (cnt * u)
                if rho * u <= b[i]:
                    break
                r -= b[i]
                cnt -= 1
            if best is None or rho < best:
                best, arg = rho, c
        if arg is None:
            return chosen
        u = Fraction(costs[arg]) if utility == "cost" else Fraction(1)
        for i in supp[arg]:
            b[i] -= min(b[i], best * u)
        chosen.append(arg)
        cand.remove(arg)


def election(sets, costs, budget, mult=None):
    return Election.from_sets(sets, costs, budget, multiplicities=mult)


# ------------------------------------------------------------------ hand-worked
def test_mes_hand_example_cost_utility() -> None:
    # 4 voters, B = 4 (1 each). a (cost 3) by v1..v3, b (cost 2) by v4 only, c (cost 1) by v4.
    # rho_a = 3/(3*3) -> each pays 1 (all of it); b needs 2 > v4's 1: unaffordable; c: v4 pays 1.
    e = election([{"a"}, {"a"}, {"a"}, {"b", "c"}], {"a": 3, "b": 2, "c": 1}, 4)
    out = method_of_equal_shares(e, "cost")
    assert out.selected == ["a", "c"]
    assert out.details["cost"] == 4.0
    assert out.details["rho"] == pytest.approx([1 / 3, 1.0])
    assert np.allclose(out.details["voter_budgets"], 0.0)
    pay = out.details["payments"].toarray()
    assert np.allclose(pay.sum(axis=0), [3, 0, 1])


def test_greedy_skips_and_continues() -> None:
    # support: a 3, b 2, c 1 ; costs 3, 3, 1 ; B = 4 -> a, skip b, c.
    e = election([{"a", "b"}, {"a", "b"}, {"a", "c"}], {"a": 3, "b": 3, "c": 1}, 4)
    out = greedy(e)
    assert out.selected == ["a", "c"] and out.details["skipped"] == ["b"]
    # cardinality: densities a 1, b 2/3, c 1 -> tie a/c by id: a, c, then b skipped
    assert greedy(e, "cardinality").selected == ["a", "c"]


def test_tie_break_is_plain_string_order() -> None:
    # "10" and "2" are tied everywhere; only one fits; plain str order picks "10".
    e = Election.from_sets([{"2", "10"}], [1.0, 1.0], 1.0, project_ids=["2", "10"])
    for rule in (greedy, method_of_equal_shares, max_welfare):
        out = rule(e)
        assert out.selected == ["10"], rule
    out = sequential_phragmen(e)
    assert out.selected == ["10"]
    assert method_of_equal_shares(e).details["tie_breaks"] == [(0, ["10", "2"], "10")]
    # a callable key on the index reverses it
    assert greedy(e, tie_break=lambda j: j).selected == ["2"]


def test_cost_then_votes_tie_break() -> None:
    e = Election.from_sets([{"a", "b"}, {"b"}], [2.0, 2.0, 1.0], 2.0, project_ids=["a", "b", "c"])
    # greedy cardinality: b density 1, a 1/2 -> b; cost_then_votes changes nothing here
    assert greedy(e, "cardinality", tie_break="cost_then_votes").selected == ["b"]
    with pytest.raises(InputError, match="tie_break"):
        greedy(e, tie_break="nope")


def test_phragmen_hand_example() -> None:
    # c (cost 1, v1 v3): t = 1/2 -> loads v1 = v3 = 1/2.
    # then a (cost 2, v1 v2): t = (2 + 1/2)/2 = 5/4 ; b (cost 1, v3): t = (1 + 1/2)/1 = 3/2.
    e = election([{"a", "c"}, {"a"}, {"b", "c"}], {"a": 2, "b": 1, "c": 1}, 4)
    out = sequential_phragmen(e)
    assert out.selected == ["c", "a", "b"]
    assert out.details["loads"] == pytest.approx([0.5, 1.25, 1.5])
    # with B = 3, b does not fit after c and a: stop
    e3 = election([{"a", "c"}, {"a"}, {"b", "c"}], {"a": 2, "b": 1, "c": 1}, 3)
    assert sequential_phragmen(e3).selected == ["c", "a"]


def test_phragmen_stop_versus_skip() -> None:
    # x (cost 1, v1-v3) at t = 1/3; big (cost 4, v1-v3) at (4 + 1)/3 = 5/3 does not fit (B = 4);
    # s (cost 2, v4) would come at t = 2.
    sets = [{"x", "big"}, {"x", "big"}, {"x", "big"}, {"s"}]
    e = election(sets, {"x": 1, "big": 4, "s": 2}, 4)
    assert sequential_phragmen(e).selected == ["x"]
    assert sequential_phragmen(e, on_overflow="skip").selected == ["x", "s"]


def test_mes_completions() -> None:
    # MES(cost) alone leaves money: completion greedy spends it.
    e = election([{"a"}, {"a"}, {"b"}, {"c"}], {"a": 2, "b": 3, "c": 1}, 4)
    plain = method_of_equal_shares(e)
    assert plain.selected == ["a", "c"]  # b costs 3 > v3's 1
    assert method_of_equal_shares(e, completion="greedy").selected == ["a", "c"]
    e2 = election([{"a"}, {"a"}, {"b"}, {"b"}], {"a": 2, "b": 3}, 4)
    assert method_of_equal_shares(e2).selected == ["a"]
    g = method_of_equal_shares(e2, completion="greedy")
    assert g.selected == ["a"]  # b does not fit in the remaining 2
    e3 = election([{"a"}, {"a"}, {"b"}, {"b"}], {"a": 2, "b": 3}, 6)
    # budgets 1.5 each: a affordable (3 >= 2), b: 3 >= 3 -> both
    assert sorted(method_of_equal_shares(e3).selected) == ["a", "b"]
    e4 = election([{"a"}, {"a"}, {"a"}, {"b"}], {"a": 3, "b": 2}, 5)
    # budgets 1.25: a ok; b needs 2 > 1.25. add1 (+1 per voter): b becomes affordable, cost 5.
    assert method_of_equal_shares(e4).selected == ["a"]
    out = method_of_equal_shares(e4, completion="add1")
    assert out.selected == ["a", "b"] and out.details["add1_iterations"] == 2
    assert method_of_equal_shares(e4, completion="greedy").selected == ["a", "b"]


def test_invalid_arguments() -> None:
    e = election([{"a"}], {"a": 1}, 1)
    with pytest.raises(InputError, match="utility"):
        greedy(e, "welfare")
    with pytest.raises(InputError, match="completion"):
        method_of_equal_shares(e, completion="phragmen")
    with pytest.raises(InputError, match="on_overflow"):
        sequential_phragmen(e, on_overflow="x")
    with pytest.raises(InputError, match="Election"):
        greedy({"a": 1})


def test_registered() -> None:
    names = {x.name for x in registry.entries("mechanism", domain="budgeting")}
    import fairsim.mechanisms.budgeting  # noqa: F401

    names |= {x.name for x in registry.entries("mechanism", domain="budgeting")}
    assert {"budgeting.greedy", "budgeting.method_of_equal_shares"} <= names


# ------------------------------------------------------------------- properties
instances = st.integers(1, 5).flatmap(
    lambda m: st.tuples(
        st.lists(st.integers(1, 6), min_size=m, max_size=m),
        st.lists(st.lists(st.integers(0, m - 1), max_size=m).map(set), min_size=1, max_size=6),
        st.integers(1, 12),
        st.lists(st.integers(1, 3), min_size=6, max_size=6),
    )
)


def _mk(inst):
    costs, sets, budget, mult = inst
    ids = [str(j) for j in range(len(costs))]
    cmap = dict(zip(ids, costs, strict=True))
    ssets = [{ids[j] for j in s} for s in sets]
    return ssets, cmap, budget, mult[: len(sets)]


@settings(max_examples=60, deadline=None)
@given(instances, st.sampled_from(["cost", "cardinality"]))
def test_mes_matches_fraction_reference(inst, utility) -> None:
    sets, costs, budget, mult = _mk(inst)
    e = election(sets, costs, budget, mult)
    got = method_of_equal_shares(e, utility).selected
    assert (
        got == ref_mes(sets, costs, budget, mult, utility)
        or method_of_equal_shares(e, utility).details["near_ties"]
    )


@settings(max_examples=60, deadline=None)
@given(instances, st.sampled_from(["cost", "cardinality"]))
def test_max_welfare_matches_brute_force(inst, utility) -> None:
    sets, costs, budget, mult = _mk(inst)
    e = election(sets, costs, budget, mult)
    supp = {c: sum(k for s, k in zip(sets, mult, strict=True) if c in s) for c in costs}
    best = 0
    for r in range(len(costs) + 1):
        for t in itertools.combinations(costs, r):
            if sum(costs[c] for c in t) <= budget:
                val = sum(supp[c] * (costs[c] if utility == "cost" else 1) for c in t)
                best = max(best, val)
    out = max_welfare(e, utility)
    assert out.details["welfare"] == best
    assert out.details["cost"] <= budget


@settings(max_examples=40, deadline=None)
@given(instances)
def test_rules_invariant_under_compress_and_row_split(inst) -> None:
    sets, costs, budget, mult = _mk(inst)
    e = election(sets, costs, budget, mult)
    expanded = election(
        [s for s, k in zip(sets, mult, strict=True) for _ in range(k)], costs, budget
    )
    for rule in (
        lambda x: greedy(x, "cardinality"),
        lambda x: method_of_equal_shares(x, "cost", completion="greedy"),
        lambda x: method_of_equal_shares(x, "cardinality"),
        sequential_phragmen,
    ):
        a = rule(e).selected
        assert rule(e.compress()).selected == a
        assert rule(expanded).selected == a


@settings(max_examples=40, deadline=None)
@given(instances, st.sampled_from(["cost", "cardinality"]))
def test_feasible_and_greedy_exhaustive(inst, utility) -> None:
    sets, costs, budget, mult = _mk(inst)
    e = election(sets, costs, budget, mult)
    for out in (
        greedy(e, utility),
        method_of_equal_shares(e, utility),
        method_of_equal_shares(e, utility, completion="greedy"),
        method_of_equal_shares(e, utility, completion="add1"),
        sequential_phragmen(e),
    ):
        assert sum(costs[c] for c in out.selected) <= budget
        assert len(set(out.selected)) == len(out.selected)
    g = set(greedy(e, utility).selected)
    spent = sum(costs[c] for c in g)
    assert all(spent + costs[c] > budget for c in costs if c not in g)
