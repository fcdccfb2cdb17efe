"""Facility mechanisms: exact golden values, closed forms, identities, lotteries, errors, registry."""

from __future__ import annotations

import random
from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fairsim.mechanisms.facility as fac
from fairsim import registry
from fairsim.errors import InputError


def pm(points, phantoms):
    """Independent exact phantom median (sorted Fractions, middle element)."""
    s = sorted(list(points) + list(phantoms))
    assert len(s) % 2 == 1
    return s[len(s) // 2]


def rational_profiles(seed, count=150, nmax=7):
    rnd = random.Random(seed)
    out = []
    for _ in range(count):
        n = rnd.randint(1, nmax)
        den = rnd.choice([n, 2 * n, 3, 7, 12, 60])
        out.append([F(rnd.randint(0, den), den) for _ in range(n)])
    return out


# ------------------------------------------------------------------ Uniform Phantom


def test_up_golden_exact():
    assert fac.uniform_phantom([F(0), F(0), F(1)]) == F(1, 3)
    assert fac.uniform_phantom([F(1), F(1), F(0)]) == F(2, 3)
    assert fac.uniform_phantom([F(1, 2)]) == F(1, 2)
    assert isinstance(fac.uniform_phantom([F(0), F(1)]), F)
    assert fac.uniform_phantom([0.0, 0.0, 1.0]) == 1 / 3


def test_up_closed_forms_equal_definition():
    for x in rational_profiles(1):
        n = len(x)
        S = sorted(x)
        up_def = pm(x, [F(k, n) for k in range(1, n)])
        up_alt = pm(x, [F(k, n) for k in range(0, n + 1)])  # n + 1 phantom form
        closed_max = max(min(S[k - 1], F(n - k + 1, n)) for k in range(1, n + 1))
        closed_min = min(max(S[k - 1], F(n - k, n)) for k in range(1, n + 1))
        assert up_def == up_alt == closed_max == closed_min
        assert fac.uniform_phantom(x) == up_def


@pytest.mark.parametrize("backend", ["auto", "numpy", "numba", "torch"])
def test_up_float_equals_exact(backend):
    xs = rational_profiles(2, count=60, nmax=9)
    for x in xs:
        exact = pm(x, [F(k, len(x)) for k in range(1, len(x))])
        xf = np.array([float(v) for v in x])
        assert fac.uniform_phantom(xf, backend=backend) == float(exact)


def test_up_batch_shape_and_exact_batch():
    X = np.array([[0.0, 0.0, 1.0], [0.5, 0.5, 0.5]])
    out = fac.uniform_phantom(X)
    assert out.shape == (2,) and out.tolist() == [1 / 3, 0.5]
    ex = fac.uniform_phantom([[F(0), F(0), F(1)], [F(1), F(1), F(1)]])
    assert ex.dtype == object and list(ex) == [F(1, 3), F(1)]


def test_up_interval_rescaling():
    # [a, b] = [10, 40]: phantoms 10 + 30 k/n
    assert fac.uniform_phantom([10.0, 10.0, 40.0], interval=(10, 40)) == pytest.approx(20.0)
    assert fac.uniform_phantom([F(10), F(10), F(40)], interval=(10, 40)) == F(20)
    rng = np.random.default_rng(0)
    X = rng.random((50, 5))
    a, b = -2.0, 6.0
    got = fac.uniform_phantom(a + (b - a) * X, interval=(a, b))
    np.testing.assert_allclose(got, a + (b - a) * fac.uniform_phantom(X), atol=1e-12)


def test_up_torch_input():
    torch = pytest.importorskip("torch")
    t = torch.tensor([[0.0, 0.0, 1.0]], dtype=torch.float64)
    out = fac.uniform_phantom(t)
    assert isinstance(out, torch.Tensor) and out.tolist() == [1 / 3]
    with pytest.raises(ValueError, match=r"x\[0, 1\]=nan"):
        fac.uniform_phantom(torch.tensor([[0.0, float("nan")]]), backend="torch")


# ------------------------------------------------------------------ phantom medians


def test_phantom_median_exact_and_float():
    for x in rational_profiles(3, count=80):
        rnd = random.Random(len(x))
        q = rnd.choice([q for q in range(0, 6) if (len(x) + q) % 2 == 1])
        ps = [F(rnd.randint(0, 8), 8) for _ in range(q)]
        assert fac.phantom_median(x, ps) == pm(x, ps)
        xf = [float(v) for v in x]
        assert fac.phantom_median(xf, [float(p) for p in ps]) == float(pm(x, ps))


def test_phantom_median_per_row_phantoms():
    X = np.array([[0.1, 0.2], [0.7, 0.9]])
    P = np.array([[1.0], [0.0]])
    np.testing.assert_array_equal(fac.phantom_median(X, P), [0.2, 0.7])


def test_constrained_median_is_phantom_median():
    for x in rational_profiles(4, count=200, nmax=8):
        n = len(x)
        c = (n + 1) // 2
        ps = [F(1, n)] * (n + 1 - c) + [F(n - 1, n)] * c
        S = sorted(x)
        closed = S[0] if n == 1 else min(max(S[c - 1], F(1, n)), F(n - 1, n))
        assert pm(x, ps) == closed
        assert fac.constrained_median(x) == closed
        assert fac.constrained_median([float(v) for v in x]) == pytest.approx(float(closed))
        np.testing.assert_allclose(
            sorted(fac.constrained_median_phantoms(n)), [float(p) for p in sorted(ps)]
        )


def test_best_ifs_phantom():
    for x in rational_profiles(5, count=150, nmax=7):
        n = len(x)
        ps = [F(0)] + [F(1, n)] * ((n + 1) // 2 - 1) + [F(n - 1, n)] * (n // 2) + [F(1)]
        assert fac.best_ifs_phantom(x) == pm(x, ps)
        assert fac.best_ifs_phantom([float(v) for v in x]) == pytest.approx(float(pm(x, ps)))
        if n <= 3:  # equals UP for n <= 3 (spec §4.3 notes)
            assert fac.best_ifs_phantom(x) == fac.uniform_phantom(x)
    # n - 1 agents at 0 and one at 1 force y >= 1/n (IFS), and best_ifs gives exactly 1/n
    assert fac.best_ifs_phantom([F(0)] * 4 + [F(1)]) == F(1, 5)


# ------------------------------------------------------------------ simple mechanisms


def test_order_statistics_and_means_exact():
    x = [F(3, 4), F(0), F(1, 2), F(1, 4)]
    assert fac.median(x) == F(1, 4)  # left median x_(2)
    assert fac.median(x, side="right") == F(1, 2)
    assert fac.leftmost(x) == F(0) and fac.rightmost(x) == F(3, 4)
    assert fac.order_statistic(x, 3) == F(1, 2)
    assert fac.average(x) == F(3, 8)
    assert fac.midpoint(x) == F(3, 8)
    assert fac.constant(x, F(1, 3)) == F(1, 3)
    assert fac.dictatorship(x, 0) == F(3, 4)
    assert fac.avg_up_mix([F(0), F(0), F(1)]) == (F(1, 3) + F(1, 3)) / 2


def test_float_batch_versions():
    rng = np.random.default_rng(7)
    X = rng.random((40, 6))
    S = np.sort(X, axis=1)
    np.testing.assert_array_equal(fac.median(X), S[:, 2])
    np.testing.assert_array_equal(fac.median(X, side="right"), S[:, 3])
    np.testing.assert_array_equal(fac.order_statistic(X, 5), S[:, 4])
    np.testing.assert_allclose(fac.average(X), X.mean(axis=1))
    np.testing.assert_array_equal(fac.midpoint(X), (S[:, 0] + S[:, -1]) / 2)
    np.testing.assert_array_equal(fac.dictatorship(X, 2), X[:, 2])
    np.testing.assert_array_equal(fac.constant(X, 0.25), np.full(40, 0.25))
    np.testing.assert_allclose(fac.avg_up_mix(X), (X.mean(1) + fac.uniform_phantom(X)) / 2)


def test_proportionality_of_average_and_up_on_endpoint_profiles():
    for n in range(1, 8):
        for k in range(n + 1):
            x = [0.0] * (n - k) + [1.0] * k
            assert fac.average(x) == k / n
            assert fac.uniform_phantom(x) == k / n


# ------------------------------------------------------------------ randomized and lotteries


def test_random_mechanisms_reproducible_and_valid():
    X = np.random.default_rng(1).random((500, 5))
    for f in (fac.random_rank, fac.random_dictatorship, fac.lrm):
        a = f(X, np.random.default_rng(42))
        b = f(X, np.random.default_rng(42))
        np.testing.assert_array_equal(a, b)
        assert a.shape == (500,)
        if f is fac.lrm:
            mid = (X.min(1) + X.max(1)) / 2
            ok = (a == X.min(1)) | (a == X.max(1)) | (a == mid)
        else:
            ok = (X == a[:, None]).any(axis=1)
        assert ok.all()
    # one draw for the batch: row b uses the b-th integer of a single size-B draw
    k = np.random.default_rng(42).integers(0, 5, size=500)
    np.testing.assert_array_equal(
        fac.random_rank(X, np.random.default_rng(42)), np.sort(X, 1)[np.arange(500), k]
    )


def test_random_rank_frequencies_match_lottery():
    x = [0.0, 0.0, 1.0]
    draws = fac.random_rank(np.tile(x, (30000, 1)), np.random.default_rng(0))
    assert abs((draws == 0.0).mean() - 2 / 3) < 0.02


def test_lotteries_exact():
    x = [F(0), F(1, 2), F(0), F(1)]
    rr = fac.lottery("random_rank", x)
    assert rr == [(F(0), F(1, 2)), (F(1, 2), F(1, 4)), (F(1), F(1, 4))]
    assert fac.lottery("random_dictatorship", x) == rr
    assert fac.lottery("facility.lrm", x) == [(F(0), F(1, 4)), (F(1, 2), F(1, 2)), (F(1), F(1, 4))]
    assert fac.lottery("lrm", [F(1, 3)] * 3) == [(F(1, 3), F(1))]
    assert fac.lottery("uniform_phantom", [F(0), F(0), F(1)]) == [(F(1, 3), F(1))]
    assert fac.lottery("order_statistic", [0.2, 0.7], k=2) == [(0.7, 1.0)]
    lot = fac.lottery("random_rank", [0.1, 0.9, 0.1, 0.1, 0.5])
    assert [p for _, p in lot] == [3 / 5, 1 / 5, 1 / 5]
    assert sum(p for _, p in fac.lottery("lrm", [0.0, 0.3])) == 1.0
    with pytest.raises(NotImplementedError):
        fac.lottery("average_or_random_rank", [0.1, 0.2])
    with pytest.raises(ValueError, match="unknown facility mechanism"):
        fac.lottery("nope", [0.1])


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: fac.uniform_phantom([0.1, float("nan")]), r"x\[1\]=nan is not finite"),
        (lambda: fac.uniform_phantom([0.1, 1.2]), r"x\[1\]=1.2 outside interval \[0, 1\]"),
        (lambda: fac.uniform_phantom([[0.1, 0.2], [0.3, -1.0]]), r"x\[1, 1\]=-1.0 outside"),
        (lambda: fac.uniform_phantom([]), "empty"),
        (lambda: fac.uniform_phantom(np.zeros((2, 2, 2))), "1-D"),
        (lambda: fac.uniform_phantom(0.3), "scalar"),
        (lambda: fac.uniform_phantom([0.2], backend="gpu"), "backend"),
        (lambda: fac.average([0.5, np.inf]), "not finite"),
        (lambda: fac.median([0.5], side="middle"), "side"),
        (lambda: fac.order_statistic([0.5, 0.2], 3), r"k=3 outside allowed range \[1, 2\]"),
        (lambda: fac.order_statistic([0.5, 0.2], 0), "k=0"),
        (lambda: fac.dictatorship([0.5, 0.2], 2), r"i=2 outside allowed range \[0, 1\]"),
        (lambda: fac.dictatorship([0.5, 0.2], 1.0), "i must be an integer"),
        (lambda: fac.constant([0.5], 1.5), r"c=1.5 outside"),
        (lambda: fac.constant([0.5], float("nan")), "not finite"),
        (
            lambda: fac.phantom_median([0.1, 0.2, 0.3], [0.2]),
            r"phantom_median needs an odd number of points; got n=3 agents \+ 1 phantoms",
        ),
        (lambda: fac.phantom_median([0.1, 0.2], [1.5]), r"phantoms\[0\]=1.5 outside"),
        (lambda: fac.phantom_median([[0.1, 0.2]] * 3, np.zeros((2, 1))), "do not match"),
        (lambda: fac.uniform_phantom([0.5], interval=(1, 0)), "a < b"),
        (lambda: fac.uniform_phantom([5.0], interval=(0, 2)), r"outside interval \[0, 2\]"),
        (lambda: fac.random_rank([0.5], 3), "Generator"),
        (lambda: fac.random_rank([0.5], None), "Generator"),
        (lambda: fac.uniform_phantom([F(1), 0.5]), "exact mode"),
        (lambda: fac.uniform_phantom([F(3, 2)]), "outside interval"),
    ],
)
def test_errors(call, match):
    with pytest.raises(ValueError, match=match) as info:
        call()
    assert isinstance(info.value, InputError)


