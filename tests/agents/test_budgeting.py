"""PB voters: generators' statistics, truncation, outcome metrics (hand-worked references)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from scipy import sparse

from fairsim.agents import budgeting as B
from fairsim.errors import InputError
from fairsim.io.pabulib import Election


def _e(sets: list[set[int]], costs: list[float], budget: float) -> Election:
    m = len(costs)
    A = np.zeros((len(sets), m), dtype=bool)
    for i, s in enumerate(sets):
        A[i, list(s)] = True
    return Election(
        project_ids=[f"p{j}" for j in range(m)],
        costs=np.asarray(costs, dtype=float),
        budget=budget,
        approvals=sparse.csr_matrix(A),
    )


def test_impartial_culture_approval_rate() -> None:
    A, U = B.draw_ballots("impartial_culture", 4000, 10, np.random.default_rng(1), p=0.3)
    # 40 000 Bernoulli(0.3) cells: sd of the mean = sqrt(.21/40000) ~ 0.0023
    assert abs(A.mean() - 0.3) < 0.01
    assert U.shape == (4000, 10) and (U >= 0).all() and (U <= 1).all()


def test_resampling_phi_zero_copies_central_ballot() -> None:
    A, _ = B.draw_ballots("resampling", 50, 10, np.random.default_rng(2), p=0.3, phi=0.0)
    assert (A == A[0]).all() and A[0].sum() == 3  # round(0.3 * 10) central approvals


def test_euclidean_radius_extremes() -> None:
    A, U = B.draw_ballots("euclidean", 20, 6, np.random.default_rng(3), radius=0.0, dim=2)
    assert not A.any()
    A, U = B.draw_ballots("euclidean", 20, 6, np.random.default_rng(3), radius=1.5, dim=2)
    assert A.all()  # sqrt(2) < 1.5
    assert (U <= 0).all()  # utility = minus distance


def test_generator_validation() -> None:
    with pytest.raises(InputError, match="generator"):
        B.draw_ballots("mallows", 3, 3, np.random.default_rng(0))
    with pytest.raises(InputError, match="p and phi"):
        B.draw_ballots("impartial_culture", 3, 3, np.random.default_rng(0), p=1.5)


def test_truncate_keeps_top_k_by_private_utility() -> None:
    ballots = np.array([[1, 1, 1, 0], [0, 1, 0, 1], [0, 0, 0, 0]], dtype=bool)
    util = np.array([[0.2, 0.9, 0.5, 1.0], [0.1, 0.3, 0.9, 0.3], [1, 1, 1, 1]])
    out = B.truncate(ballots, util, 1)
    # voter 0: best approved is project 1 (0.9; project 3 is not approved); voter 1: tie 0.3/0.3
    # between projects 1 and 3 -> lower index; voter 2 approves nothing
    assert out.tolist() == [[0, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]]
    assert B.truncate(ballots, util, 2).tolist() == [[0, 1, 1, 0], [0, 1, 0, 1], [0, 0, 0, 0]]
    assert (B.truncate(ballots, util, 5) == ballots).all()


def test_metrics_hand_worked() -> None:
    # voters: {0,1}, {1}, {2}, {} ; costs 2, 3, 5; budget 10; W = {p0, p1}
    e = _e([{0, 1}, {1}, {2}, set()], [2, 3, 5], 10)
    W = ["p0", "p1"]
    u = [Fraction(5), Fraction(3), Fraction(0), Fraction(0)]
    assert B.welfare_cost(e, W) == pytest.approx(float(sum(u) / 4))
    assert B.welfare_cardinality(e, W) == pytest.approx(3 / 4)
    assert B.spend_share(e, W) == pytest.approx(0.5)
    assert B.num_projects(e, W) == 2.0
    assert B.coverage(e, W) == pytest.approx(0.5)
    gini = sum(abs(a - b) for a in u for b in u) / (2 * len(u) * sum(u))
    assert B.gini(e, W) == pytest.approx(float(gini))
    assert B.gini(e, []) == 0.0


def test_random_election_and_sampler_validate_their_inputs() -> None:
    from fairsim.agents.budgeting import election_sampler, random_election
    from fairsim.errors import InputError

    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match="budget_fraction"):
        random_election("euclidean", 3, 3, rng, budget_fraction=-1.0)
    with pytest.raises(InputError, match="generator"):
        election_sampler("nope", 3, 3)
    e = election_sampler("impartial_culture", 5, 4, p=0.5)(rng)
    assert len(e.project_ids) == 4 and float(e.budget) == pytest.approx(0.4 * float(sum(e.costs)))
