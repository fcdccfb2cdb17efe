"""Valuation axioms: exact Shapley passes; deliberately wrong valuations are caught with witnesses."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fairsim.axioms.valuation import (
    additivity,
    efficiency,
    fairness_correlation,
    individual_rationality,
    null_player,
    stability,
    symmetry,
)
from fairsim.mechanisms.games import (
    GloveGame,
    SumGame,
    SumOfUnanimityGames,
    TableGame,
    WeightedVotingGame,
)
from fairsim.mechanisms.valuation import banzhaf, leave_one_out, shapley

games = st.builds(
    lambda n, w, q: WeightedVotingGame(w[:n], max(1, q % (sum(w[:n]) + 1))),
    st.integers(2, 6),
    st.lists(st.integers(0, 5), min_size=6, max_size=6),
    st.integers(1, 40),
)


@settings(max_examples=30, deadline=None)
@given(g=games)
def test_exact_shapley_satisfies_axioms(g):
    r = shapley(g)
    assert efficiency(g, r).holds
    assert symmetry(g, r).holds
    assert null_player(g, r).holds


@settings(max_examples=20, deadline=None)
@given(
    vals=st.lists(st.integers(-5, 5), min_size=16, max_size=16),
    other=st.lists(st.integers(-5, 5), min_size=16, max_size=16),
)
def test_additivity_of_shapley(vals, other):
    a, b = TableGame(vals), TableGame(other)
    ver = additivity(a, shapley(a), b, shapley(b), shapley(SumGame(a, b)))
    assert ver.holds


def test_banzhaf_violates_efficiency_with_witness():
    g = WeightedVotingGame([2, 1, 1], 3)
    v = efficiency(g, banzhaf(g))
    assert not v.holds and v.witness["sum"] == 1.25 and v.slack < 0


def test_symmetry_and_null_player_caught():
    g = GloveGame(2, 2)
    bad = np.array([0.6, 0.4, 0.5, 0.5])
    v = symmetry(g, bad)
    assert not v.holds and {v.witness["i"], v.witness["j"]} == {0, 1}
    nullg = SumOfUnanimityGames(3, [[0, 1]], [1.0])
    w = null_player(nullg, np.array([0.4, 0.4, 0.2]))
    assert not w.holds and w.witness["player"] == 2
    # leave-one-out is symmetric and null-player but not efficient on redundant parties
    red = TableGame([0, 1, 1, 1, 0, 1, 1, 1.0])
    assert not efficiency(red, leave_one_out(red)).holds


def test_non_additive_valuation_caught():
    a = TableGame([0, 1, 1, 3.0])
    b = TableGame([0, 2, 0, 2.0])
    s = SumGame(a, b)
    ver = additivity(a, shapley(a), b, shapley(b), np.array([9.0, 0.0]))
    assert not ver.holds and ver.witness["player"] in (0, 1)
    assert additivity(a, shapley(a), b, shapley(b), shapley(s)).holds


def test_estimates_use_stderr_tolerance():
    g = WeightedVotingGame([3, 2, 1, 1], 4)
    r = shapley(g, method="stratified", budget=300, rng=0)
    assert symmetry(g, r).holds


def test_incentive_checks():
    assert individual_rationality([1.0, 2.0], [1.0, 1.5]).holds
    v = individual_rationality([1.0, 1.0], [0.5, 1.2])
    assert not v.holds and v.witness["player"] == 1
    assert fairness_correlation([1, 2, 3], [2, 4, 7]).holds
    bad = fairness_correlation([1, 2, 3], [3, 2, 1], method="spearman")
    assert not bad.holds and bad.slack < 0
    und = fairness_correlation([1, 1, 1], [1, 2, 3])
    assert not und.holds and und.witness == {"reason": "undefined"} and np.isnan(und.slack)
    g = GloveGame(1, 2)
    phi = shapley(g).values
    st_ok = stability(np.array([1.0, 1.0, 1.0]), phi, g)
    assert st_ok.holds
    st_bad = stability(np.array([0.5, 0.0, 0.0]), phi, g)
    assert (
        not st_bad.holds
        and st_bad.witness["player"] == 0
        and st_bad.witness["coalition"] == [0, 1, 2]
    )
