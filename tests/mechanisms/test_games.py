"""Games: protocol rules, tables against direct evaluation, and exact values against Fractions."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

from fairsim.errors import InputError
from fairsim.mechanisms.games import (
    AirportGame,
    BankruptcyGame,
    GloveGame,
    SumGame,
    SumOfUnanimityGames,
    TableGame,
    UnanimityGame,
    WeightedVotingGame,
    rows_of,
)


def brute_shapley(v, n):
    """Exact Shapley by averaging marginals over all n! orderings, in Fractions."""
    phi = [Fraction(0)] * n
    for perm in itertools.permutations(range(n)):
        S = 0
        for i in perm:
            phi[i] += Fraction(v(S | (1 << i))) - Fraction(v(S))
            S |= 1 << i
    return [p / math.factorial(n) for p in phi]


GAMES = [
    lambda: WeightedVotingGame([3, 2, 2, 1, 1], 5),
    lambda: GloveGame(2, 3),
    lambda: AirportGame([1.0, 2.5, 2.5, 4.0]),
    lambda: UnanimityGame(5, [1, 3]),
    lambda: SumOfUnanimityGames(5, [[0], [1, 2], [0, 2, 4]], [1.0, -2.0, 3.0]),
    lambda: BankruptcyGame(60.0, [10, 20, 30, 45]),
]


@pytest.mark.parametrize("make", GAMES)
def test_table_matches_value(make):
    g = make()
    n = g.n_players
    rows = rows_of(np.arange(1 << n), n)
    np.testing.assert_allclose(g.table(), g.value(rows), rtol=0, atol=1e-12)
    assert g.evaluations == 1 << n


def test_protocol_shapes_and_accounting():
    g = GloveGame(1, 2)
    assert g.value(np.array([True, False, True])).shape == (1,)
    assert g.value(np.zeros((0, 3), bool)).shape == (0,)
    assert g.evaluations == 1
    with pytest.raises(InputError, match="shape"):
        g.value(np.zeros((2, 4), bool))
    c = GloveGame(1, 2, cache=True)
    rows = np.array([[1, 1, 0], [1, 1, 0], [0, 1, 1]], bool)
    np.testing.assert_array_equal(c.value(rows), [1, 1, 0])
    c.value(rows)
    assert c.evaluations == 2


def test_known_values():
    assert WeightedVotingGame([2, 1, 1], 3).value(
        np.array([[1, 1, 0], [0, 1, 1]], bool)
    ).tolist() == [1, 0]
    assert BankruptcyGame(60, [10, 20, 30, 45]).value(np.array([1, 1, 1, 0], bool))[0] == 15
    assert AirportGame([1, 2, 3]).value(np.array([1, 0, 1], bool))[0] == 3
    t = TableGame([0.0, 1.0, 2.0, 5.0])
    assert t.value(np.array([[1, 1], [0, 1]], bool)).tolist() == [5.0, 2.0]
    s = SumGame(GloveGame(1, 1), UnanimityGame(2, [0]))
    assert s.value(np.array([[1, 1], [1, 0]], bool)).tolist() == [2.0, 1.0]


@pytest.mark.parametrize(
    "bad",
    [
        lambda: TableGame([1.0, 2.0, 3.0]),
        lambda: WeightedVotingGame([1, -1], 1),
        lambda: WeightedVotingGame([1, 1], 0),
        lambda: GloveGame(-1, 2),
        lambda: UnanimityGame(3, []),
        lambda: SumOfUnanimityGames(3, [[0, 5]], [1.0]),
        lambda: SumOfUnanimityGames(3, [[0]], [1.0, 2.0]),
        lambda: BankruptcyGame(-1, [1, 2]),
        lambda: AirportGame([1.0, float("nan")]),
    ],
)
def test_invalid_inputs_raise(bad):
    with pytest.raises(InputError):
        bad()


def test_brute_force_helper_on_spec_vectors():
    g = WeightedVotingGame([2, 1, 1], 3)
    tab = g.table()
    assert brute_shapley(lambda m: tab[m], 3) == [Fraction(2, 3), Fraction(1, 6), Fraction(1, 6)]
