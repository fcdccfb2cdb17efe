"""GTG-Shapley, MR-exact and per-round LOO on synthetic rounds (spec federated.md §4.1, §4.6, §6)."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr

torch = pytest.importorskip("torch")

from fairsim.errors import InputError  # noqa: E402
from fairsim.mechanisms.federated import (  # noqa: E402
    RoundRecord,
    gtg_shapley,
    loo_round,
    make,
    mr_exact,
)

P = 6
STAR = np.linspace(1.0, 2.0, P)


def util_np(theta: np.ndarray) -> float:
    return 1.0 / (1.0 + float(np.sum((theta - STAR) ** 2)))


class CountingUtility:
    """Batched u(θ) = 1/(1 + ‖θ − θ*‖²) that records every row it evaluates."""

    def __init__(self) -> None:
        self.calls = 0
        self.rows: list[tuple[float, ...]] = []

    def __call__(self, th):  # type: ignore[no-untyped-def]
        self.calls += 1
        self.rows.extend(tuple(np.round(r, 12)) for r in th.numpy())
        return 1.0 / (1.0 + ((th - torch.as_tensor(STAR)) ** 2).sum(dim=1))


def record(updates: np.ndarray, sizes: np.ndarray, util=None, t: int = 0, clients=None):  # type: ignore[no-untyped-def]
    k = updates.shape[0]
    cl = np.arange(k) if clients is None else np.asarray(clients)
    n = int(cl.max()) + 1 if cl.size else 0
    return RoundRecord(
        t=t,
        theta_prev=torch.zeros(P, dtype=torch.float64),
        updates=torch.as_tensor(updates, dtype=torch.float64),
        clients=cl,
        sizes=np.asarray(sizes, dtype=np.float64),
        layer_slices=[(0, 3), (3, P)],
        n_clients=max(n, k),
        utility=util if util is not None else CountingUtility(),
    )


def coalition_value(updates: np.ndarray, sizes: np.ndarray, members: tuple[int, ...]) -> float:
    """Independent θ_S = 0 + Σ_{i∈S} (ñ_i/ñ_S) Δ_i with a plain loop."""
    theta = np.zeros(P)
    tot = sum(sizes[i] for i in members)
    for i in members:
        theta = theta + (sizes[i] / tot) * updates[i]
    return util_np(theta)


def brute_shapley(updates: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Average marginal contribution over all k! orders (Fraction weights)."""
    k = updates.shape[0]
    phi = [Fraction(0)] * k
    for order in itertools.permutations(range(k)):
        prev = coalition_value(updates, sizes, ())
        for j, i in enumerate(order):
            cur = coalition_value(updates, sizes, tuple(sorted(order[: j + 1])))
            phi[i] += Fraction(cur) - Fraction(prev)
            prev = cur
    return np.array([float(p / math.factorial(k)) for p in phi])


def quality_updates(k: int, seed: int) -> np.ndarray:
    """Client i moves towards θ* with quality q_i = 1 − i/k plus noise growing with i."""
    rng = np.random.default_rng(seed)
    q = 1.0 - np.arange(k) / k
    return np.array([0.6 * q[i] * STAR + 0.4 * (1 - q[i]) * rng.normal(size=P) for i in range(k)])


def test_mr_exact_equals_brute_force_shapley() -> None:
    ups = quality_updates(4, 1)
    sizes = np.array([10.0, 20.0, 5.0, 7.0])
    mech = mr_exact(4)
    res = mech.step(record(ups, sizes))
    np.testing.assert_allclose(res.contrib_round, brute_shapley(ups, sizes), atol=1e-12)
    assert mech.evaluations == 16
    assert res.weights is None


def test_mr_exact_sums_rounds_and_scatters_partial_participation() -> None:
    mech = mr_exact(5)
    ups = quality_updates(3, 2)
    sizes = np.array([3.0, 4.0, 5.0])
    mech.step(record(ups, sizes, clients=[0, 2, 4]))
    mech.step(record(ups, sizes, clients=[0, 2, 4]))
    want = np.zeros(5)
    want[[0, 2, 4]] = 2 * brute_shapley(ups, sizes)
    np.testing.assert_allclose(mech.contributions, want, atol=1e-12)


def test_mr_exact_refuses_too_many_players() -> None:
    with pytest.raises(InputError, match="max_players"):
        mr_exact(5, max_players=3).step(record(quality_updates(4, 0), np.ones(4)))


def test_loo_round_hand_values() -> None:
    ups = quality_updates(3, 3)
    sizes = np.array([1.0, 2.0, 3.0])
    mech = loo_round(3)
    res = mech.step(record(ups, sizes))
    full = coalition_value(ups, sizes, (0, 1, 2))
    want = [
        full - coalition_value(ups, sizes, tuple(j for j in range(3) if j != i)) for i in range(3)
    ]
    np.testing.assert_allclose(res.contrib_round, want, atol=1e-12)
    assert mech.evaluations == 4


