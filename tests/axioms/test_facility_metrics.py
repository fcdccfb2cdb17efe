"""Objectives and per-instance ratios (spec facility.md §2.1-2.2) against exact arithmetic."""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest
from _facility_axioms_ref import up_ref
from hypothesis import given
from hypothesis import strategies as st

from fairsim.axioms.facility import (
    distance_to_uniform_phantom,
    max_cost,
    mc_ratio,
    social_welfare,
    sw_ratio,
    tc_ratio,
    total_cost,
)

rational = st.builds(F, st.integers(0, 12), st.just(12))


def test_objectives_exact_golden():
    x = [F(0), F(0), F(1)]
    y = F(1, 3)
    assert total_cost(x, y) == F(4, 3)
    assert social_welfare(x, y) == 3 - F(4, 3)
    assert max_cost(x, y) == F(2, 3)
    assert sw_ratio(x, y) == F(2) / F(5, 3)
    assert tc_ratio(x, y) == F(4, 3)
    assert mc_ratio(x, y) == F(2, 3) / F(1, 2)
    lot = [(F(0), F(1, 2)), (F(1), F(1, 2))]
    assert total_cost(x, lot) == F(1, 2) * 1 + F(1, 2) * 2
    assert max_cost(x, lot) == 1
    assert social_welfare([0.0, 0.0, 1.0], 1 / 3) == pytest.approx(5 / 3, abs=1e-15)


def test_zero_conventions():
    assert tc_ratio([F(1, 2)] * 3, F(1, 2)) == 1  # 0/0 := 1
    assert tc_ratio([F(1, 2)] * 3, F(1, 3)) == float("inf")  # c/0 := inf
    assert mc_ratio([0.1, 0.1, 0.1], (0.1 + 0.1 + 0.1) / 3) == 1.0  # float noise counts as 0
    assert sw_ratio([F(0), F(0)], F(1)) == float("inf")


@given(st.lists(rational, min_size=1, max_size=6), rational)
def test_ratios_at_least_one_and_consistent(x, y):
    n = len(x)
    tc = total_cost(x, y)
    assert social_welfare(x, y) == n - tc
    s = sorted(x)
    opt_tc = min(sum(abs(v - z) for v in x) for z in s)  # brute force over agent locations
    assert tc >= opt_tc
    r = tc_ratio(x, y)
    assert r == (tc / opt_tc if opt_tc else (1 if tc == 0 else float("inf")))
    assert sw_ratio(x, y) >= 1 and mc_ratio(x, y) >= 1
    assert distance_to_uniform_phantom(x, y) == abs(y - up_ref(x))


def test_batched_and_interval():
    rng = np.random.default_rng(0)
    X = rng.random((50, 5))
    Y = rng.random(50)
    for f in (social_welfare, total_cost, max_cost, sw_ratio, tc_ratio, mc_ratio):
        got = f(X, Y)
        assert got.shape == (50,)
        np.testing.assert_allclose(got, [f(X[b], Y[b]) for b in range(50)], rtol=1e-12)
    np.testing.assert_allclose(
        distance_to_uniform_phantom(X, Y), [abs(Y[b] - float(up_ref(X[b]))) for b in range(50)]
    )
    # interval (2, 4): costs double, welfare and ratios are invariant
    assert total_cost([2.0, 4.0], 3.0, interval=(2, 4)) == 2.0
    assert social_welfare([2.0, 4.0], 3.0, interval=(2, 4)) == 1.0
    assert tc_ratio([2.0, 2.0, 4.0], 2.5, interval=(2, 4)) == pytest.approx(
        tc_ratio([0, 0, 1], 0.25)
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda: total_cost([0.1, 0.2], 1.2),
        lambda: total_cost([0.1, 0.2], [(0.1, 0.3)]),
        lambda: total_cost([0.1, 2.0], 0.5),
        lambda: sw_ratio(np.zeros((2, 2)), [0.1, 0.2, 0.3]),
        lambda: max_cost([0.1], "a"),
    ],
)
def test_metric_validation(call):
    with pytest.raises(ValueError):
        call()
