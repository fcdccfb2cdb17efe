"""Fair-division agents: generator statistics, candidate reports, best responses, metrics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairsim.agents import division as D
from fairsim.errors import InputError
from fairsim.mechanisms.division import round_robin


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_uniform_statistics() -> None:
    V = D.draw_valuations("uniform", 50, 200, _rng(), low=1, high=9)
    assert V.min() >= 1 and V.max() <= 9 and np.all(V == np.round(V))
    assert abs(V.mean() - 5.0) < 0.1  # E = (1 + 9) / 2; sd of the mean ~ 0.018
    assert set(np.unique(V)) == set(range(1, 10))


def test_binary_statistics() -> None:
    V = D.draw_valuations("binary", 100, 100, _rng(1), p=0.3)
    assert set(np.unique(V)) <= {0.0, 1.0}
    assert abs(V.mean() - 0.3) < 0.02


def test_correlated_noise_zero_is_identical_and_noise_correlates() -> None:
    V = D.draw_valuations("correlated", 4, 30, _rng(2), low=1, high=20, noise=0.0)
    assert np.all(V == V[0])
    W = D.draw_valuations("correlated", 2, 2000, _rng(3), low=1, high=20, noise=0.1)
    assert np.corrcoef(W[0], W[1])[0, 1] > 0.7
    U = D.draw_valuations("uniform", 2, 2000, _rng(3), low=1, high=20)
    assert abs(np.corrcoef(U[0], U[1])[0, 1]) < 0.1


def test_zipf_clipped_and_heavy_tailed() -> None:
    V = D.draw_valuations("zipf", 20, 500, _rng(4), a=2.0, high=50)
    assert V.min() >= 1 and V.max() <= 50
    # P(X = 1) = 1 / zeta(2) = 6 / pi^2 ~ 0.608 for Zipf(2)
    assert abs((V == 1).mean() - 6 / np.pi**2) < 0.02


def test_cost_utility_columns_share_one_cost() -> None:
    V = D.draw_valuations("cost_utility", 6, 40, _rng(5), low=2, high=9, p=0.5)
    for g in range(V.shape[1]):
        nz = set(V[V[:, g] > 0, g])
        assert len(nz) <= 1 and all(2 <= c <= 9 for c in nz)
    assert abs((V > 0).mean() - 0.5) < 0.1


def test_laminar_families() -> None:
    for seed in range(30):
        V = D.draw_valuations("laminar", 6, 12, _rng(seed), low=1, high=5)
        assert D.is_laminar(V > 0)
    assert not D.is_laminar(np.array([[1, 1, 0], [0, 1, 1]]))
    assert D.is_laminar(np.array([[1, 1, 1], [0, 1, 1], [1, 0, 0]]))


def test_generator_validation() -> None:
    with pytest.raises(InputError, match="generator"):
        D.draw_valuations("normal", 2, 2, _rng())
    with pytest.raises(InputError, match="low"):
        D.draw_valuations("uniform", 2, 2, _rng(), low=5, high=1)


def test_candidates() -> None:
    v = np.array([3.0, 1.0, 2.0])
    c = D.candidates(v)
    assert np.array_equal(c[0], v)
    keys = {tuple(w) for w in c}
    assert (1.0, 3.0, 2.0) not in keys  # 3 and 1 are not adjacent in the ranking
    assert (2.0, 1.0, 3.0) in keys  # swap of ranks 0 and 1 (items 0 and 2)
    assert (3.0, 0.0, 0.0) in keys and (3.0, 0.0, 2.0) in keys  # truncations
    assert (6.0, 1.0, 2.0) in keys  # exaggerate item 0
    assert len(keys) == len(c)


def _rr(R: np.ndarray) -> np.ndarray:
    return round_robin(R).assignment


def test_best_response_hand_example() -> None:
    # Round robin, agent 0 first. Truthful: 0 takes a (4), 1 takes b, 0 takes c (2), 1 takes d:
    # 0 gets 6. Reporting b first: 0 takes b (3), 1 takes c (its best left), 0 takes a (4): 7,
    # the most any 2-item bundle is worth to agent 0.
    V = np.array([[4.0, 3.0, 2.0, 1.0], [1.0, 4.0, 3.0, 2.0]])
    assert D.true_value(V, _rr(V), 0) == 6.0
    R = D.best_response(V, np.array([0]), _rr)
    assert D.true_value(V, _rr(R), 0) == 7.0
    assert np.array_equal(R[1], V[1])  # agent 1 is not strategic


@settings(max_examples=40, deadline=None)
@given(
    st.integers(2, 3).flatmap(
        lambda n: st.lists(
            st.lists(st.integers(0, 9), min_size=4, max_size=4), min_size=n, max_size=n
        )
    ),
    st.integers(0, 2),
)
def test_best_response_never_lowers_true_value(rows: list[list[int]], who: int) -> None:
    V = np.array(rows, dtype=np.float64)
    i = who % V.shape[0]
    R = D.best_response(V, np.array([i]), _rr)
    assert D.true_value(V, _rr(R), i) >= D.true_value(V, _rr(V), i)


def test_metrics_by_hand() -> None:
    V = np.array([[4.0, 3.0, 2.0, 1.0], [1.0, 4.0, 3.0, 2.0]])
    x = np.array([0, 1, 0, 1])  # agent 0: 6, agent 1: 6
    assert D.utilitarian_welfare(V, x) == 12.0
    assert D.egalitarian_welfare(V, x) == 6.0
    assert D.nash_welfare(V, x) == pytest.approx(6.0)
    assert D.envy_count(V, x) == 0.0
    y = np.array([1, 1, 1, 0])  # agent 0: 1, agent 1: 8; 0 envies 1 (9 > 1)
    assert D.envy_count(V, y) == 1.0
    assert D.nash_welfare(V, y) == pytest.approx(np.sqrt(8.0))
    C = -V
    assert D.nash_welfare(C, x) == pytest.approx(-6.0)
