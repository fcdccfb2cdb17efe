"""Facility kernels: the same tests for every backend, against an exact Fraction reference."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairsim.allocation.facility import (
    is_torch,
    phantom_median_kernel,
    resolve_backend,
    uniform_phantom_kernel,
)

torch = pytest.importorskip("torch")

BACKENDS = ["numpy", "numba", "torch"]


def ref_median(row, phantoms) -> Fraction:
    """Independent exact reference: sort all points as Fractions, take the middle one."""
    pts = sorted([Fraction(float(v)) for v in row] + [Fraction(p) for p in phantoms])
    return pts[(len(pts) - 1) // 2]


def ref_up(row) -> Fraction:
    n = len(row)
    return ref_median(row, [Fraction(k, n) for k in range(1, n)])


def profiles(rng, B, n):
    """Random floats, with a third of the rows snapped to grids that hit the phantoms k/n."""
    X = rng.random((B, n))
    X[::3] = np.round(X[::3] * n) / n
    X[1::3] = np.round(X[1::3] * 2 * n) / (2 * n)
    return X


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 10, 15, 31])
def test_uniform_phantom_matches_exact_reference(backend, n):
    rng = np.random.default_rng(n)
    X = profiles(rng, 300, n)
    out, bad = uniform_phantom_kernel(X, 0.0, 1.0, backend)
    assert bad == -1
    expected = np.array([float(ref_up(r)) for r in X])
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("backend", BACKENDS)
def test_uniform_phantom_near_phantom_values(backend):
    # values one ulp either side of k/n: the approximate cell index is wrong for some of them
    n = 10
    base = np.arange(n + 1) / n
    vals = np.concatenate([base, np.nextafter(base, 0), np.nextafter(base, 1)])
    vals = np.clip(vals, 0, 1)
    rng = np.random.default_rng(3)
    X = rng.choice(vals, size=(2000, n))
    out, bad = uniform_phantom_kernel(X, 0.0, 1.0, backend)
    assert bad == -1
    np.testing.assert_array_equal(out, [float(ref_up(r)) for r in X])


@pytest.mark.parametrize("backend", BACKENDS)
def test_uniform_phantom_golden(backend):
    X = np.array([[0.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.5, 0.5, 0.5], [0.0, 0.0, 0.0]])
    out, _ = uniform_phantom_kernel(X, 0.0, 1.0, backend)
    np.testing.assert_array_equal(out, [1 / 3, 2 / 3, 0.5, 0.0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_uniform_phantom_interval(backend):
    # on [a, b] the phantoms are a + (b - a) k/n
    X = np.array([[-1.0, -1.0, 2.0], [2.0, 2.0, 2.0]])
    out, _ = uniform_phantom_kernel(X, -1.0, 2.0, backend)
    np.testing.assert_allclose(out, [0.0, 2.0], atol=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf, 1.5, -0.25])
def test_first_bad_row_reported(backend, bad_value):
    X = np.random.default_rng(0).random((5000, 6))
    X[4321, 2] = bad_value
    X[4500, 0] = bad_value
    _, bad = uniform_phantom_kernel(X, 0.0, 1.0, backend)
    assert bad == 4321
    _, bad = phantom_median_kernel(X, np.array([0.5]), 0.0, 1.0, backend)
    assert bad == 4321


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n,q", [(1, 0), (2, 1), (3, 2), (4, 5), (9, 4), (20, 21)])
def test_phantom_median_shared_and_per_row(backend, n, q):
    rng = np.random.default_rng(10 * n + q)
    X = profiles(rng, 200, n)
    P = np.round(rng.random(q) * 4) / 4
    out, bad = phantom_median_kernel(X, P, 0.0, 1.0, backend)
    assert bad == -1
    np.testing.assert_array_equal(out, [float(ref_median(r, P.tolist())) for r in X])
    PB = rng.random((200, q))
    out, _ = phantom_median_kernel(X, PB, 0.0, 1.0, backend)
    np.testing.assert_array_equal(out, [float(ref_median(r, p.tolist())) for r, p in zip(X, PB)])


def test_torch_tensor_in_tensor_out():
    T = torch.tensor([[0.0, 0.0, 1.0], [0.2, 0.9, 0.4]], dtype=torch.float64)
    for be in ["torch", "numba", "numpy", "auto"]:
        out, _ = uniform_phantom_kernel(T, 0.0, 1.0, be)
        assert is_torch(out) and out.device == T.device
        assert out.tolist() == [1 / 3, 0.4]
    out, _ = uniform_phantom_kernel(T.numpy(), 0.0, 1.0, "torch")
    assert isinstance(out, np.ndarray)


def test_resolve_backend():
    assert resolve_backend("auto", np.zeros((2, 2))) == "numpy"  # small batch
    assert resolve_backend("auto", np.zeros((64, 2))) == "numba"
    assert resolve_backend("auto", torch.zeros((64, 2))) == "numba"
    assert resolve_backend("numpy", torch.zeros((2, 2))) == "numpy"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=12).map(tuple),
        min_size=1,
        max_size=8,
    ).filter(lambda rows: len({len(r) for r in rows}) == 1)
)
def test_backends_agree_and_up_in_hull(rows):
    X = np.array(rows, dtype=np.float64)
    outs = [uniform_phantom_kernel(X, 0.0, 1.0, be)[0] for be in BACKENDS]
    for o in outs[1:]:
        np.testing.assert_array_equal(o, outs[0])
    assert np.all(outs[0] >= X.min(axis=1)) and np.all(outs[0] <= X.max(axis=1))


@pytest.mark.parametrize("n", [1, 2, 10, 15, 20])
def test_bucket_walk_kernel_near_phantoms(n):
    """The O(n) bucket walk (used for n > NETWORK_MAX_N) on values within an ulp of k/n."""
    from fairsim.allocation._facility_numba import n_chunks, uniform_phantom_numba

    base = np.arange(n + 1) / n
    vals = np.clip(np.concatenate([base, np.nextafter(base, 0), np.nextafter(base, 1)]), 0, 1)
    rng = np.random.default_rng(n)
    X = np.concatenate([rng.choice(vals, size=(1500, n)), rng.random((500, n))])
    out = np.empty(X.shape[0])
    bad = np.full(n_chunks(X.shape[0]), X.shape[0], dtype=np.int64)
    uniform_phantom_numba(X, 0.0, 1.0, out, bad)
    assert bad.min() == X.shape[0]
    np.testing.assert_array_equal(out, [float(ref_up(r)) for r in X])


def test_generated_networks_up_to_date_and_sorting():
    from pathlib import Path

    import fairsim.allocation._gen_sorting_networks as gen

    path = Path(gen.__file__).with_name("_facility_networks.py")
    assert path.read_text() == gen.module_source()
    for n in range(2, gen.MAX_N + 1):  # 0-1 principle: sorts every 0/1 vector => sorts all
        pairs = gen.batcher_pairs(n)
        V = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
        for a, b in pairs:
            lo, hi = np.minimum(V[:, a], V[:, b]), np.maximum(V[:, a], V[:, b])
            V[:, a], V[:, b] = lo, hi
        assert (np.diff(V, axis=1) >= 0).all()
