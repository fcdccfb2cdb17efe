"""Closed-form Shapley values of the spec §7 games, in exact rational arithmetic.

Floats are converted to ``Fraction`` exactly, so the results are exact for the given inputs.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from fairsim.mechanisms.games import (
    AirportGame,
    BankruptcyGame,
    GloveGame,
    SumOfUnanimityGames,
    WeightedVotingGame,
)


def _w(n: int) -> list[Fraction]:
    return [
        Fraction(math.factorial(s) * math.factorial(n - 1 - s), math.factorial(n)) for s in range(n)
    ]


def _glove(L: int, R: int) -> list[Fraction]:
    n = L + R
    w = _w(n)

    def side(a_count: int, b_count: int) -> Fraction:
        # a player of the scarce-or-not side "a" adds 1 iff own side (others) < other side.
        tot = Fraction(0)
        for a in range(a_count):
            for b in range(b_count + 1):
                if a < b:
                    tot += math.comb(a_count - 1, a) * math.comb(b_count, b) * w[a + b]
        return tot

    left = side(L, R) if L else Fraction(0)
    right = side(R, L) if R else Fraction(0)
    return [left] * L + [right] * R


def _airport(costs: np.ndarray) -> list[Fraction]:
    n = costs.size
    c = [Fraction(float(x)) for x in costs]
    order = sorted(range(n), key=lambda i: (c[i], i))
    out = [Fraction(0)] * n
    acc, prev = Fraction(0), Fraction(0)
    for k, i in enumerate(order):
        acc += (c[i] - prev) / (n - k)
        prev = c[i]
        out[i] = acc
    return out


def _soug(g: SumOfUnanimityGames) -> list[Fraction]:
    out = [Fraction(0)] * g.n_players
    for t, a in zip(g.carriers, g.coefficients, strict=True):
        for i in t:
            out[i] += Fraction(float(a)) / len(t)
    return out


def _counts(weights: list[int], i: int) -> list[list[int]]:
    n, W = len(weights), sum(weights)
    C = [[0] * (W + 1) for _ in range(n)]
    C[0][0] = 1
    for j, wj in enumerate(weights):
        if j == i:
            continue
        for s in range(n - 1, 0, -1):
            row, low = C[s], C[s - 1]
            for x in range(W, wj - 1, -1):
                row[x] += low[x - wj]
    return C


def _integers(x: np.ndarray) -> list[int] | None:
    if np.all(x == np.round(x)) and x.sum() <= 1_000_000:
        return [int(v) for v in x]
    return None


def _voting(g: WeightedVotingGame) -> list[Fraction] | None:
    w = _integers(g.weights)
    if w is None:
        return None
    n, w_s = g.n_players, _w(g.n_players)
    q = math.ceil(g.quota)
    out = []
    for i in range(n):
        C = _counts(w, i)
        tot = Fraction(0)
        for s in range(n):
            cnt = sum(C[s][x] for x in range(max(0, q - w[i]), min(q, len(C[s]))))
            tot += w_s[s] * cnt
        out.append(tot)
    return out


def _bankruptcy(g: BankruptcyGame) -> list[Fraction] | None:
    d = _integers(g.claims)
    if d is None:
        return None
    n, w_s, E = g.n_players, _w(g.n_players), Fraction(g.estate)
    out = []
    for i in range(n):
        C = _counts(d, i)
        tot = Fraction(0)
        for s in range(n):
            for x, cnt in enumerate(C[s]):
                if cnt:
                    # S arrives before i: i gets min(d_i, max(0, E - d(S))).
                    tot += w_s[s] * cnt * min(Fraction(d[i]), max(Fraction(0), E - x))
        out.append(tot)
    return out


def closed_form(game: Any) -> list[Fraction] | None:
    """Exact Shapley value for a supported game, or ``None``."""
    if isinstance(game, GloveGame):
        return _glove(game.left, game.right)
    if isinstance(game, AirportGame):
        return _airport(game.costs)
    if isinstance(game, SumOfUnanimityGames):
        return _soug(game)
    if isinstance(game, WeightedVotingGame):
        return _voting(game)
    if isinstance(game, BankruptcyGame):
        return _bankruptcy(game)
    return None
