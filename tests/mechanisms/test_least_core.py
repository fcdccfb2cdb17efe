"""Egalitarian least core (spec ``valuation.md`` §3): stage 1 LP + stage 2 minimum-norm point.

Hand-worked games whose least core is a segment give the egalitarian point in closed form; the
stage-2 subsidy must equal the LP's e*; without cvxpy the stage-1 vertex comes back flagged.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from fairsim.errors import InputError
from fairsim.mechanisms.games import TableGame, WeightedVotingGame
from fairsim.mechanisms.valuation import least_core


def _segment_game(v0: float) -> TableGame:
    """n = 3: v({0}) = v0, v({0,1}) = 1, v(N) = 1, every other coalition 0.

    Least core by hand: x0 + x1 + e >= 1 and x2 + e >= 0 with x(N) = 1 give e >= 0, so e* = 0 and
    the least core is {x2 = 0, x0 + x1 = 1, x0 >= max(v0, 0), x1 >= 0}: the segment from
    (max(v0, 0), 1 - max(v0, 0), 0) to (1, 0, 0). The point of minimum norm on the line
    x0 + x1 = 1 is x0 = 1/2, clipped to the segment: x0 = max(1/2, v0).
    """
    t = np.zeros(8)
    t[0b001], t[0b011], t[0b111] = v0, 1.0, 1.0
    return TableGame(t)


def _satisfies(game, x, e, tol=1e-8):
    n = game.n_players
    for m in range(1, (1 << n) - 1):
        S = [i for i in range(n) if (m >> i) & 1]
        row = np.zeros(n, bool)
        row[S] = True
        if x[S].sum() + e < game.value(row)[0] - tol:
            return False
    return abs(x.sum() - game.value(np.ones(n, bool))[0]) < tol


@pytest.mark.parametrize("v0,expected", [(0.0, [0.5, 0.5, 0.0]), (0.8, [0.8, 0.2, 0.0])])
def test_segment_least_core_egalitarian_point(v0, expected):
    pytest.importorskip("cvxpy")
    r = least_core(_segment_game(v0))
    assert r.info is not None and r.info["egalitarian"] is True
    assert r.info["subsidy"] == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(r.values, expected, atol=1e-7)


def test_subsidy_matches_lp_and_point_is_min_norm_feasible():
    pytest.importorskip("cvxpy")
    rng = np.random.default_rng(7)
    for _ in range(3):
        t = rng.uniform(0, 1, size=1 << 5)
        t[0] = 0.0
        g = TableGame(t)
        eg = least_core(g)
        lp = least_core(g, egalitarian=False)
        assert eg.info is not None and lp.info is not None
        assert eg.info["egalitarian"] is True and lp.info["egalitarian"] is False
        assert eg.info["subsidy"] == lp.info["subsidy"]
        assert _satisfies(g, eg.values, eg.info["subsidy"])
        assert _satisfies(g, lp.values, lp.info["subsidy"])
        assert np.sum(eg.values**2) <= np.sum(lp.values**2) + 1e-8


def test_symmetric_majority_spec_case():
    pytest.importorskip("cvxpy")
    r = least_core(WeightedVotingGame([1] * 5, 3))
    np.testing.assert_allclose(r.values, [0.2] * 5, atol=1e-7)
    assert r.info is not None and r.info["subsidy"] == pytest.approx(0.4)


T3 = np.array([0, 0.2, 0.1, 0.9, 0.3, 0.7, 0.6, 1.0])


def test_positive_subsidy_segment_by_hand():
    """Game T3 (values by mask). By hand: x0 + x1 >= 0.9 - e and x2 >= 0.3 - e with x(N) = 1
    force e >= 0.1, and e = 0.1 is feasible, so e* = 0.1. Then x2 = 0.2, x0 + x1 = 0.8,
    x0 >= 0.7 - 0.1 - 0.2 = 0.4 (from {0,2}) and x1 >= 0.6 - 0.1 - 0.2 = 0.3 (from {1,2}); the
    least core is the segment x0 in [0.4, 0.5], whose minimum-norm point is (0.4, 0.4, 0.2)."""
    pytest.importorskip("cvxpy")
    r = least_core(TableGame(T3))
    assert r.info is not None and r.info["egalitarian"] is True
    assert r.info["subsidy"] == pytest.approx(0.1, abs=1e-12)
    np.testing.assert_allclose(r.values, [0.4, 0.4, 0.2], atol=1e-9)


def test_brute_force_min_norm_on_grid():
    """Same game: the min-norm least-core point agrees with a fine grid search."""
    pytest.importorskip("cvxpy")
    t = T3
    r = least_core(TableGame(t))
    assert r.info is not None
    e = r.info["subsidy"]
    g0, g1 = np.meshgrid(np.linspace(-0.5, 1.5, 1201), np.linspace(-0.5, 1.5, 1201))
    X = np.stack([g0.ravel(), g1.ravel(), 1.0 - g0.ravel() - g1.ravel()], axis=1)
    A = np.array([[(m >> i) & 1 for i in range(3)] for m in range(1, 7)], dtype=float)
    ok = np.all(X @ A.T + e >= t[1:7] - 2.5e-3, axis=1)
    assert ok.any()
    nrm = np.einsum("ij,ij->i", X, X)
    nrm[~ok] = np.inf
    np.testing.assert_allclose(r.values, X[np.argmin(nrm)], atol=6e-3)


def test_fallback_without_cvxpy(monkeypatch):
    monkeypatch.setitem(sys.modules, "cvxpy", None)
    g = _segment_game(0.8)
    r = least_core(g)
    assert r.info is not None
    assert r.info["egalitarian"] is False and r.info["stage2"] == "cvxpy not installed"
    assert r.info["subsidy"] == pytest.approx(0.0, abs=1e-9)
    assert _satisfies(g, r.values, 0.0)
    # The LP vertex is one of the two ends of the segment.
    ends = [np.array([0.8, 0.2, 0.0]), np.array([1.0, 0.0, 0.0])]
    assert any(np.allclose(r.values, e, atol=1e-9) for e in ends)


def test_montecarlo_with_stage2_and_errors():
    pytest.importorskip("cvxpy")
    r = least_core(WeightedVotingGame([1] * 5, 3), method="montecarlo", n_constraints=300, rng=1)
    assert r.info is not None and r.info["egalitarian"] is True
    assert r.info["subsidy"] <= 0.4 + 1e-9
    assert r.values.sum() == pytest.approx(1.0)
    with pytest.raises(InputError, match="egalitarian"):
        least_core(WeightedVotingGame([1] * 3, 2), egalitarian="yes")  # type: ignore[arg-type]
