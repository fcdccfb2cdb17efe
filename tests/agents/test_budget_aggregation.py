"""Divisible-budget voters: generators and behaviours (fairsim.agents.budget_aggregation)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from fairsim import registry
from fairsim.agents import budget_aggregation as ag
from fairsim.errors import InputError
from fairsim.mechanisms._aggregation_baselines import mean
from fairsim.mechanisms.budget_aggregation import independent_markets


@pytest.mark.parametrize("generator", ag.GENERATORS)
def test_profiles_lie_on_the_simplex(generator: str) -> None:
    P = ag.draw_profile(generator, 50, 4, np.random.default_rng(0), alpha=0.3)
    assert P.shape == (50, 4)
    assert np.all(P >= 0) and np.allclose(P.sum(axis=1), 1.0)


def test_single_minded_rows_are_vertices() -> None:
    P = ag.draw_profile("single_minded", 200, 3, np.random.default_rng(1))
    assert set(map(tuple, P.tolist())) <= {(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)}
    assert (P.sum(axis=0) > 40).all()  # uniform over projects: ~67 each


def test_clustered_noise_zero_gives_party_platforms() -> None:
    P = ag.draw_profile("clustered", 100, 5, np.random.default_rng(2), parties=2, noise=0.0)
    assert len({tuple(np.round(r, 12)) for r in P}) <= 2


def test_same_seed_same_profile() -> None:
    a = ag.draw_profile("dirichlet", 7, 3, np.random.default_rng(5))
    b = ag.draw_profile("dirichlet", 7, 3, np.random.default_rng(5))
    assert np.array_equal(a, b)


def test_profile_from_approvals_hand_worked() -> None:
    A = np.array([[1, 1, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1], [0, 0, 1, 0]])
    P = ag.profile_from_approvals(A)
    want = [
        [Fraction(1, 2), Fraction(1, 2), 0, 0],
        [Fraction(1, 4)] * 4,
        [0, 0, 1, 0],
    ]  # the empty ballot is dropped
    assert P == pytest.approx(np.array(want, dtype=float))


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"generator": "gauss"}, "generator"),
        ({"n": 0}, "n and m"),
        ({"alpha": 0.0}, "alpha"),
        ({"noise": 2.0}, "noise"),
    ],
)
def test_generator_errors(kw: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"generator": "dirichlet", "n": 3, "m": 3}
    args.update(kw)
    with pytest.raises(InputError, match=match):
        ag.draw_profile(
            str(args.pop("generator")),
            int(args.pop("n")),  # type: ignore[call-overload]
            int(args.pop("m")),  # type: ignore[call-overload]
            np.random.default_rng(0),
            **args,  # type: ignore[arg-type]
        )
    with pytest.raises(InputError, match="no non-empty"):
        ag.profile_from_approvals(np.zeros((2, 3)))


def test_behaviours_registered() -> None:
    assert registry.get("truthful", "behaviour", domain="budget_aggregation").func is ag.truthful
    e = registry.get("best_response", "behaviour", domain="budget_aggregation")
    assert set(e.params) == {"rounds", "random", "passes"}


def test_best_response_manipulates_the_mean() -> None:
    # voter 0 (truth (0.6, 0.4)) best-responds to the mean: the vertex (1, 0) is optimal (it
    # would need a report of 1.2 on project 0); voter 1 stays at its truth (0, 1).
    P = np.array([[0.6, 0.4], [0.0, 1.0]])
    idx = np.array([0])
    R = ag.best_response(P, idx, mean, P.copy(), np.random.default_rng(0))
    assert R[0] == pytest.approx([1.0, 0.0]) and np.array_equal(R[1], P[1])
    d_true = np.abs(mean(P) - P[0]).sum()
    d_br = np.abs(mean(R) - P[0]).sum()
    assert d_true == pytest.approx(0.6) and d_br == pytest.approx(0.2)
    assert np.array_equal(ag.truthful(P, idx, mean, R, None), P)


def test_best_response_cannot_improve_on_independent_markets() -> None:
    rng = np.random.default_rng(3)
    P = rng.dirichlet(np.ones(3), size=4)
    R = ag.best_response(P, np.arange(4), independent_markets, P.copy(), rng, random=3, passes=2)
    b = independent_markets(R)
    # the last mover best-responds to the final reports: truth is (weakly) optimal for it
    R_truth = R.copy()
    R_truth[3] = P[3]
    assert np.abs(b - P[3]).sum() >= np.abs(independent_markets(R_truth) - P[3]).sum() - 1e-7