def test_gtg_identical_updates_give_equal_values() -> None:
    k = 5
    ups = np.tile(0.5 * STAR, (k, 1))
    mech = gtg_shapley(rng=1)
    res = mech.step(record(ups, np.full(k, 8.0)))
    phi = res.contrib_round
    total = util_np(0.5 * STAR) - util_np(np.zeros(P))
    np.testing.assert_allclose(phi, np.full(k, total / k), rtol=1e-9)


def test_gtg_zero_global_update_truncates_with_two_evaluations() -> None:
    k = 4
    util = CountingUtility()
    mech = gtg_shapley(rng=0)
    res = mech.step(record(np.zeros((k, P)), np.ones(k), util))
    assert mech.evaluations == 2
    assert len(util.rows) == 2
    assert np.all(res.contrib_round == 0)
    assert mech.truncated_rounds == 1


def test_gtg_counts_rows_and_never_reevaluates_a_coalition() -> None:
    k = 7
    util = CountingUtility()
    mech = gtg_shapley(rng=3, within_trunc=0.0)
    mech.step(record(quality_updates(k, 4), np.arange(1.0, k + 1), util))
    assert mech.evaluations == len(util.rows)
    assert len(set(util.rows)) == len(util.rows)
    perms = mech.perms_per_round[0]
    assert 30 <= perms <= 500
    # one utility call for the two ends plus at most one per level of each block of k permutations
    assert util.calls <= 1 + math.ceil(perms / k) * k


def test_gtg_respects_max_perms() -> None:
    mech = gtg_shapley(rng=0, max_perms=9, within_trunc=0.0)
    mech.step(record(quality_updates(6, 5), np.ones(6)))
    assert mech.perms_per_round == [9]


def test_gtg_evaluation_budget_stops_new_blocks() -> None:
    k = 8
    mech = gtg_shapley(rng=0, within_trunc=0.0, max_evaluations=20)
    mech.step(record(quality_updates(k, 6), np.ones(k)))
    # the first block (k permutations) always runs; it already exceeds 20 evaluations
    assert mech.perms_per_round == [k]
    assert mech.evaluations > 20


def test_gtg_spearman_with_mr_exact_k6() -> None:
    k = 6
    sizes = np.full(k, 10.0)
    gtg = gtg_shapley(rng=7)
    mr = mr_exact(k)
    for t in range(4):
        rec = record(quality_updates(k, 100 + t), sizes, t=t)
        gtg.step(rec)
        mr.step(rec)
    rho = spearmanr(gtg.raw_contributions, mr.contributions).statistic
    assert rho >= 0.8
    np.testing.assert_allclose(gtg.contributions.sum(), 1.0)
    assert not gtg.unnormalised


def test_gtg_unnormalised_flag_when_total_negative() -> None:
    ups = -np.tile(STAR, (3, 1))  # every update moves away from θ*
    mech = gtg_shapley(rng=0)
    mech.step(record(ups, np.ones(3)))
    assert mech.unnormalised
    assert np.all(mech.contributions < 0)
    np.testing.assert_allclose(mech.contributions, mech.raw_contributions)


@settings(max_examples=15, deadline=None)
@given(
    st.integers(min_value=2, max_value=5),
    st.integers(min_value=0, max_value=10_000),
)
def test_gtg_efficiency_without_within_truncation(k: int, seed: int) -> None:
    """Each walk telescopes, so Σ_i φ_i = U(P) − U(∅) whenever the round is not truncated."""
    rng = np.random.default_rng(seed)
    ups = rng.normal(size=(k, P))
    sizes = rng.integers(1, 20, size=k).astype(float)
    mech = gtg_shapley(rng=seed, within_trunc=0.0, round_trunc=0.0, max_perms=40)
    res = mech.step(record(ups, sizes))
    full = coalition_value(ups, sizes, tuple(range(k)))
    assert res.contrib_round.sum() == pytest.approx(full - util_np(np.zeros(P)), abs=1e-10)


@settings(max_examples=10, deadline=None)
@given(st.integers(min_value=1, max_value=4), st.integers(min_value=0, max_value=10_000))
def test_mr_exact_matches_brute_force_random(k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    ups = rng.normal(size=(k, P))
    sizes = rng.integers(1, 9, size=k).astype(float)
    res = mr_exact(k).step(record(ups, sizes))
    np.testing.assert_allclose(res.contrib_round, brute_shapley(ups, sizes), atol=1e-12)


def test_gtg_needs_a_utility_and_validates_parameters() -> None:
    rec = record(quality_updates(3, 0), np.ones(3))
    rec.utility = None
    with pytest.raises(InputError, match="utility"):
        gtg_shapley().step(rec)
    with pytest.raises(InputError, match="max_perms"):
        gtg_shapley(max_perms=0)
    with pytest.raises(InputError, match="round_trunc"):
        gtg_shapley(round_trunc=-1.0)
    with pytest.raises(InputError, match="utility"):
        gtg_shapley(utility=3)  # type: ignore[arg-type]


def test_make_builds_gtg_with_explicit_utility() -> None:
    util = CountingUtility()
    mech = make("gtg_shapley", 4, np.ones(4), 10, np.random.default_rng(0), utility=util)
    rec = record(quality_updates(4, 9), np.ones(4))
    rec.utility = None
    mech.step(rec)
    assert mech.evaluations == len(util.rows) > 2
