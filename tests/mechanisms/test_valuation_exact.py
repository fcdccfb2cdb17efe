"""Exact Shapley / semivalues against closed forms and Fraction brute force (spec §3, §4, §7)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from fairsim.errors import InputError
from fairsim.mechanisms.games import (
    AirportGame,
    BankruptcyGame,
    BaseGame,
    GloveGame,
    SumOfUnanimityGames,
    TableGame,
    UnanimityGame,
    WeightedVotingGame,
)
from fairsim.mechanisms.valuation import (
    banzhaf,
    beta_shapley,
    knn_shapley,
    least_core,
    leave_one_out,
    semivalue,
    shapley,
    shapley_closed_form,
)
from tests.mechanisms.test_games import brute_shapley

F = Fraction


def _f(xs):
    return np.array([float(x) for x in xs])


@pytest.mark.parametrize(
    ("game", "expected"),
    [
        (GloveGame(1, 2), [F(2, 3), F(1, 6), F(1, 6)]),
        (GloveGame(2, 3), [F(13, 20)] * 2 + [F(7, 30)] * 3),
        (GloveGame(3, 3), [F(1, 2)] * 6),
        (GloveGame(1, 4), [F(4, 5)] + [F(1, 20)] * 4),
        (AirportGame([1, 2, 3]), [F(1, 3), F(5, 6), F(11, 6)]),
        (WeightedVotingGame([2, 1, 1], 3), [F(2, 3), F(1, 6), F(1, 6)]),
        (BankruptcyGame(60, [10, 20, 30, 45]), [F(35, 6), F(35, 3), F(50, 3), F(155, 6)]),
        (UnanimityGame(4, [0, 2, 3]), [F(1, 3), F(0), F(1, 3), F(1, 3)]),
    ],
)
def test_spec_vectors(game, expected):
    np.testing.assert_allclose(shapley(game).values, _f(expected), atol=1e-12)
    assert shapley_closed_form(game, exact=True) == expected


@pytest.mark.parametrize("seed", range(4))
def test_exact_equals_permutation_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = 6
    w = rng.integers(1, 6, size=n)
    g = WeightedVotingGame(w, int(w.sum()) // 2 + 1)
    tab = g.table()
    ref = brute_shapley(lambda m: int(tab[m]), n)
    np.testing.assert_allclose(shapley(g).values, _f(ref), atol=1e-12)
    assert shapley_closed_form(g, exact=True) == ref
    vals = rng.integers(-5, 6, size=1 << 5).astype(float)
    t = TableGame(vals)
    np.testing.assert_allclose(
        shapley(t).values, _f(brute_shapley(lambda m: int(vals[m]), 5)), atol=1e-12
    )


def test_bankruptcy_and_airport_against_brute_force():
    g = BankruptcyGame(37, [4, 9, 13, 20, 25])
    tab = g.table()
    ref = brute_shapley(lambda m: F(tab[m]), 5)
    assert shapley_closed_form(g, exact=True) == ref
    a = AirportGame([3, 1, 4, 1, 5])
    ta = a.table()
    ref = brute_shapley(lambda m: F(ta[m]), 5)
    assert shapley_closed_form(a, exact=True) == ref  # ties get equal shares


def test_soug_dividends_and_banzhaf():
    g = SumOfUnanimityGames(6, [[0, 1], [1, 2, 3], [5]], [2.0, 3.0, -1.0])
    np.testing.assert_allclose(shapley(g).values, [1, 2, 1, 1, 0, -1], atol=1e-12)
    np.testing.assert_allclose(banzhaf(g).values, [1, 1 + 0.75, 0.75, 0.75, 0, -1], atol=1e-12)
    np.testing.assert_allclose(banzhaf(WeightedVotingGame([2, 1, 1], 3)).values, [0.75, 0.25, 0.25])


def test_streamed_game_without_table_matches_table():
    class NoTable(BaseGame):
        def __init__(self, inner):
            super().__init__(inner.n_players)
            self.inner = inner

        def _value(self, c):
            return self.inner.value(c)

    inner = WeightedVotingGame(np.arange(1, 18), 80)
    r = shapley(NoTable(inner))
    np.testing.assert_allclose(r.values, shapley(inner).values, atol=1e-12)
    assert r.evaluations == 1 << 17


def test_beta_shapley_weights_and_semivalue():
    g = WeightedVotingGame([3, 2, 2, 1, 1, 1, 1], 6)
    np.testing.assert_allclose(beta_shapley(g, 1.0, 1.0).values, shapley(g).values, atol=1e-12)
    n = 7
    p = [F(math.factorial(s) * math.factorial(n - 1 - s), math.factorial(n)) for s in range(n)]
    np.testing.assert_allclose(semivalue(g, _f(p)).values, shapley(g).values, atol=1e-12)
    # Beta(16, 1) at n = 7: p_0 = 16/22 (spec §3).
    from fairsim.mechanisms._valuation_exact import beta_weights

    w = beta_weights(7, 16.0, 1.0)
    assert w[0] == pytest.approx(16 / 22)
    assert sum(math.comb(6, s) * w[s] for s in range(7)) == pytest.approx(1.0)


def test_leave_one_out_redundant_parties():
    g = SumOfUnanimityGames(3, [[0], [1], [2]], [1.0, 1.0, 1.0])
    assert leave_one_out(g).values.tolist() == [1.0, 1.0, 1.0]
    red = TableGame([0, 1, 1, 1, 0, 1, 1, 1.0])  # players 0, 1 redundant, 2 null
    r = leave_one_out(red)
    assert r.values.tolist() == [0.0, 0.0, 0.0] and r.evaluations == 4


def test_least_core_spec_cases():
    r = least_core(GloveGame(1, 2))
    np.testing.assert_allclose(r.values, [1, 0, 0], atol=1e-8)
    assert r.info["subsidy"] == pytest.approx(0.0, abs=1e-9)
    m = least_core(WeightedVotingGame([1] * 5, 3))
    assert m.info["subsidy"] == pytest.approx(0.4)
    assert m.values.sum() == pytest.approx(1.0)
    s = least_core(GloveGame(1, 1))
    np.testing.assert_allclose(s.values, [0.5, 0.5], atol=1e-9)
    mc = least_core(WeightedVotingGame([1] * 5, 3), method="montecarlo", n_constraints=400, rng=0)
    assert mc.info["subsidy"] <= 0.4 + 1e-9


def test_knn_shapley_matches_brute_force():
    rng = np.random.default_rng(3)
    N = 7
    xt = rng.normal(size=(N, 2))
    yt = rng.integers(0, 2, size=N)
    xv = rng.normal(size=(3, 2))
    yv = rng.integers(0, 2, size=3)
    for K in (1, 2, 3, 7):
        tab = np.zeros(1 << N)
        for m in range(1 << N):
            members = [j for j in range(N) if m >> j & 1]
            tot = 0.0
            for x, y in zip(xv, yv, strict=True):
                d = ((xt[members] - x) ** 2).sum(axis=1)
                near = [members[j] for j in np.argsort(d, kind="stable")[:K]]
                tot += sum(yt[j] == y for j in near) / K
            tab[m] = tot / len(xv)
        ref = shapley(TableGame(tab)).values
        np.testing.assert_allclose(knn_shapley(xt, yt, xv, yv, K).values, ref, atol=1e-12)


def test_validation_errors():
    g = GloveGame(1, 2)
    with pytest.raises(InputError, match="method"):
        shapley(g, method="magic")
    with pytest.raises(InputError, match="budget"):
        shapley(g, method="permutation", budget=0)
    with pytest.raises(InputError, match="n_players <= 26"):
        shapley(SumOfUnanimityGames(27, [[0]], [1.0]))
    with pytest.raises(InputError, match="no closed form"):
        shapley_closed_form(TableGame([0.0, 1.0]))
    with pytest.raises(InputError, match="k must"):
        knn_shapley([[0.0]], [0], [[0.0]], [0], 0)


def test_joint_shapley_order_one_and_joint_efficiency():
    from fairsim.mechanisms.valuation import joint_shapley

    g = SumOfUnanimityGames(5, [[0, 1], [1, 2, 3], [4], [0, 4]], [2.0, 3.0, -1.0, 1.5])
    j1 = joint_shapley(g, 1)
    np.testing.assert_allclose([j1[(i,)] for i in range(5)], shapley(g).values, atol=1e-12)
    for k in (2, 3):
        jk = joint_shapley(g, k)
        assert len(jk) == sum(math.comb(5, s) for s in range(1, k + 1))
        assert sum(jk.values()) == pytest.approx(2 + 3 - 1 + 1.5, abs=1e-12)
    # hand-worked: n = 2, k = 2, v = unanimity on {0, 1}: q(0) = 1/3, q(1) = 1/3
    # phi_{0} = q(1)[v(01) - v(1)] = 1/3, phi_{01} = q(0)[v(01) - v()] = 1/3.
    j = joint_shapley(UnanimityGame(2, [0, 1]), 2)
    assert j[(0,)] == pytest.approx(1 / 3) and j[(0, 1)] == pytest.approx(1 / 3)


def test_voting_dp_matches_numba_exact_at_n16():
    w = np.random.default_rng(0).integers(1, 20, size=16)
    g = WeightedVotingGame(w, int(w.sum()) // 2 + 1)
    np.testing.assert_allclose(shapley(g).values, shapley_closed_form(g), atol=1e-12)


@pytest.mark.slow
def test_exact_n22_matches_closed_form():
    w = np.random.default_rng(1).integers(1, 20, size=22)
    g = WeightedVotingGame(w, int(w.sum()) // 2 + 1)
    np.testing.assert_allclose(shapley(g).values, shapley_closed_form(g), atol=1e-11)
    b = BankruptcyGame(150, np.random.default_rng(2).integers(1, 30, size=20))
    np.testing.assert_allclose(shapley(b).values, shapley_closed_form(b), atol=1e-9)


def test_registry_entries():
    import fairsim.axioms.valuation  # noqa: F401
    import fairsim.mechanisms.rewards  # noqa: F401
    from fairsim import registry

    e = registry.get("valuation.shapley", "mechanism")
    assert e.extra["role"] == "estimator" and "efficiency" in e.claims
    assert registry.get("valuation.efficiency", "axiom").func is not None
    assert registry.get("time_aware.cumulative", "mechanism").func is not None
