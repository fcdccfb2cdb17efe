"""Exact MMS kernel (spec division.md §3, §12): brute force, examples, result semantics."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

from fairsim.allocation import mms as M
from fairsim.allocation.mms import MMSUnprovenWarning, maximin_share, maximin_shares
from fairsim.errors import InputError


def brute(v, n, chores):
    """Independent reference: enumerate every ordered n-partition."""
    best = None
    for p in itertools.product(range(n), repeat=len(v)):
        s = [0] * n
        for g, b in enumerate(p):
            s[b] += int(v[g])
        o = max(s) if chores else min(s)
        if best is None or (o < best if chores else o > best):
            best = o
    return 0 if best is None else best


def _check_partition(r, v, n, chores):
    part = np.asarray(r.partition)
    assert part.shape == (len(v),)
    assert np.all((part >= 0) & (part < n))
    sums = np.bincount(part, weights=np.asarray(v, dtype=float), minlength=n)
    assert r.value == (sums.max() if chores else sums.min())


@pytest.mark.parametrize("chores", [False, True])
def test_equals_brute_force_random(chores):
    rng = np.random.default_rng(11 + chores)
    for _ in range(150):
        n = int(rng.integers(1, 5))
        m = int(rng.integers(0, 8))
        v = rng.integers(0, 40, size=m)
        r = maximin_share(v, n, chores=chores)
        b = brute(v, n, chores)
        assert r.proven and r.lower == r.upper == r.value == b, (v, n, r, b)
        _check_partition(r, v, n, chores)


def test_spec_examples():
    assert maximin_share([3, 3, 2, 2, 2], 2).value == 6
    assert maximin_share([3, 3, 2, 2, 2], 2, chores=True).value == 6
    assert maximin_share([7, 5, 4, 4, 3, 3], 3, chores=True).value == 10
    assert maximin_share([7, 5, 4, 4, 3, 3], 3).value == 8
    r = maximin_share([-7, -5, -4, -4, -3, -3], 3, chores=True)
    assert (r.value, r.lower, r.upper, r.proven) == (-10, -10, -10, True)


def test_stackoverflow_instance_perfect_partition():
    # 20 items, k = 3, values 10..94, a perfect partition of 969 = 3 * 323 (spec §11)
    rng = np.random.default_rng(5)
    while True:
        v = rng.integers(10, 95, size=20)
        if v.sum() % 3 == 0:
            break
    r = maximin_share(v, 3)
    assert r.lower <= r.upper <= v.sum() // 3
    _check_partition(r, v, 3, False)


def test_facts_binary_and_small():
    # binary values {0, c}: MMS = c * floor(k / n)
    v = [5, 0, 5, 5, 0, 5, 5, 5, 5]
    assert maximin_share(v, 3).value == 5 * (7 // 3)
    assert maximin_share([4, 9], 3).value == 0  # fewer positive items than n
    assert maximin_share([4, 9], 1).value == 13
    assert maximin_share([4, 9, 1], 5, chores=True).value == 9  # m <= n


def test_floats_scaled_exactly_and_scale_invariant():
    r = maximin_share([0.3, 0.3, 0.2, 0.2, 0.2], 2)
    assert r.proven and r.value == pytest.approx(0.6)
    r2 = maximin_share([30, 30, 20, 20, 20], 2)
    assert r2.value == 60


def test_tiny_budget_never_claims_unproven_and_milp_fallback():
    rng = np.random.default_rng(3)
    for _ in range(3):
        v = rng.integers(1, 1000, size=11)
        for chores in (False, True):
            M.clear_cache()
            r = maximin_share(v, 3, chores=chores, node_budget=0, time_limit=20)
            assert r.lower <= r.upper
            assert r.proven == (r.lower == r.upper)
            _check_partition(r, v, 3, chores)
            M.clear_cache()
            exact = maximin_share(v, 3, chores=chores)
            assert exact.proven
            assert r.lower <= exact.value <= r.upper
            if r.proven:
                assert r.value == exact.value


def test_zero_time_limit_is_consistent():
    rng = np.random.default_rng(4)
    v = rng.integers(1, 10**6, size=40)
    M.clear_cache()
    r = maximin_share(v, 7, time_limit=0.0)
    assert r.lower <= r.upper and r.proven == (r.lower == r.upper)
    _check_partition(r, v, 7, False)


def test_self_consistency_larger():
    rng = np.random.default_rng(8)
    for n, m in [(4, 20), (5, 30)]:
        v = rng.integers(1, 101, size=m)
        for chores in (False, True):
            r = maximin_share(v, n, chores=chores, time_limit=5)
            assert r.lower <= r.upper
            assert r.proven == (r.lower == r.upper)
            _check_partition(r, v, n, chores)
            if chores:
                assert r.lower >= -(-v.sum() // n)
            else:
                assert r.upper <= v.sum() // n


def test_maximin_shares_rows_and_warning():
    V = np.array([[3, 1, 2], [4, 4, 5]])
    np.testing.assert_array_equal(maximin_shares(V), [3, 5])
    rng = np.random.default_rng(9)
    big = rng.integers(1, 10**6, size=(3, 60))
    M.clear_cache()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        maximin_shares(big, node_budget=0, time_limit=0.0)
    assert any(issubclass(x.category, MMSUnprovenWarning) for x in w)


@pytest.mark.parametrize(
    "args",
    [([1, np.nan], 2), ([1, 2], 0), ([[1, 2]], 2), ([1, -2], 2), ([1, 2], 1.5)],
)
def test_input_errors(args):
    with pytest.raises(InputError):
        maximin_share(*args)


def test_negative_goods_needs_chores_flag():
    with pytest.raises(InputError, match="chores"):
        maximin_share([-1, -2], 2)


def test_cached_kernel_in_fresh_processes():
    code = (
        "from fairsim.allocation.mms import maximin_share;"
        "print(maximin_share([7,5,4,4,3,3],3).value, maximin_share([7,5,4,4,3,3],3,chores=True).value)"
    )
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ)
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == ["8.0", "10.0"]
