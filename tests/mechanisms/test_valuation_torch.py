"""Torch batched-GEMM exact Shapley (spec ``valuation.md`` §4) against numba, closed forms and
Fraction brute force, on CPU float64. The CUDA tests skip without a CUDA device."""

from __future__ import annotations

import math
import sys
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairsim.errors import InputError
from fairsim.mechanisms import valuation as V
from fairsim.mechanisms.games import (
    AirportGame,
    GloveGame,
    SumOfUnanimityGames,
    TableGame,
    UnanimityGame,
    WeightedVotingGame,
    rows_of,
)
from fairsim.mechanisms.valuation import shapley, shapley_tables
from tests.mechanisms.test_games import brute_shapley

torch = pytest.importorskip("torch")
CUDA = torch.cuda.is_available()


class HostGame:
    """A game with neither ``table`` nor ``torch_value``: ``v(S) = (sum_{i in S} a_i)^2``."""

    def __init__(self, a):
        self.a = np.asarray(a, dtype=np.float64)
        self.n_players = self.a.size

    def value(self, c):
        c = np.atleast_2d(np.asarray(c, dtype=bool))
        return (c @ self.a) ** 2


class TorchGame(HostGame):
    """Same game with an on-device ``torch_value`` returning float32 (as a GPU game may)."""

    def torch_value(self, rows):
        a = torch.as_tensor(self.a, dtype=torch.float32, device=rows.device)
        return (rows.to(torch.float32) @ a) ** 2


def _voting(n, seed=0):
    w = np.random.default_rng(seed).integers(1, 20, size=n)
    return WeightedVotingGame(w, int(w.sum()) // 2 + 1)


def _exact_square_game(a):
    """Shapley of ``v(S) = (sum a_S)^2`` in closed form: ``phi_i = a_i^2 + a_i (A - a_i)``.

    ``v = sum_i a_i^2 [i in S] + sum_{i != j} a_i a_j [i, j in S]``; each pair dividend splits
    evenly, so ``phi_i = a_i^2 + a_i sum_{j != i} a_j``.
    """
    A = sum(a)
    return [x * x + x * (A - x) for x in a]


@pytest.mark.parametrize(
    "game",
    [
        _voting(9),
        GloveGame(3, 5),
        AirportGame([1.0, 2.5, 2.5, 4.0, 7.0]),
        SumOfUnanimityGames(6, [[0], [1, 2], [0, 2, 4], [5]], [1.0, -2.0, 3.0, 0.5]),
        TableGame(np.random.default_rng(1).normal(size=1 << 7)),
    ],
)
def test_torch_cpu_equals_numba(game):
    a = shapley(game, backend="numba")
    b = shapley(game, backend="torch", device="cpu")
    np.testing.assert_allclose(b.values, a.values, rtol=0, atol=1e-10)
    assert b.evaluations == 1 << game.n_players
    assert b.info == {"method": "exact", "backend": "torch", "device": "cpu"}


def test_torch_matches_closed_forms():
    # Unanimity game on carrier T: 1/|T| to each carrier player, 0 elsewhere.
    r = shapley(UnanimityGame(7, [1, 4, 6]), backend="torch", device="cpu").values
    np.testing.assert_allclose(r, [0, 1 / 3, 0, 0, 1 / 3, 0, 1 / 3], atol=1e-12)
    # Airport (Littlechild & Owen 1973): phi_i = sum_{j <= i} (c_j - c_{j-1}) / (n - j), sorted.
    c = [Fraction(1), Fraction(5, 2), Fraction(3), Fraction(4), Fraction(7)]
    ref, prev = [], Fraction(0)
    acc = Fraction(0)
    for j, cj in enumerate(c):
        acc += (cj - prev) / (len(c) - j)
        prev = cj
        ref.append(acc)
    r = shapley(AirportGame([float(x) for x in c]), backend="torch", device="cpu").values
    np.testing.assert_allclose(r, [float(x) for x in ref], atol=1e-12)
    # Square game without table (host chunks) and with a float32 torch_value.
    a = [1.0, 2.0, 0.5, 3.0, 1.5, 0.25]
    ref_sq = _exact_square_game([Fraction(x) for x in a])
    for g in (HostGame(a), TorchGame(a)):
        r = shapley(g, backend="torch", device="cpu").values
        np.testing.assert_allclose(r, [float(x) for x in ref_sq], atol=1e-10)


def test_chunking_high_bits_against_fraction_brute_force(monkeypatch):
    """Chunks of 2^3 masks at n = 6, so the high-bit path carries most of the sum."""
    from fairsim.allocation import _shapley_torch as T

    monkeypatch.setattr(T, "CPU_CHUNK_BITS", 3)
    tbl = np.random.default_rng(5).integers(-9, 10, size=1 << 6).astype(float)
    ref = brute_shapley(lambda m: int(tbl[m]), 6)
    for g in (TableGame(tbl), HostGame([1, 2, 3, 4, 5, 6.0])):
        got = shapley(g, backend="torch", device="cpu").values
        exp = ref if isinstance(g, TableGame) else _exact_square_game([1, 2, 3, 4, 5, 6])
        np.testing.assert_allclose(got, [float(x) for x in exp], atol=1e-10)
    # Slabs of 2 chunks for G = 3 tables (MAX_GEMM_ELEMENTS // (3 * 8) = 2).
    monkeypatch.setattr(T, "MAX_GEMM_ELEMENTS", 48)
    tables = np.stack([tbl, -2 * tbl, tbl[::-1].copy()])
    got3 = shapley_tables(tables, backend="torch", device="cpu")
    refs = [ref, [-2 * x for x in ref], brute_shapley(lambda m: int(tbl[63 - m]), 6)]
    np.testing.assert_allclose(got3, [[float(x) for x in r] for r in refs], atol=1e-10)


def test_n17_crosses_default_cpu_chunk():
    g = _voting(17, seed=3)
    np.testing.assert_allclose(
        shapley(g, backend="torch", device="cpu").values,
        shapley(g, backend="numba").values,
        atol=1e-10,
    )


def test_shapley_tables_batch_equals_per_game():
    rng = np.random.default_rng(2)
    T = rng.normal(size=(5, 1 << 8))
    got = shapley_tables(T, backend="torch", device="cpu")
    assert got.shape == (5, 8)
    numba = shapley_tables(T, backend="numba")
    for g in range(5):
        ref = shapley(TableGame(T[g]), backend="numba").values
        np.testing.assert_allclose(got[g], ref, atol=1e-10)
        np.testing.assert_allclose(numba[g], ref, atol=1e-12)
    # Efficiency per game, and one 1-D table gives (n,).
    np.testing.assert_allclose(got.sum(axis=1), T[:, -1] - T[:, 0], atol=1e-10)
    assert shapley_tables(T[0], backend="torch", device="cpu").shape == (8,)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 5),
    data=st.data(),
)
def test_property_torch_equals_brute_force(n, data):
    vals = data.draw(st.lists(st.integers(-20, 20), min_size=1 << n, max_size=1 << n))
    ref = brute_shapley(lambda m: vals[m], n)
    got = shapley(TableGame(np.array(vals, float)), backend="torch", device="cpu").values
    np.testing.assert_allclose(got, [float(x) for x in ref], atol=1e-10)
    assert math.isclose(float(got.sum()), vals[-1] - vals[0], abs_tol=1e-10)


