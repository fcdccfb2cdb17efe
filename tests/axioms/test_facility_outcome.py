"""Outcome axioms of facility location (spec facility.md §3.1-3.2) against brute force."""

from __future__ import annotations

import random
from fractions import Fraction as F

import numpy as np
import pytest
from _facility_axioms_ref import (
    ifs_interval_bruteforce,
    pf_interval_bruteforce,
    ufs_interval_bruteforce,
    up_ref,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from fairsim.axioms.facility import (
    _pf_interval_oracle,
    feasible_interval,
    ifs,
    pareto,
    pf,
    proportionality,
    strong_proportionality,
    ufs,
    unanimity,
)

# rational profiles with many ties: denominators 1..6
rational = st.builds(F, st.integers(0, 6), st.just(6))
profiles = st.lists(rational, min_size=1, max_size=6)
float_profiles = st.lists(
    st.one_of(st.floats(0, 1), st.sampled_from([0.0, 1 / 3, 0.5, 1.0])), min_size=1, max_size=7
)


def _random_rational_profile(rnd):
    n = rnd.randint(1, 6)
    d = rnd.choice([2, 3, 4, 5, 6, 7, 12])
    return [F(rnd.randint(0, d), d) for _ in range(n)]


def test_pf_closed_form_equals_block_oracle_and_subset_bruteforce():
    rnd = random.Random(1)
    for _ in range(400):
        x = _random_rational_profile(rnd)
        assert feasible_interval(x, "pf") == pf_interval_bruteforce(x)
        # unclipped: closed form (through the verdict's bounds) vs the O(n^2) block oracle
        s = sorted(x)
        n = len(s)
        closed = (
            max(s[k - 1] - F(k - 1, n) for k in range(1, n + 1)),
            min(s[k - 1] + F(n - k, n) for k in range(1, n + 1)),
        )
        assert _pf_interval_oracle(s, exact=True) == closed


def test_ufs_and_ifs_intervals_equal_bruteforce():
    rnd = random.Random(2)
    for _ in range(300):
        x = _random_rational_profile(rnd)
        assert feasible_interval(x, "ufs") == ufs_interval_bruteforce(x)
        assert feasible_interval(x, "ifs") == ifs_interval_bruteforce(x)


@given(profiles)
def test_nesting_pf_in_ufs_in_ifs_and_up_inside(x):
    pf_lo, pf_hi = feasible_interval(x, "pf")
    u_lo, u_hi = feasible_interval(x, "ufs")
    i_lo, i_hi = feasible_interval(x, "ifs")
    assert i_lo <= u_lo <= pf_lo <= pf_hi <= u_hi <= i_hi
    y = up_ref(x)
    assert pf_lo <= y <= pf_hi
    for f in (ifs, ufs, pf, proportionality, unanimity, pareto):
        v = f(x, y)
        assert v.holds and v.slack >= 0 and v.witness is None


@given(float_profiles)
@settings(max_examples=60)
def test_up_satisfies_every_fairness_axiom_in_float_mode(x):
    y = float(up_ref(x))
    for f in (ifs, ufs, pf, proportionality, unanimity, pareto):
        assert f(x, y).holds


@given(profiles, rational)
def test_verdict_matches_exact_interval_and_slack(x, y):
    for name, f in (("ifs", ifs), ("ufs", ufs), ("pf", pf)):
        lo, hi = feasible_interval(x, name)
        v = f(x, y)
        assert v.holds == (lo <= y <= hi)
        assert isinstance(v.slack, F)
        if v.holds:
            assert v.witness is None
        else:
            assert v.slack < 0
            assert -v.slack == max(lo - y, y - hi) or lo == 0 or hi == 1


def test_median_violates_ufs_with_witness():
    x = [F(0), F(0), F(1)]
    y = F(0)  # the (left) median
    v = ufs(x, y)
    assert not v.holds and not v
    assert v.slack == F(-1, 3)
    w = v.witness
    assert w["agents"] == [2] and w["location"] == 1 and w["size"] == 1
    assert w["bound"] == (F(1, 3), F(5, 3))


@given(profiles)
def test_ufs_and_pf_witnesses_are_real_violations(x):
    n = len(x)
    y = sorted(x)[(n + 1) // 2 - 1]  # left median: often unfair
    v = ufs(x, y)
    if not v.holds:
        ids = v.witness["agents"]
        locs = {x[i] for i in ids}
        assert len(locs) == 1
        z = x[ids[0]]
        assert len(ids) == sum(1 for t in x if t == z)
        assert abs(y - x[ids[0]]) > 1 - F(len(ids), n)
    v = pf(x, y)
    if not v.holds:
        vals = [x[i] for i in v.witness["agents"]]
        r = 1 - F(len(vals), n) + max(vals) - min(vals)
        assert any(abs(y - t) > r for t in vals)


def test_ifs_witness_is_farthest_agent_and_pf_block():
    v = ifs([0.2, 0.9, 0.9], 0.0)
    assert not v.holds
    assert v.witness["agents"] == [1] and v.witness["location"] == 0.9
    v = pf([F(0), F(1, 5), F(9, 10)], F(1, 20))
    assert not v.holds
    # lower violation at k* = 3: block {x_(3)} = agent 2, bound (9/10 - 2/3, 9/10 + 2/3)
    assert v.witness["agents"] == [2]
    assert v.witness["bound"] == (F(9, 10) - F(2, 3), F(9, 10) + F(2, 3))
    assert v.slack == F(1, 20) - (F(9, 10) - F(2, 3))


def test_tolerance_and_exact_mode():
    # float interval end 1/3 carries rounding error: default tol accepts, tol=0 decides exactly
    assert ufs([0.0, 0.0, 1.0], 1 / 3).holds
    assert ufs([0.0, 0.0, 1.0], 1 / 3 + 1e-12).holds
    assert not ufs([0.0, 0.0, 1.0], 1 / 3 + 1e-12, tol=0).holds
    assert not ufs([0.0, 0.0, 1.0], 1 / 3 + 1e-6).holds
    v = ufs([F(0), F(0), F(1)], F(1, 3))
    assert v.holds and v.slack == 0


def test_equality_axioms_and_pareto():
    assert proportionality([0, 1, 1, 1], 0.75).holds
    v = proportionality([F(0), F(1), F(1), F(1)], F(1, 2))
    assert not v.holds and v.slack == F(-1, 4) and v.witness["target"] == F(3, 4)
    assert proportionality([0, 0.5, 1], 0.0).slack == float("inf")
    assert unanimity([0.3, 0.3], 0.3).holds
    assert not unanimity([0.3, 0.3], 0.4).holds
    assert unanimity([0.3, 0.4], 0.9).holds  # vacuous
    assert pareto([0.2, 0.6], 0.2).holds
    v = pareto([F(1, 5), F(3, 5)], F(1, 10))
    assert not v.holds and v.slack == F(-1, 10)
    assert feasible_interval([0, 1, 1], "proportionality") == (2 / 3, 2 / 3)
    assert feasible_interval([0.5, 0.2], "unanimity") == (0.0, 1.0)
    assert feasible_interval([0.5, 0.2], "pareto") == (0.2, 0.5)


def test_strong_proportionality_readings():
    x = [F(2, 5), F(2, 5), F(3, 5)]
    avg = F(7, 15)
    e = F(1, 5)  # exterior equal-cost point (2*2/5 - 3/5)/(2 - 1)
    assert strong_proportionality(x, avg).holds
    assert strong_proportionality(x, avg, reading="hull").holds
    assert strong_proportionality(x, e).holds
    v = strong_proportionality(x, e, reading="hull")
    assert not v.holds and v.slack == -(F(2, 5) - e)
    v = strong_proportionality(x, F(1, 2))
    assert not v.holds
    assert v.slack == -abs(2 * (F(1, 2) - F(2, 5)) - (F(3, 5) - F(1, 2))) / 3
    assert v.witness["sizes"] == (2, 1) and v.witness["target"] == avg
    assert feasible_interval(x, "strong_proportionality") == (avg, avg)
    assert strong_proportionality([0.1, 0.2, 0.3], 0.9).slack == float("inf")


@given(st.integers(1, 5), st.integers(1, 5), rational, rational)
def test_random_rank_lottery_is_strongly_proportional(ka, kb, a, b):
    if a == b:
        return
    a, b = min(a, b), max(a, b)
    x = [a] * ka + [b] * kb
    n = ka + kb
    lot = [(a, F(ka, n)), (b, F(kb, n))]
    for reading in ("equal_cost", "hull"):
        v = strong_proportionality(x, lot, reading=reading)
        assert v.holds and v.slack == 0
    # a deterministic endpoint is not
    assert not strong_proportionality(x, a).holds


def test_batched_agrees_with_single():
    rng = np.random.default_rng(3)
    X = np.where(rng.random((300, 4)) < 0.5, rng.random((300, 4)), rng.integers(0, 4, (300, 4)) / 3)
    Y = rng.random(300)
    Y[:100] = [float(up_ref(list(r))) for r in X[:100]]
    for f in (ifs, ufs, pf, proportionality, unanimity, pareto, strong_proportionality):
        got = f(X, Y)
        assert got.dtype == bool and got.shape == (300,)
        assert got.tolist() == [f(X[b], Y[b]).holds for b in range(300)]
    lo, hi = feasible_interval(X, "pf")
    for b in range(0, 300, 17):
        assert (lo[b], hi[b]) == pytest.approx(feasible_interval(X[b], "pf"), abs=1e-15)


def test_interval_rescaling():
    x, y = [2.0, 2.0, 4.0], 3.0  # unit space (0, 0, 1) and 1/2
    v = ufs(x, y, interval=(2, 4))
    assert not v.holds and v.slack == pytest.approx(2 * (-1 / 6))
    assert v.witness["location"] == 2.0
    assert ufs(x, 2 + 2 / 3, interval=(2, 4)).holds
    assert feasible_interval(x, "pf", interval=(2, 4)) == pytest.approx((2 + 2 / 3, 2 + 2 / 3))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: ufs([0.1, 0.2], 1.5), "outside the domain"),
        (lambda: ufs([0.1, 0.2], -0.1), "outside the domain"),
        (lambda: ufs([0.1, 1.2], 0.5), r"x\[1\]=1.2 outside"),
        (lambda: ufs([0.1, float("nan")], 0.5), "not finite"),
        (lambda: ufs([], 0.5), "empty"),
        (lambda: ufs([[[0.1]]], 0.5), "1-D"),
        (lambda: ufs([0.1], float("nan")), "not finite"),
        (lambda: ufs([0.1, 0.2], [(0.1, 1.0)]), "lotteries"),
        (lambda: ufs(np.zeros((2, 3)), [0.1]), "shape"),
        (lambda: ufs(np.zeros((2, 3)), [0.1, 2.0]), "outside the domain"),
        (lambda: ufs([0.1], 0.1, tol=-1), "tol"),
        (lambda: ufs([0.1], 0.1, interval=(1, 0)), "a < b"),
        (lambda: feasible_interval([0.1], "envy"), "axiom"),
        (lambda: strong_proportionality([0, 1], 0.5, reading="x"), "reading"),
        (lambda: strong_proportionality([0, 1], [(0, 0.5), (1, 0.6)]), "sum to 1"),
        (lambda: strong_proportionality([0, 1], [(0, -0.5), (1, 1.5)]), "probability"),
        (lambda: strong_proportionality([0, 1], [(2, 1.0)]), "outside the domain"),
    ],
)
def test_validation_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
