"""Axioms and metrics of divisible budget aggregation (fairsim.axioms.budget_aggregation).

Golden values are hand-worked (exact fractions) or come from an LP written independently in this
file (dense matrices, scipy HiGHS)."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from fairsim import registry
from fairsim.axioms import budget_aggregation as ax
from fairsim.errors import InputError
from fairsim.mechanisms._aggregation_baselines import mean, normalized_median, utilitarian_l1
from fairsim.mechanisms.budget_aggregation import independent_markets, welfare_maximizing


def _profiles(max_n: int = 5, max_m: int = 4) -> st.SearchStrategy[np.ndarray]:
    """Small profiles on a 1/6 grid of the simplex (ties and vertices are common)."""

    @st.composite
    def build(draw: st.DrawFn) -> np.ndarray:
        n = draw(st.integers(1, max_n))
        m = draw(st.integers(2, max_m))
        rows = []
        for _ in range(n):
            w = draw(st.lists(st.integers(0, 6), min_size=m, max_size=m).filter(lambda v: sum(v)))
            rows.append(np.array(w, dtype=float) / sum(w))
        return np.array(rows)

    return build()


def _dense_pareto_gain(P: np.ndarray, a: np.ndarray) -> float:
    """Independent LP: max total l1 improvement over a with nobody worse off (dense form)."""
    n, m = P.shape
    D = np.abs(P - a).sum(axis=1)
    nv = m + n * m  # b_0..b_{m-1}, then e_ij at m + i*m + j
    A, b = [], []
    for i in range(n):
        for j in range(m):
            for sgn in (1.0, -1.0):
                row = np.zeros(nv)
                row[j] = sgn
                row[m + i * m + j] = -1.0
                A.append(row)
                b.append(sgn * P[i, j])
        row = np.zeros(nv)
        row[m + i * m : m + (i + 1) * m] = 1.0
        A.append(row)
        b.append(D[i] + 1e-12)
    c = np.r_[np.zeros(m), np.ones(n * m)]
    eq = np.r_[np.ones(m), np.zeros(n * m)][None, :]
    res = linprog(c, A_ub=np.array(A), b_ub=b, A_eq=eq, b_eq=[1.0], method="highs")
    assert res.status == 0
    return float(D.sum() - res.fun)


# ----------------------------------------------------------------------------- proportionality


def test_proportionality_hand_worked() -> None:
    P = np.array([[1.0, 0, 0], [1.0, 0, 0], [0, 1.0, 0]])
    ok = ax.proportionality(P, [2 / 3, 1 / 3, 0])
    assert ok.holds and ok.witness is None
    bad = ax.proportionality(P, [1.0, 0.0, 0.0])  # the median outcome
    assert not bad.holds
    assert bad.witness == {"project": 0, "fraction": pytest.approx(2 / 3), "got": 1.0}
    assert bad.slack == pytest.approx(1e-7 - 1 / 3)
    vac = ax.proportionality([[0.5, 0.5, 0.0], [1.0, 0, 0]], [1.0, 0, 0])
    assert vac.holds and vac.slack == float("inf")


def test_independent_markets_exact_fractions_are_proportional() -> None:
    P = [[Fraction(1), Fraction(0), Fraction(0)]] * 3 + [[Fraction(0), Fraction(0), Fraction(1)]]
    a = independent_markets(P)
    assert list(a) == [Fraction(3, 4), Fraction(0), Fraction(1, 4)]
    assert ax.proportionality(np.array(P, dtype=float), a.astype(float)).holds


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 7), st.integers(2, 5), st.integers(0, 2**32 - 1))
def test_independent_markets_proportional_on_single_minded(n: int, m: int, seed: int) -> None:
    P = np.eye(m)[np.random.default_rng(seed).integers(0, m, n)]
    assert ax.proportionality(P, independent_markets(P)).holds
    assert ax.proportionality(P, mean(P)).holds  # the mean of vertices is the fractions


def test_welfare_maximizing_not_proportional_witness() -> None:
    P = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    v = ax.proportionality(P, welfare_maximizing(P))
    assert not v.holds and v.witness is not None and v.witness["fraction"] == pytest.approx(2 / 3)


# ----------------------------------------------------------------------------- Pareto


def test_pareto_hand_worked() -> None:
    P = np.array([[1.0, 0.0], [1.0, 0.0]])
    v = ax.pareto(P, [0.5, 0.5])
    assert not v.holds
    assert v.witness is not None
    assert v.witness["dominating"] == pytest.approx([1.0, 0.0])
    assert v.witness["total_gain"] == pytest.approx(2.0)  # each voter's distance 1 -> 0
    assert ax.pareto(P, [1.0, 0.0]).holds
    # m = 2, one voter at each vertex: every split costs 2 in total and is Pareto optimal
    assert ax.pareto([[1.0, 0.0], [0.0, 1.0]], [0.3, 0.7]).holds


@settings(max_examples=30, deadline=None)
@given(_profiles(), st.integers(0, 2**32 - 1))
def test_pareto_matches_independent_lp(P: np.ndarray, seed: int) -> None:
    a = np.random.default_rng(seed).dirichlet(np.ones(P.shape[1]))
    for out in (a, mean(P), independent_markets(P)):
        gain = _dense_pareto_gain(P, out)
        v = ax.pareto(P, out)
        assert v.holds == (gain <= 1e-7)
        if not v.holds:
            assert v.witness is not None
            b = np.array(v.witness["dominating"])
            Db, Da = np.abs(P - b).sum(axis=1), np.abs(P - out).sum(axis=1)
            assert np.all(Db <= Da + 1e-9) and Da.sum() - Db.sum() == pytest.approx(gain, abs=1e-7)


@settings(max_examples=30, deadline=None)
@given(_profiles())
def test_welfare_maximizing_and_lp_are_pareto_and_utilitarian(P: np.ndarray) -> None:
    wm, lp = welfare_maximizing(P), utilitarian_l1(P)
    assert ax.pareto(P, wm).holds and ax.pareto(P, lp).holds
    assert ax.mean_distance(P, wm) == pytest.approx(ax.mean_distance(P, lp), abs=1e-8)
    assert ax.mean_distance(P, lp) <= ax.mean_distance(P, mean(P)) + 1e-9


# ----------------------------------------------------------------------------- range respect


def test_normalized_median_breaks_range_hand_worked() -> None:
    P = np.array([[0.4, 0.6, 0, 0], [0.4, 0, 0.6, 0], [0.4, 0, 0, 0.6]])
    a = normalized_median(P)  # medians (0.4, 0, 0, 0) rescaled to (1, 0, 0, 0)
    assert a == pytest.approx([1.0, 0, 0, 0])
    v = ax.range_respect(P, a)
    assert not v.holds
    assert v.witness == {"project": 0, "low": 0.4, "high": 0.4, "got": pytest.approx(1.0)}
    assert registry.get("budget_aggregation.normalized_median", "mechanism").violates


@settings(max_examples=40, deadline=None)
@given(_profiles())
def test_mean_respects_range(P: np.ndarray) -> None:
    assert ax.range_respect(P, mean(P)).holds


# ----------------------------------------------------------------------------- strategyproofness


def test_mean_manipulation_witness_hand_worked() -> None:
    # truthful mean (0.3, 0.7); voter 0 (truth (0.6, 0.4)) reports (1, 0): mean (0.5, 0.5),
    # distance 0.6 -> 0.2, the best possible (it would need r_0 = 1.2): gain exactly 0.4.
    P = np.array([[0.6, 0.4], [0.0, 1.0]])
    v = ax.strategyproofness(mean, P)
    assert not v.holds and v.witness is not None
    w = v.witness
    assert w["voter"] == 0 and w["misreport"] == pytest.approx([1.0, 0.0])
    assert w["gain"] == pytest.approx(0.4)
    assert w["outcome_misreport"] == pytest.approx([0.5, 0.5])
    assert v.slack == pytest.approx(1e-7 - 0.4)
    json.dumps(w)  # JSON-able witness


@settings(max_examples=12, deadline=None)
@given(_profiles(max_n=4, max_m=3), st.integers(0, 1000))
def test_moving_phantoms_pass_deviation_search(P: np.ndarray, seed: int) -> None:
    for f in (independent_markets, welfare_maximizing):
        assert ax.strategyproofness(f, P, random=3, passes=1, seed=seed).holds


def test_deviation_search_catches_median_and_mean_on_random_profiles() -> None:
    rng = np.random.default_rng(7)
    found = {"mean": 0, "normalized_median": 0}
    for _ in range(6):
        P = rng.dirichlet(np.ones(3), size=4)
        for f in (mean, normalized_median):
            v = ax.strategyproofness(f, P, random=3, passes=2)
            if not v.holds:
                found[f.__name__] += 1
                w = v.witness
                assert w is not None
                truth = np.array(w["truth"])
                d_true = np.abs(np.array(w["outcome"]) - truth).sum()
                R = P.copy()
                R[w["voter"]] = w["misreport"]
                d_mis = np.abs(f(R) - truth).sum()  # recomputed from the witness
                assert d_true - d_mis == pytest.approx(w["gain"]) and w["gain"] > 1e-7
    assert found["mean"] >= 4 and found["normalized_median"] >= 2


# ----------------------------------------------------------------------------- metrics, errors


def test_metrics_hand_worked() -> None:
    P = np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])
    a = np.array([0.5, 0.25, 0.25])
    assert ax.mean_distance(P, a) == pytest.approx((1.0 + 1.0) / 2)
    assert ax.max_distance(P, a) == pytest.approx(1.0)
    assert ax.distance_to_mean(P, a) == pytest.approx(0.0)
    assert ax.distance_to_mean(P, [1.0, 0, 0]) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: ax.pareto([[0.5, 0.6]], [0.5, 0.5]), "sums to"),
        (lambda: ax.proportionality([[1.0, 0.0]], [1.0, 0.0, 0.0]), "length m=2"),
        (lambda: ax.range_respect([[1.0, 0.0]], [1.0, 0.0], tol=2.0), "tol"),
        (lambda: ax.strategyproofness(mean, [[1.0, 0.0]], random=-1), "random"),
        (lambda: ax.mean_distance([[np.nan, 1.0]], [1.0, 0.0]), "not finite"),
    ],
)
def test_input_errors(call: object, match: str) -> None:
    with pytest.raises(InputError, match=match):
        call()  # type: ignore[operator]


# ----------------------------------------------------------------------------- registry claims

_AXIOMS = {"proportionality", "pareto", "strategyproofness", "range_respect"}


def _check(name: str, f: object, P: np.ndarray, seed: int) -> object:
    entry = registry.get(name, "axiom", domain="budget_aggregation")
    if entry.extra.get("signature") == "mechanism":
        return entry.func(f, P, random=3, passes=2, seed=seed)
    return entry.func(P, f(P))  # type: ignore[operator]


@pytest.mark.parametrize(
    "name", ["independent_markets", "welfare_maximizing", "utilitarian_l1", "mean"]
)
def test_registered_claims_hold_on_random_profiles(name: str) -> None:
    entry = registry.get(name, "mechanism", domain="budget_aggregation")
    claimed = sorted(set(entry.claims) & _AXIOMS)
    rng = np.random.default_rng(11)
    for t in range(4):
        n, m = int(rng.integers(1, 5)), int(rng.integers(2, 4))
        P = rng.dirichlet(np.ones(m) * 0.7, size=n) if t % 2 else np.eye(m)[rng.integers(0, m, n)]
        for ax_name in claimed:
            assert _check(ax_name, entry.func, P, t).holds, (name, ax_name, P)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ["mean", "normalized_median"])
def test_registered_violations_are_caught(name: str) -> None:
    entry = registry.get(name, "mechanism", domain="budget_aggregation")
    rng = np.random.default_rng(3)
    for ax_name in entry.violates:
        for t in range(40):
            m = 4 if ax_name == "range_respect" else 3
            P = rng.dirichlet(np.ones(m) * 0.5, size=3)
            v = _check(ax_name, entry.func, P, t)
            if not v.holds:  # type: ignore[attr-defined]
                assert v.witness  # type: ignore[attr-defined]
                break
        else:
            pytest.fail(f"{name}: no {ax_name} violation found")