# ------------------------------------------------------------------ registry


def test_registry_entries():
    names = {e.name for e in registry.entries("mechanism", domain="facility")}
    expected = {
        "uniform_phantom", "phantom_median", "median", "average", "midpoint", "leftmost",
        "rightmost", "order_statistic", "constant", "dictatorship", "constrained_median",
        "best_ifs_phantom", "random_rank", "random_dictatorship", "lrm", "avg_up_mix",
    }  # fmt: skip
    assert {f"facility.{n}" for n in expected} <= names
    up = registry.get("uniform_phantom", "mechanism", domain="facility")
    assert "ufs" in up.claims and "strategyproofness" in up.claims and not up.randomized
    assert up.extra["monotone"] and up.extra["anonymous"]
    np.testing.assert_array_equal(up.extra["phantoms"](4), [0, 0.25, 0.5, 0.75, 1])
    assert registry.get("facility.average", "mechanism").violates == ("strategyproofness",)
    rr = registry.get("facility.random_rank", "mechanism")
    assert rr.randomized and "strong_proportionality" in rr.claims
    assert registry.get("facility.dictatorship", "mechanism").extra["anonymous"] is False
    assert "k" in registry.get("facility.order_statistic", "mechanism").params
    X = np.random.default_rng(0).random((10, 4))
    # only the shipped mechanisms: other tests may register throw-away ones
    for e in registry.entries("mechanism", domain="facility"):
        if e.short_name not in expected:
            continue
        kw = {"order_statistic": {"k": 2}, "constant": {"c": 0.5}, "dictatorship": {"i": 1}}
        kw["phantom_median"] = {"phantoms": [0.5]}
        args = (X, np.random.default_rng(0)) if e.randomized else (X,)
        assert np.asarray(e.func(*args, **kw.get(e.short_name, {}))).shape == (10,)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.fractions(0, 1, max_denominator=20), min_size=1, max_size=9))
def test_up_properties_exact(x):
    y = fac.uniform_phantom(x)
    n = len(x)
    assert min(x) <= y <= max(x)
    assert y == pm(x, [F(k, n) for k in range(n + 1)])
    assert fac.uniform_phantom([float(v) for v in x]) == float(y)


@pytest.mark.parametrize("name", ["random_rank", "random_dictatorship", "lrm"])
def test_registered_support_gives_the_lottery_expectations(name):
    """The vectorised support used for expected costs agrees with the exact merged lottery."""
    from fractions import Fraction

    from fairsim import registry

    support = registry.get(name, "mechanism", domain="facility").extra["support"]
    rng = np.random.default_rng(5)
    X = np.round(rng.random((40, 5)) * 8) / 8  # ties, exact in binary
    locs, probs = support(X)
    for row, ls, ps in zip(X, locs, probs):
        exact = fac.lottery(name, [Fraction(v) for v in row])
        for t in (0.0, 0.3, 0.5, 1.0):
            want = sum(p * abs(loc - Fraction(t)) for loc, p in exact)
            got = float(np.sum(ps * np.abs(ls - t)))
            assert abs(got - float(want)) <= 1e-12
        assert abs(ps.sum() - 1.0) <= 1e-12
