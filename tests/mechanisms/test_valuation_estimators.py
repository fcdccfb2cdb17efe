"""Sampling estimators: unbiasedness, honest standard errors, budgets and stopping (spec §5, §6, §8)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairsim.mechanisms.games import GloveGame, SumOfUnanimityGames, WeightedVotingGame
from fairsim.mechanisms.valuation import (
    MaxEvaluations,
    MaxTime,
    RankStability,
    StandardError,
    banzhaf,
    shapley,
)

GAME = WeightedVotingGame([4, 3, 2, 2, 1, 1], 7)
# Exact Shapley of GAME by Fraction brute force over 720 orderings (tests/mechanisms/test_games).
SEEDS = 50


def _exact():
    from fractions import Fraction

    from tests.mechanisms.test_games import brute_shapley

    tab = GAME.table()
    return np.array([float(x) for x in brute_shapley(lambda m: Fraction(tab[m]), 6)])


EXACT = _exact()


@pytest.mark.parametrize("method", ["permutation", "antithetic", "stratified", "owen", "svarm"])
def test_unbiased_and_stderr_honest(method):
    runs = [shapley(GAME, method=method, budget=300, rng=s) for s in range(SEEDS)]
    est = np.array([r.values for r in runs])
    se = np.array([r.stderr for r in runs])
    sd = est.std(axis=0, ddof=1)
    assert np.all(np.abs(est.mean(axis=0) - EXACT) <= 4 * sd / np.sqrt(SEEDS) + 1e-12)
    # reported stderr within 1.5x of the seed-to-seed standard deviation
    ok = sd > 1e-9
    ratio = np.nanmean(se, axis=0)[ok] / sd[ok]
    assert np.all((ratio > 1 / 1.5) & (ratio < 1.5)), ratio
    assert all(r.evaluations <= 300 for r in runs)


def test_msr_banzhaf_unbiased():
    exact = banzhaf(GAME).values
    runs = [banzhaf(GAME, method="msr", budget=400, rng=s) for s in range(SEEDS)]
    est = np.array([r.values for r in runs])
    sd = est.std(axis=0, ddof=1)
    assert np.all(np.abs(est.mean(axis=0) - exact) <= 4 * sd / np.sqrt(SEEDS))
    ratio = np.mean([r.stderr for r in runs], axis=0) / sd
    assert np.all((ratio > 1 / 1.5) & (ratio < 1.5))


def test_coverage_of_95_percent_intervals():
    hits = 0
    for s in range(40):
        r = shapley(GAME, method="permutation", budget=600, rng=1000 + s)
        hits += int(np.sum(np.abs(r.values - EXACT) <= 1.96 * r.stderr))
    assert hits / (40 * 6) >= 0.85


@pytest.mark.parametrize("method", ["permutation", "antithetic"])
def test_permutation_estimates_are_exactly_efficient(method):
    g = GloveGame(3, 4)
    r = shapley(g, method=method, budget=500, rng=7)
    assert r.values.sum() == pytest.approx(3.0, abs=1e-12)


def test_kernel_full_enumeration_is_exact_and_sampling_is_efficient():
    g = SumOfUnanimityGames(6, [[0, 1], [2, 3, 4], [5]], [2.0, 3.0, 1.0])
    r = shapley(g, method="kernel", budget=64, rng=0)
    np.testing.assert_allclose(r.values, [1, 1, 1, 1, 1, 1], atol=1e-9)
    s = shapley(g, method="kernel", budget=40, rng=0)
    assert s.values.sum() == pytest.approx(6.0, abs=1e-9)
    assert s.evaluations <= 40
    errs = [
        np.abs(shapley(g, method="kernel", budget=50, rng=k).values - 1).max() for k in range(10)
    ]
    assert np.mean(errs) < 0.5


def test_tmc_without_truncation_error_on_monotone_game():
    r = shapley(GAME, method="tmc", budget=600, rng=3, rtol=0.0)
    assert r.info["efficiency_gap"] == pytest.approx(0.0, abs=1e-12)
    assert r.info["truncated_permutations"] > 0  # evaluations saved
    big = shapley(GAME, method="tmc", budget=20000, rng=4)
    assert np.abs(big.values - EXACT).max() < 0.05


@settings(max_examples=40, deadline=None)
@given(
    method=st.sampled_from(
        ["permutation", "antithetic", "tmc", "stratified", "owen", "kernel", "svarm"]
    ),
    n=st.integers(2, 7),
    budget=st.integers(1, 400),
    seed=st.integers(0, 10_000),
)
def test_budget_never_exceeded(method, n, budget, seed):
    g = WeightedVotingGame(np.arange(1, n + 1), n)
    before = g.evaluations
    r = shapley(g, method=method, budget=budget, rng=seed, batch_size=7)
    assert r.evaluations <= budget
    assert g.evaluations - before == r.evaluations


def test_default_budget_and_batch_independence():
    r = shapley(GAME, method="permutation", rng=1)
    assert r.evaluations <= 200 * 6
    a = shapley(GAME, method="stratified", budget=500, rng=5, batch_size=3)
    b = shapley(GAME, method="stratified", budget=500, rng=5, batch_size=4096)
    np.testing.assert_array_equal(a.values, b.values)


def test_stopping_rules_compose():
    r = shapley(
        GAME, method="permutation", stop=StandardError(0.02) | MaxEvaluations(100_000), rng=0
    )
    assert r.converged and "StandardError" in r.info["stop_reason"]
    assert np.all(r.stderr <= 0.02)
    c = shapley(GAME, method="permutation", stop=StandardError(1e-6) | MaxEvaluations(700), rng=0)
    assert not c.converged and c.evaluations <= 700
    t = shapley(GAME, method="owen", stop=MaxTime(0.2) | MaxEvaluations(10**7), rng=0)
    assert t.info["stop_reason"] is not None
    k = shapley(
        GAME, method="permutation", stop=RankStability(0.5, 2) | MaxEvaluations(50_000), rng=0
    )
    assert k.converged
    both = shapley(
        GAME,
        method="permutation",
        stop=StandardError(0.5) & MaxEvaluations(2000),
        budget=5000,
        rng=0,
    )
    assert both.evaluations >= 2000


@pytest.mark.parametrize(
    "method", ["permutation", "antithetic", "tmc", "stratified", "owen", "kernel", "svarm"]
)
def test_single_player_and_two_player_games(method):
    from fairsim.mechanisms.games import TableGame

    r = shapley(TableGame([0.5, 2.0]), method=method, budget=50, rng=0)
    assert r.values.tolist() == [1.5] and r.evaluations <= 50
    g = GloveGame(1, 1)
    r2 = shapley(g, method=method, budget=2000, rng=0)
    np.testing.assert_allclose(r2.values, [0.5, 0.5], atol=0.1)