def test_auto_uses_numba_without_cuda_and_torch_for_torch_games(monkeypatch):
    g = TorchGame([1.0, 2.0, 3.0])
    monkeypatch.setattr(V, "_cuda_present", lambda: False)
    assert shapley(g).info == {"method": "exact"}
    monkeypatch.setattr(V, "_cuda_present", lambda: True)
    r = shapley(g, device="cpu")
    assert r.info is not None and r.info["backend"] == "torch"
    np.testing.assert_allclose(r.values, _exact_square_game([1.0, 2.0, 3.0]), atol=1e-10)
    # A game without torch_value stays on numba even with CUDA.
    assert shapley(_voting(4)).info == {"method": "exact"}


def test_input_errors(monkeypatch):
    g = _voting(4)
    with pytest.raises(InputError, match="device"):
        shapley(g, backend="numba", device="cpu")
    with pytest.raises(InputError, match="device"):
        shapley(g, backend="torch", device="tpu")
    with pytest.raises(InputError, match="only for method='exact'"):
        shapley(g, method="permutation", backend="torch")
    with pytest.raises(InputError, match="backend"):
        shapley(g, backend="jax")
    with pytest.raises(InputError, match="shape"):
        shapley_tables(np.zeros((2, 6)))
    with pytest.raises(InputError, match="shape"):
        shapley_tables(np.zeros((2, 2, 4)))
    with pytest.raises(InputError, match="finite"):
        shapley_tables([0.0, np.nan, 1.0, 2.0], backend="numba")
    if not CUDA:
        with pytest.raises(InputError, match="CUDA"):
            shapley(g, backend="torch", device="cuda")
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(InputError, match="PyTorch"):
        shapley(g, backend="torch")
    with pytest.raises(InputError, match="PyTorch"):
        shapley_tables(np.zeros((1, 4)), backend="torch")


def test_cpu_rows_passed_to_torch_value_are_the_bitmask_rows():
    seen = []

    class Spy(TorchGame):
        def torch_value(self, rows):
            seen.append(rows.cpu().numpy().copy())
            return super().torch_value(rows)

    shapley(Spy([1.0, 2.0, 3.0, 4.0]), backend="torch", device="cpu")
    got = np.concatenate(seen)
    np.testing.assert_array_equal(got, rows_of(np.arange(16), 4))


@pytest.mark.skipif(not CUDA, reason="no CUDA device")
def test_cuda_matches_numba():  # pragma: no cover - needs a GPU
    g = _voting(20, seed=1)
    ref = shapley(g, backend="numba").values
    r = shapley(g, backend="torch", device="cuda")
    assert r.info is not None and r.info["device"].startswith("cuda")
    np.testing.assert_allclose(r.values, ref, atol=1e-10)
    a = np.random.default_rng(0).uniform(0, 1, size=18)
    tg = TorchGame(a)  # float32 values on device, float64 sums
    ref_sq = np.array(_exact_square_game(list(a)))
    got = shapley(tg, device="cuda").values  # auto -> torch (torch_value + CUDA)
    np.testing.assert_allclose(got, ref_sq, rtol=1e-4, atol=1e-4)
    T = np.random.default_rng(3).normal(size=(4, 1 << 19))
    np.testing.assert_allclose(
        shapley_tables(T, backend="torch", device="cuda"),
        shapley_tables(T, backend="numba"),
        atol=1e-10,
    )
