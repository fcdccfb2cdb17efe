"""Strategyproofness search, best responses and anonymity (spec facility.md §3.3, §7, §10.5)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from _facility_axioms_ref import average, dictator0, random_rank, up_batch
from hypothesis import given, settings
from hypothesis import strategies as st

from fairsim.axioms.facility import anonymity, best_response, strategyproofness

locs = st.one_of(st.floats(0, 1), st.sampled_from([0.0, 0.25, 1 / 3, 0.5, 1.0]))
small_profiles = st.lists(locs, min_size=1, max_size=5)


@given(small_profiles)
@settings(max_examples=25, deadline=None)
def test_uniform_phantom_has_no_profitable_deviation(x):
    v = strategyproofness(up_batch, x)
    assert v.holds and v.witness is None and v.slack <= 0 and v.slack >= -1e-9


@given(small_profiles)
@settings(max_examples=10, deadline=None)
def test_random_rank_is_sp_in_expectation(x):
    assert strategyproofness(random_rank, x).holds


def test_average_is_manipulable_and_gain_recomputes():
    x = np.array([0.1, 0.5, 0.93, 0.2])
    v = strategyproofness(average, x)
    assert not v.holds
    w = v.witness
    i, r = w["agent"], w["misreport"]
    dev = x.copy()
    dev[i] = r
    gain = abs(x.mean() - x[i]) - abs(dev.mean() - x[i])
    assert w["gain"] == pytest.approx(gain, abs=1e-15)
    assert v.slack == -w["gain"]
    assert w["outcome"] == pytest.approx(x.mean()) and w["deviation_outcome"] == pytest.approx(
        dev.mean()
    )
    # best possible gain over all agents (closed form clamp(n x_i - sum_{j!=i} x_j, 0, 1))
    best = 0.0
    for j in range(4):
        d = x.copy()
        d[j] = np.clip(4 * x[j] - (x.sum() - x[j]), 0, 1)
        best = max(best, abs(x.mean() - x[j]) - abs(d.mean() - x[j]))
    assert 0.999 * best <= w["gain"] <= best + 1e-15


def test_deviations_replace_the_grid_and_batched_input():
    x = np.array([0.1, 0.5, 0.93, 0.2])
    v = strategyproofness(average, x, deviations=[0.0, 1.0])
    assert not v.holds  # critical points + zoom still find it
    out = strategyproofness(up_batch, np.array([[0.1, 0.2, 0.9], [0.0, 0.0, 1.0]]))
    assert out.dtype == bool and out.tolist() == [True, True]


def test_best_response_bisection_for_monotone_average():
    reports = np.array([0.3, 0.6, 0.1, 0.8])
    for i, xi in [(0, 0.35), (2, 0.05), (3, 0.9)]:
        r, cost = best_response(average, reports, i, xi)
        exact = np.clip(4 * xi - (reports.sum() - reports[i]), 0, 1)
        assert r == pytest.approx(exact, abs=1e-12)
        d = reports.copy()
        d[i] = exact
        assert cost == pytest.approx(abs(d.mean() - xi), abs=1e-12)
    # corner: true location unreachable -> report 1 (resp. 0)
    assert best_response(average, np.array([0.0, 0.0]), 0, 0.9)[0] == 1.0
    assert best_response(average, np.array([1.0, 1.0]), 0, 0.1)[0] == 0.0


def test_best_response_for_blend_reaches_target():
    def blend(X):
        return (average(X) + up_batch(X)) / 2

    blend.batched = True
    blend.monotone = True
    reports = np.array([0.2, 0.7, 0.4])
    assert best_response(blend, reports, 1, 0.5)[0] == 1.0  # 0.5 unreachable: blend(1) < 0.5
    r, cost = best_response(blend, reports, 1, 0.45)
    d = reports.copy()
    d[1] = r
    assert abs(blend(d[None, :])[0] - 0.45) < 1e-12 and cost < 1e-12


def test_best_response_search_keeps_truth_for_sp_mechanism():
    reports = np.array([0.2, 0.7, 0.4])
    r, cost = best_response(up_batch, reports, 2, 0.4)
    assert r == 0.4
    assert cost == pytest.approx(abs(up_batch(reports[None, :])[0] - 0.4))
    # non-monotone path with a lottery mechanism: expected cost
    r, cost = best_response(random_rank, reports, 0, 0.2, rng=np.random.default_rng(0))
    assert r == 0.2 and cost == pytest.approx((0 + 0.5 + 0.2) / 3)


def test_anonymity():
    x = [0.1, 0.7, 0.3]
    assert anonymity(up_batch, x).holds
    assert anonymity(random_rank, x).holds
    v = anonymity(dictator0, x)
    assert not v.holds
    perm = v.witness["permutation"]
    assert v.witness["permuted_outcome"] == x[perm[0]] and v.witness["outcome"] == 0.1
    assert v.slack == -abs(x[perm[0]] - 0.1)


@pytest.mark.parametrize(
    "call",
    [
        lambda: strategyproofness(42, [0.1, 0.2]),
        lambda: strategyproofness(up_batch, [0.1, 1.2]),
        lambda: strategyproofness(up_batch, [0.1, 0.2], deviations=[2.0]),
        lambda: strategyproofness(up_batch, [0.1, 0.2], params=[1]),
        lambda: best_response(up_batch, [0.1, 0.2], 2, 0.1),
        lambda: best_response(up_batch, [0.1, 0.2], 0, 1.5),
        lambda: best_response(up_batch, [0.1, 0.2], 0, 0.5, rng=3),
        lambda: anonymity(up_batch, [0.1], rng=None, tol=-1.0),
    ],
)
def test_mechanism_validation(call):
    with pytest.raises(ValueError):
        call()


def _registry_ready():
    if importlib.util.find_spec("fairsim.mechanisms.facility") is None:
        return False
    try:
        from fairsim.registry import get

        get("uniform_phantom", "mechanism", domain="facility")
        get("random_rank", "mechanism", domain="facility")
        get("average", "mechanism", domain="facility")
    except Exception:
        return False
    return True


@pytest.mark.skipif(not _registry_ready(), reason="fairsim.mechanisms.facility not available yet")
def test_registered_mechanisms():
    x = np.array([0.05, 0.4, 0.45, 0.9])
    assert strategyproofness("uniform_phantom", x).holds
    assert strategyproofness("facility.random_rank", x).holds
    v = strategyproofness("average", x)
    assert not v.holds and v.witness["gain"] > 0
    r, cost = best_response("average", x, 0, 0.05)
    assert r == pytest.approx(np.clip(4 * 0.05 - (x.sum() - x[0]), 0, 1), abs=1e-12)
    assert anonymity("uniform_phantom", x).holds
