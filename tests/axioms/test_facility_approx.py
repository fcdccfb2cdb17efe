"""Approximation ratios and price of fairness (spec facility.md §8) vs exact closed forms."""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest
from _facility_axioms_ref import dictator0, leftmost, median_left, midpoint, random_rank, up_batch

from fairsim.axioms.facility import approximation_ratio, default_grid, price_of_fairness


def ufs_price_sw(n):
    return max(F(k * n, k * k + (n - k) ** 2) for k in range(n + 1))


def ifs_price_sw(n):
    return F(n * (n - 1), n * n - 2 * n + 2)


def two_n(n):
    return F(2 * (n - 1), n)


# spec §8.3 rows, as exact Fractions computed here
EXPECTED = {
    up_batch: {"sw": ufs_price_sw, "tc": lambda n: F(n - 1), "mc": lambda n: F(2)},
    median_left: {"sw": lambda n: F(1), "tc": lambda n: F(1), "mc": lambda n: F(2)},
    midpoint: {"sw": two_n, "tc": lambda n: F(n, 2), "mc": lambda n: F(1)},
    leftmost: {"sw": lambda n: F(n - 1), "tc": lambda n: F(n - 1), "mc": lambda n: F(2)},
    random_rank: {"sw": ufs_price_sw, "tc": lambda n: 2 - F(2, n), "mc": lambda n: F(2)},
}


@pytest.mark.parametrize("n", [2, 3, 4, 5])
@pytest.mark.parametrize("objective", ["sw", "tc", "mc"])
@pytest.mark.parametrize("mech", list(EXPECTED), ids=lambda m: m.__name__)
def test_mechanism_ratios_equal_spec_formulas(mech, n, objective):
    ratio, worst = approximation_ratio(mech, n, objective)
    assert ratio == float(EXPECTED[mech][objective](n))
    assert worst.shape == (n,) and np.all((worst >= 0) & (worst <= 1))


def test_worst_profiles_are_the_documented_families():
    # UP: n-1 agents at 0 and one at 1/G < 1/n gives rho_TC = n - 1
    r, w = approximation_ratio(up_batch, 4, "tc")
    assert r == 3.0 and w.tolist() == [0, 0, 0, 1 / default_grid(4)]
    r, w = approximation_ratio(up_batch, 3, "sw")
    assert w.tolist() == [0.0, 0.0, 1.0]


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_price_of_fairness(n):
    for axiom in ("ufs", "pf", "proportionality"):
        assert price_of_fairness(axiom, n, "sw")[0] == float(ufs_price_sw(n))
        assert price_of_fairness(axiom, n, "tc")[0] == float(two_n(n))
    assert price_of_fairness("ufs", n, "mc")[0] == float(two_n(n))
    assert price_of_fairness("ifs", n, "sw")[0] == float(ifs_price_sw(n))
    assert price_of_fairness("ifs", n, "tc")[0] == float(two_n(n))
    assert price_of_fairness("ifs", n, "mc")[0] == 1.0


def test_non_anonymous_enumeration_and_limit():
    # dictatorship of agent 0 (per-profile callable): rho_SW = n - 1 needs all tuples
    r, w = approximation_ratio(dictator0, 3, "sw", grid=4)
    assert r == 2.0 and w.tolist() == [0.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="limit"):
        approximation_ratio(dictator0, 7, "sw")
    with pytest.raises(ValueError, match="limit"):
        approximation_ratio(up_batch, 12, "sw", grid=60)


def test_random_method():
    rng = np.random.default_rng(5)
    r, w = approximation_ratio(up_batch, 4, "sw", method="random", samples=2000, rng=rng)
    # endpoint profiles are always included and attain the UFS price
    assert r == pytest.approx(float(ufs_price_sw(4)), abs=1e-12)
    r, _ = approximation_ratio(midpoint, 4, "tc", method="random", samples=2000, rng=rng)
    assert 1.0 <= r <= 2.0 + 1e-12


@pytest.mark.slow
@pytest.mark.parametrize("n", [6, 7])
def test_larger_n(n):
    assert approximation_ratio(up_batch, n, "sw")[0] == float(ufs_price_sw(n))
    assert approximation_ratio(up_batch, n, "tc")[0] == n - 1
    assert price_of_fairness("ifs", n, "sw")[0] == float(ifs_price_sw(n))


@pytest.mark.parametrize(
    "call",
    [
        lambda: approximation_ratio(up_batch, 0),
        lambda: approximation_ratio(up_batch, 3, "welfare"),
        lambda: approximation_ratio(up_batch, 3, method="grid"),
        lambda: approximation_ratio(up_batch, 3, grid=0),
        lambda: approximation_ratio(up_batch, 3, method="random", rng=None),
        lambda: approximation_ratio(up_batch, 3, method="random", rng=7),
        lambda: approximation_ratio(up_batch, 3, samples=10),
        lambda: price_of_fairness("envy", 3, "sw"),
    ],
)
def test_validation(call):
    with pytest.raises(ValueError):
        call()


def test_registrations():
    import fairsim.axioms.facility  # noqa: F401
    from fairsim.registry import _REGISTRY

    for name in (
        "ifs",
        "ufs",
        "proportionality",
        "pf",
        "unanimity",
        "pareto",
        "strong_proportionality",
    ):
        assert _REGISTRY[f"axiom:facility.{name}"].extra["signature"] == "outcome"
    for name in ("strategyproofness", "anonymity"):
        assert _REGISTRY[f"axiom:facility.{name}"].extra["signature"] == "mechanism"
    for name in (
        "social_welfare",
        "total_cost",
        "max_cost",
        "sw_ratio",
        "tc_ratio",
        "mc_ratio",
        "distance_to_uniform_phantom",
    ):
        assert f"metric:facility.{name}" in _REGISTRY
    formulas = {
        "ufs_price_sw": lambda n: ufs_price_sw(n),
        "ifs_price_sw": lambda n: ifs_price_sw(n),
        "up_tc": lambda n: F(n - 1),
        "up_mc": lambda n: F(2),
        "rr_tc": lambda n: 2 - F(2, n),
        "fairness_price_tc": two_n,
    }
    for name, ref in formulas.items():
        f = _REGISTRY[f"formula:facility.{name}"].func
        for n in range(2, 9):
            assert f(n) == float(ref(n))
