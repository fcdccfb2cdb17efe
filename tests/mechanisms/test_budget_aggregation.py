"""Moving-phantom budget aggregation (spec §6) against UP, an LP and exact arithmetic."""

from __future__ import annotations

import random
from fractions import Fraction as F

import numpy as np
import pytest
from scipy.optimize import linprog

from fairsim import registry
from fairsim.errors import InputError
from fairsim.mechanisms.budget_aggregation import moving_phantom


def up_exact(col):
    n = len(col)
    pts = sorted([F(float(v)) for v in col] + [F(k, n) for k in range(1, n)])
    return pts[n - 1]


def l1_lp(P):
    """min sum_ij |a_j - p_ij| s.t. sum a = 1, a >= 0 (HiGHS): the optimal objective value."""
    n, m = P.shape
    # variables: a (m), d (n*m)
    c = np.concatenate([np.zeros(m), np.ones(n * m)])
    A, b = [], []
    for i in range(n):
        for j in range(m):
            row = np.zeros(m + n * m)
            row[j], row[m + i * m + j] = 1, -1  # a_j - d_ij <= p_ij
            A.append(row), b.append(P[i, j])
            row = np.zeros(m + n * m)
            row[j], row[m + i * m + j] = -1, -1  # -a_j - d_ij <= -p_ij
            A.append(row), b.append(-P[i, j])
    eq = np.concatenate([np.ones(m), np.zeros(n * m)])[None]
    res = linprog(c, A_ub=np.array(A), b_ub=b, A_eq=eq, b_eq=[1], bounds=(0, None), method="highs")
    assert res.success
    return res.fun


def test_m2_independent_markets_is_uniform_phantom():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 10))
        c1 = rng.random(n)
        c1[: n // 2] = np.round(c1[: n // 2] * n) / n
        P = np.stack([1 - c1, c1], axis=1)
        a = moving_phantom(P)
        assert abs(a[1] - float(up_exact(P[:, 1]))) <= 1e-11
        assert abs(a.sum() - 1) < 1e-12


def test_m2_exact_is_uniform_phantom_exactly():
    rnd = random.Random(1)
    for _ in range(50):
        n = rnd.randint(1, 7)
        col = [F(rnd.randint(0, 12), 12) for _ in range(n)]
        a = moving_phantom([[1 - v, v] for v in col])
        pts = sorted(col + [F(k, n) for k in range(1, n)])
        assert a[1] == pts[n - 1] and sum(a) == 1


def test_single_minded_voters_get_fractions():
    P = np.eye(4)[[0, 0, 1, 3, 3, 3]]
    np.testing.assert_allclose(moving_phantom(P), [2 / 6, 1 / 6, 0, 3 / 6], atol=1e-11)
    exact = moving_phantom([[F(int(v)) for v in r] for r in P], "independent_markets")
    assert list(exact) == [F(1, 3), F(1, 6), F(0), F(1, 2)]


def test_welfare_maximizing_matches_lp():
    rng = np.random.default_rng(2)
    for _ in range(60):
        n, m = int(rng.integers(1, 8)), int(rng.integers(2, 5))
        P = rng.dirichlet(np.ones(m), size=n)
        if rng.random() < 0.3:
            P = np.round(P * 4) / 4
            P[:, -1] = 1 - P[:, :-1].sum(1)
            P = np.clip(P, 0, 1)
            P[:, -1] = 1 - P[:, :-1].sum(1)
            if (P < 0).any():
                continue
        a = moving_phantom(P, "welfare_maximizing")
        assert a.min() >= -1e-12 and abs(a.sum() - 1) < 1e-12
        obj = np.abs(a[None, :] - P).sum()
        assert obj <= l1_lp(P) + 1e-8


def test_exact_matches_float():
    rnd = random.Random(3)
    for system in ("independent_markets", "welfare_maximizing"):
        for _ in range(25):
            n, m = rnd.randint(1, 5), rnd.randint(2, 4)
            rows = []
            for _ in range(n):
                cuts = sorted(F(rnd.randint(0, 10), 10) for _ in range(m - 1))
                pts = [F(0), *cuts, F(1)]
                rows.append([pts[j + 1] - pts[j] for j in range(m)])
            ex = moving_phantom(rows, system)
            assert sum(ex) == 1 and all(isinstance(v, F) for v in ex)
            fl = moving_phantom(np.array(rows, dtype=float), system)
            np.testing.assert_allclose(fl, [float(v) for v in ex], atol=1e-10)


def test_batched_and_m1_and_registry():
    rng = np.random.default_rng(4)
    R = rng.dirichlet(np.ones(3), size=(5, 4))
    out = moving_phantom(R)
    assert out.shape == (5, 3)
    for b in range(5):
        np.testing.assert_allclose(out[b], moving_phantom(R[b]), atol=1e-14)
    np.testing.assert_array_equal(moving_phantom(np.ones((3, 1))), [1.0])
    e = registry.get("budget_aggregation.welfare_maximizing", "mechanism")
    np.testing.assert_allclose(e.func(R[0]), moving_phantom(R[0], "welfare_maximizing"))
    assert registry.get("budget_aggregation.independent_markets", "mechanism").func(R).shape == (
        5,
        3,
    )


@pytest.mark.parametrize(
    "reports,kw,match",
    [
        (np.ones(3) / 3, {}, "2-D"),
        (np.zeros((0, 2)), {}, "n >= 1"),
        ([[0.5, np.nan]], {}, "not finite"),
        ([[1.5, -0.5]], {}, "negative"),
        ([[0.5, 0.4]], {}, "sum to 1"),
        ([[0.5, 0.5]], {"system": "nope"}, "system must be one of"),
        ([[0.5, 0.5]], {"tol": 0}, "tol"),
        ([[F(1, 2), F(1, 3)]], {}, "exactly 1"),
    ],
)
def test_validation_errors(reports, kw, match):
    with pytest.raises(InputError, match=match):
        moving_phantom(reports, **kw)


def test_piecewise_uniform_not_implemented():
    with pytest.raises(NotImplementedError):
        moving_phantom([[0.5, 0.5]], system="piecewise_uniform")
