"""Reward rules: rho-Shapley (spec §10) and fairsim's time-aware rule (spec §11)."""

from __future__ import annotations

import numpy as np
import pytest

from fairsim.axioms.valuation import individual_rationality, stability
from fairsim.errors import InputError
from fairsim.mechanisms.games import BaseGame, GloveGame, TableGame
from fairsim.mechanisms.rewards import (
    proportional,
    rho_shapley,
    time_aware_game,
    time_aware_rewards,
)
from fairsim.mechanisms.valuation import shapley


class SqrtGame(BaseGame):
    def __init__(self, sizes):
        super().__init__(len(sizes))
        self.sizes = np.asarray(sizes, float)

    def _value(self, c):
        return np.sqrt(c @ self.sizes)


def test_rho_shapley_rule_and_bounds():
    phi = np.array([1.0, 0.5, 0.25])
    r = rho_shapley(phi, 4.0, [0.0, 0.0, 0.0], rho=1.0)
    np.testing.assert_allclose(r.rewards, [4.0, 2.0, 1.0])
    np.testing.assert_allclose(rho_shapley(phi, 4.0, [0, 0, 0], rho=0.0).rewards, [4, 4, 4])
    # IR bound: 0.25^rho * 4 >= 2  <=>  rho <= 0.5 (binding), 0.5^rho*4 >= 1 gives rho <= 2
    auto = rho_shapley(phi, 4.0, [1.0, 1.0, 2.0])
    assert auto.rho == pytest.approx(0.5)
    assert individual_rationality(auto.rewards, [1.0, 1.0, 2.0]).holds
    z = rho_shapley([1.0, 0.0], 2.0, [0.0, 0.5])
    assert z.rho == 0.0 and z.rewards.tolist() == [2.0, 2.0]
    with pytest.raises(InputError):
        rho_shapley(phi, 4.0, [0, 0, 0], rho=1.5)


def test_rho_stability_bound_on_game():
    g = SqrtGame([1, 2, 4, 8])
    phi = shapley(g).values
    C = phi[None, :] <= phi[:, None]
    vc = g.value(C)
    v1 = g.value(np.eye(4, dtype=bool))
    vn = float(g.value(np.ones(4, bool))[0])
    res = rho_shapley(phi, vn, v1, v_top_coalitions=vc)
    assert stability(res.rewards, phi, g).holds
    assert 0 < res.rho <= 1
    worse = rho_shapley(phi, vn, v1, rho=1.0)
    assert not stability(worse.rewards, phi, g).holds


def test_proportional():
    np.testing.assert_allclose(proportional([1.0, 3.0, -1.0], 8.0), [2.0, 6.0, 0.0])


def test_time_aware_worked_check():
    g = SqrtGame([3, 3, 5, 1, 3, 2])
    res = time_aware_rewards(g, np.array([1, 3, 2, 1, 3, 4]))
    np.testing.assert_allclose(res.values, [0.976, 0.378, 0.943, 0.441, 0.378, 0.133], atol=2e-3)
    # T5: sum R = sum_tau gamma_tau v(N_tau)
    t = np.array([1, 3, 2, 1, 3, 4])
    expected = np.mean([g.value(t <= tau)[0] for tau in range(1, 5)])
    assert res.values.sum() == pytest.approx(expected, abs=1e-12)
    np.testing.assert_allclose(res.per_epoch.sum(axis=0), res.values, atol=1e-12)
    assert individual_rationality(res.rewards, g.value(np.eye(6, dtype=bool))).holds  # T7


def test_time_aware_properties():
    g = SqrtGame([2, 2, 2, 1])
    same = time_aware_rewards(g, np.array([1, 1, 1, 1]))
    np.testing.assert_allclose(same.values, shapley(g).values, atol=1e-12)  # T6
    r = time_aware_rewards(g, np.array([1, 2, 2, 3]), epoch_weights="discounted")
    assert r.values[1] == pytest.approx(r.values[2])  # T1 equal-time symmetry
    assert r.values[0] > r.values[1]  # T2 strict time monotonicity
    later = time_aware_rewards(g, np.array([1, 3, 2, 3]), epoch_weights="discounted")
    assert later.values[1] <= r.values[1] + 1e-12  # T3 no gain from delay
    null = TableGame([0, 1, 0, 1.0])  # player 1 null
    assert time_aware_rewards(null, np.array([2, 1])).values[1] == pytest.approx(0.0, abs=1e-12)
    vt = time_aware_game(GloveGame(1, 1), np.array([1, 2]))
    assert vt.value(np.array([True, True]))[0] == pytest.approx(0.5)
    with pytest.raises(InputError, match="join_epochs"):
        time_aware_game(g, np.array([0, 1, 1, 1]))


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=30, deadline=None)
@given(sizes=st.lists(st.integers(1, 9), min_size=2, max_size=6))
def test_rho_shapley_ir_and_stability_on_monotone_games(sizes):
    g = SqrtGame(sizes)
    n = len(sizes)
    phi = shapley(g).values
    v1 = g.value(np.eye(n, dtype=bool))
    vc = g.value(phi[None, :] <= phi[:, None])
    vn = float(g.value(np.ones(n, bool))[0])
    res = rho_shapley(phi, vn, v1, v_top_coalitions=vc)
    assert individual_rationality(res.rewards, v1, atol=1e-9).holds
    assert stability(res.rewards, phi, g, atol=1e-9).holds
    assert np.all(res.rewards <= vn + 1e-12) and np.isclose(res.rewards.max(), vn)  # R2, R3
