"""Greedy Cohesive Rule, BW-GCR-PB and cost-weighted dependent rounding (spec budgeting.md
§4.6, §5.2-5.4): the worked examples exactly with Fractions, exact expectations over the
rounding support, the BB1 bound on every draw, and a fixed-seed statistical test."""

from __future__ import annotations

import random
from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairsim.errors import InputError
from fairsim.io.pabulib import Election
from fairsim.mechanisms._budgeting_lottery import (
    Lottery,
    _support,
    dependent_rounding,
    fair_lottery,
    greedy_cohesive,
)


def _example():
    return Election.from_sets(
        [{"a", "c"}, {"c", "d"}, {"b", "d"}],
        {"a": 8000, "b": 8000, "c": 12000, "d": 12000},
        30000,
    )


def test_gcr_worked_example():
    # §5.4: only beta = 1 is reachable; {a} and {b} tie as cheapest with equal group weight and
    # size: the id tuple picks {a} (voter 0), then {b} (voter 2); voter 1 cannot afford 12000.
    out = greedy_cohesive(_example(), "cardinality")
    assert out.selected == ["a", "b"]
    assert out.details["rule"] == "greedy_cohesive" and out.details["cost"] == 16000
    assert out.details["tie_breaks"][0] == (0, [["a"], ["b"]], ["a"])
    assert [g["projects"] for g in out.details["groups"]] == [["a"], ["b"]]


def test_gcr_prefers_cheaper_over_heavier_group():
    # T = {c} (cost 12000) has w(S) = 2 but {a} is cheaper at the same beta: cost before weight.
    out = greedy_cohesive(_example(), "cardinality")
    assert out.selected[0] == "a"


def test_gcr_cost_utility_picks_largest_beta():
    # cost utility: voters 0..2 approve x (cost 6) and y (cost 3), B = 9, n = 3.
    # T = {x, y}: u = 9, need 3·9/9 = 3 voters: beta* = 9. Selected in id order.
    e = Election.from_sets([{"x", "y"}] * 3, {"x": 6, "y": 3}, 9)
    out = greedy_cohesive(e, "cost")
    assert out.selected == ["x", "y"]
    assert out.details["groups"][0]["beta"] == 9


def test_gcr_max_projects():
    e = Election.from_sets([set(range(5))], [1] * 5, 3)
    with pytest.raises(InputError, match="max_projects=4"):
        greedy_cohesive(e, max_projects=4, method="enumerate")
    assert len(greedy_cohesive(e, max_projects=5, method="enumerate").selected) == 3
    # "auto" (and "bnb") need no limit: unit costs, B = 3, one ballot -> the 3 smallest ids
    assert greedy_cohesive(e, max_projects=4).selected == ["0", "1", "2"]
    with pytest.raises(InputError, match="method"):
        greedy_cohesive(e, method="brute")
    with pytest.raises(InputError, match="utility"):
        greedy_cohesive(e, utility="borda")


def test_fair_lottery_worked_example_exact():
    L = fair_lottery(_example(), 0)
    assert isinstance(L, Lottery)
    assert L.details["W_gcr"] == ["a", "b"]
    assert L.details["p_exact"] == [1, 1, 1, F(1, 6)]
    np.testing.assert_allclose(L.marginals, [1, 1, 1, 1 / 6])
    assert L.support() == [(F(5, 6), ["a", "b", "c"]), (F(1, 6), ["a", "b", "c", "d"])]
    assert L.project_ids == ["a", "b", "c", "d"] and L.budget == 30000


def test_fair_lottery_second_example():
    e = Election.from_sets([{"a", "b"}] + [{"b"}] * 3, {"a": 1000, "b": 5000}, 5000)
    L = fair_lottery(e)
    assert L.details["W_gcr"] == ["a"]
    assert L.details["p_exact"] == [1, F(4, 5)]


def test_fair_lottery_sampling_frequencies():
    L = fair_lottery(_example(), 123)
    draws = [tuple(L.sample()) for _ in range(6000)]
    share = draws.count(("a", "b", "c", "d")) / len(draws)
    # Binomial(6000, 1/6): sd = 0.0048; 5 sd bound
    assert abs(share - 1 / 6) < 0.025
    assert set(draws) == {("a", "b", "c"), ("a", "b", "c", "d")}
    # a seed reproduces the draws
    assert [L.sample(7) for _ in range(3)] == [fair_lottery(_example()).sample(7) for _ in range(3)]


def _bb1_ok(costs, p, mask, last_costs_ok=True):
    cost_p = sum(F(c) * F(x) for c, x in zip(costs, p))
    cw = sum(F(c) for c, s in zip(costs, mask) if s)
    inside = [F(c) for c, s in zip(costs, mask) if s]
    outside = [F(c) for c, s in zip(costs, mask) if not s]
    over = cw <= cost_p or cw - max(inside) <= cost_p
    under = cw >= cost_p or cw + max(outside) >= cost_p
    return over and under


rational_inputs = st.integers(1, 7).flatmap(
    lambda m: st.tuples(
        st.lists(st.integers(0, 9), min_size=m, max_size=m),
        st.lists(st.integers(0, 6).map(lambda k: F(k, 6)), min_size=m, max_size=m),
    )
)


@settings(max_examples=60, deadline=None)
@given(rational_inputs)
def test_rounding_support_exact_marginals_and_bb1(inp):
    costs, p = inp
    cF = [F(c) for c in costs]
    sup = _support(cF, list(p), 65536)
    assert sum(sup.values()) == 1
    for c in range(len(p)):
        assert sum(prob for key, prob in sup.items() if c in key) == p[c]
    for key in sup:
        mask = [c in key for c in range(len(p))]
        assert _bb1_ok(costs, p, mask)
        # entries at 1 stay selected, entries at 0 stay out
        assert all(mask[c] for c in range(len(p)) if p[c] == 1)
        assert not any(mask[c] for c in range(len(p)) if p[c] == 0)


@settings(max_examples=60, deadline=None)
@given(rational_inputs, st.integers(0, 2**32 - 1))
def test_rounding_draws_exact_and_float(inp, seed):
    costs, p = inp
    exact = dependent_rounding([F(c) for c in costs], p, seed)
    assert exact.dtype == bool and exact.shape == (len(p),)
    assert _bb1_ok(costs, p, exact)
    fl = dependent_rounding(np.array(costs, float), np.array([float(x) for x in p]), seed)
    assert _bb1_ok(costs, p, fl)
    assert np.array_equal(dependent_rounding([F(c) for c in costs], p, seed), exact)


def test_rounding_float_marginals_fixed_seed():
    rnd = random.Random(11)
    rng = np.random.default_rng(2024)
    m = 9
    costs = np.array([rnd.uniform(0.5, 10) for _ in range(m)])
    p = np.array([rnd.random() for _ in range(m)])
    p[2], p[5] = 1.0, 0.0
    N = 20000
    hits = np.zeros(m)
    cost_p = float(costs @ p)
    for _ in range(N):
        W = dependent_rounding(costs, p, rng)
        hits += W
        cw = float(costs[W].sum())
        assert cw <= cost_p + 1e-9 or cw - costs[W].max() <= cost_p + 1e-9
        assert cw >= cost_p - 1e-9 or cw + costs[~W].max() >= cost_p - 1e-9
    sd = np.sqrt(p * (1 - p) / N)
    assert np.all(np.abs(hits / N - p) <= 5 * sd + 1e-12)
    assert hits[2] == N and hits[5] == 0


def test_rounding_input_errors():
    with pytest.raises(InputError, match="same length"):
        dependent_rounding([1, 2], [0.5], 0)
    with pytest.raises(InputError, match=r"p\[0\]=1.5"):
        dependent_rounding([1], [1.5], 0)
    with pytest.raises(InputError, match=r"costs\[1\]"):
        dependent_rounding([1, -2], [0.5, 0.5], 0)


def test_support_limit():
    L = Lottery(["a", "b", "c"], np.array([1.0, 1.0, 1.0]), 1.0, np.array([0.5, 0.5, 0.5]))
    # pair (a, b): alpha = gamma = 1/2 -> {a} or {b}; then c alone is drawn w.p. 1/2
    assert L.support() == [(0.25, ["a"]), (0.25, ["a", "c"]), (0.25, ["b"]), (0.25, ["b", "c"])]
    with pytest.raises(InputError, match="max_outcomes=1"):
        L.support(max_outcomes=1)


def test_registry_entries():
    from fairsim import registry

    gcr = registry._REGISTRY["mechanism:budgeting.greedy_cohesive"]
    lot = registry._REGISTRY["mechanism:budgeting.fair_lottery"]
    assert not gcr.randomized and "fjr" in gcr.claims
    assert lot.randomized and set(lot.claims) >= {"strong_ufs", "fjr", "bb1"}
