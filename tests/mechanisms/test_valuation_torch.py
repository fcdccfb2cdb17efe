"""Torch batched-GEMM exact Shapley (spec ``valuation.md`` §4) against numba, closed forms and
Fraction brute force, on CPU float64. The CUDA tests skip without a CUDA device."""

from __future__ import annotations

import math
import os
import subprocess
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
    BankruptcyGame,
    GloveGame,
    SumOfUnanimityGames,
    TableGame,
    UnanimityGame,
    WeightedVotingGame,
    rows_of,
)
from fairsim.mechanisms.valuation import banzhaf, beta_shapley, semivalue, shapley, shapley_tables
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
    assert shapley(HostGame([1.0, 2.0])).info == {"method": "exact"}


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


# --- Semivalues (Banzhaf, Beta, any coefficient vector) on the torch backend ---------------------


class NoTable:
    """Exposes only ``n_players``, ``value`` and ``torch_value`` of a game (no ``table``), so the
    torch backend streams chunks through ``torch_value`` even on CPU."""

    def __init__(self, game):
        self.game = game
        self.n_players = game.n_players

    def value(self, c):
        return self.game.value(c)

    def torch_value(self, rows):
        return self.game.torch_value(rows)


def brute_semivalue(v, n, p):
    """``psi_i = sum_{S subset N - i} p_|S| (v(S + i) - v(S))`` over all subsets, in Fractions."""
    out = [Fraction(0)] * n
    for i in range(n):
        for S in range(1 << n):
            if not S >> i & 1:
                out[i] += p[bin(S).count("1")] * (Fraction(v(S | 1 << i)) - Fraction(v(S)))
    return out


def _games():
    return [
        _voting(9),
        GloveGame(3, 4),
        AirportGame([1.0, 2.5, 2.5, 4.0, 7.0]),
        UnanimityGame(6, [0, 3, 5]),
        SumOfUnanimityGames(6, [[0], [1, 2], [0, 2, 4], [5]], [1.0, -2.0, 3.0, 0.5]),
        BankruptcyGame(60.0, [10, 20, 30, 45, 5]),
        TableGame(np.random.default_rng(4).normal(size=1 << 7)),
    ]


@pytest.mark.parametrize("game", _games())
def test_banzhaf_and_semivalue_torch_equal_numba(game):
    n = game.n_players
    for g in (game, NoTable(game)):
        a = banzhaf(game, backend="numba").values
        b = banzhaf(g, backend="torch", device="cpu")
        np.testing.assert_allclose(b.values, a, rtol=0, atol=1e-10)
        assert b.info == {"method": "exact", "backend": "torch", "device": "cpu"}
        p = np.random.default_rng(n).uniform(0, 1, size=n)
        np.testing.assert_allclose(
            semivalue(g, p, backend="torch", device="cpu").values,
            semivalue(game, p, backend="numba").values,
            rtol=0,
            atol=1e-10,
        )
        np.testing.assert_allclose(
            beta_shapley(g, 4.0, 1.0, backend="torch", device="cpu").values,
            beta_shapley(game, 4.0, 1.0, backend="numpy").values,
            rtol=0,
            atol=1e-10,
        )
        np.testing.assert_allclose(
            shapley(g, backend="torch", device="cpu").values,
            shapley(game, backend="numba").values,
            rtol=0,
            atol=1e-10,
        )


def test_banzhaf_torch_closed_forms():
    # Spec §7: [3; 2,1,1] -> Banzhaf (3/4, 1/4, 1/4); unanimity on T -> 2^-(|T|-1) on T.
    r = banzhaf(NoTable(WeightedVotingGame([2, 1, 1], 3)), backend="torch", device="cpu")
    np.testing.assert_allclose(r.values, [0.75, 0.25, 0.25], atol=1e-12)
    r = banzhaf(NoTable(UnanimityGame(7, [1, 4, 6])), backend="torch", device="cpu")
    np.testing.assert_allclose(r.values, [0, 0.25, 0, 0, 0.25, 0, 0.25], atol=1e-12)
    # Symmetric majority n = 5, q = 3: C(4, 2) / 2^4 = 3/8 each (spec §7).
    r = banzhaf(WeightedVotingGame([1] * 5, 3), backend="torch", device="cpu")
    np.testing.assert_allclose(r.values, [0.375] * 5, atol=1e-12)


def test_semivalue_torch_chunked_against_fraction_brute_force(monkeypatch):
    """Chunks of 2^2 masks at n = 6, random integer table, Banzhaf and a rational p."""
    from fairsim.allocation import _shapley_torch as T

    monkeypatch.setattr(T, "CPU_CHUNK_BITS", 2)
    tbl = np.random.default_rng(8).integers(-9, 10, size=1 << 6).astype(float)
    n = 6
    p = [Fraction(k + 1, 7 * (k + 2)) for k in range(n)]
    ref = brute_semivalue(lambda m: int(tbl[m]), n, p)
    bz = brute_semivalue(lambda m: int(tbl[m]), n, [Fraction(1, 32)] * n)
    for g in (TableGame(tbl), NoTable(TableGame(tbl))):
        got = semivalue(g, [float(x) for x in p], backend="torch", device="cpu").values
        np.testing.assert_allclose(got, [float(x) for x in ref], atol=1e-12)
        got = banzhaf(g, backend="torch", device="cpu").values
        np.testing.assert_allclose(got, [float(x) for x in bz], atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 5), data=st.data())
def test_property_torch_semivalue_equals_brute_force(n, data):
    vals = data.draw(st.lists(st.integers(-20, 20), min_size=1 << n, max_size=1 << n))
    p = data.draw(st.lists(st.integers(0, 9), min_size=n, max_size=n))
    ref = brute_semivalue(lambda m: vals[m], n, [Fraction(x, 8) for x in p])
    g = NoTable(TableGame(np.array(vals, float)))
    got = semivalue(g, [x / 8 for x in p], backend="torch", device="cpu").values
    np.testing.assert_allclose(got, [float(x) for x in ref], atol=1e-10)


def test_auto_picks_torch_for_closed_form_games_with_cuda(monkeypatch):
    """With CUDA reported, ``"auto"`` routes every closed-form game to the torch backend (here on
    CPU), and the game counts its on-device rows."""
    monkeypatch.setattr(V, "_cuda_present", lambda: True)
    for game in _games():
        ref = shapley(game, backend="numba").values
        g = NoTable(game)
        before = game.evaluations
        r = shapley(g, device="cpu")
        assert r.info is not None and r.info["backend"] == "torch"
        np.testing.assert_allclose(r.values, ref, atol=1e-10)
        assert game.evaluations - before == 1 << game.n_players
        assert banzhaf(g, device="cpu").info["backend"] == "torch"
        assert semivalue(g, np.ones(g.n_players), device="cpu").info["backend"] == "torch"
        assert beta_shapley(g, device="cpu").info["backend"] == "torch"


def test_semivalue_backend_errors():
    g = _voting(4)
    with pytest.raises(InputError, match="backend"):
        banzhaf(g, backend="jax")
    with pytest.raises(InputError, match="device"):
        banzhaf(g, backend="numba", device="cpu")
    with pytest.raises(InputError, match="only for method='exact'"):
        banzhaf(g, method="msr", backend="torch")
    with pytest.raises(InputError, match="backend"):
        semivalue(g, np.ones(4), backend="gpu")
    with pytest.raises(InputError, match="coefficients"):
        semivalue(g, np.ones(3), backend="torch")
    with pytest.raises(InputError, match="device"):
        beta_shapley(g, backend="numpy", device="cuda")


@pytest.mark.skipif(not CUDA, reason="no CUDA device")
def test_cuda_auto_uses_on_device_games_n20():  # pragma: no cover - needs a GPU
    """n = 20 weighted voting: ``"auto"`` with CUDA evaluates on device and equals CPU to 1e-6."""
    g = _voting(20, seed=0)
    ref = shapley(g, backend="numba").values
    before = g.evaluations
    r = shapley(g)  # auto -> torch on CUDA via torch_value
    assert r.info is not None and r.info["backend"] == "torch"
    assert r.info["device"].startswith("cuda")
    assert g.evaluations - before == 1 << 20  # rows computed by torch_value
    np.testing.assert_allclose(r.values, ref, rtol=0, atol=1e-6)
    np.testing.assert_allclose(banzhaf(g).values, banzhaf(g, backend="numba").values, atol=1e-6)
    p = V.X.beta_weights(20, 16.0, 1.0)
    np.testing.assert_allclose(
        semivalue(g, p).values, semivalue(g, p, backend="numba").values, atol=1e-6
    )
    for game in _games():
        for fn in (shapley, banzhaf):
            got = fn(game, backend="torch", device="cuda").values
            np.testing.assert_allclose(got, fn(game, backend="numba").values, atol=1e-10)
    t = TableGame(np.random.default_rng(5).normal(size=1 << 20))
    np.testing.assert_allclose(
        shapley(t).values, shapley(t, backend="numba").values, rtol=0, atol=1e-6
    )


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or any(map(os.path.exists, V._NVIDIA_NODES)),
    reason="needs Linux without an NVIDIA driver",
)
def test_auto_does_not_import_torch_without_a_driver():
    code = (
        "import sys; from fairsim.mechanisms.valuation import shapley, banzhaf; "
        "from fairsim.mechanisms.games import GloveGame; g = GloveGame(2, 3); "
        "print(shapley(g).values.round(4).tolist(), banzhaf(g).info, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # Glove (2, 3), spec §7: lefts 13/20, rights 7/30.
    assert out.stdout.strip() == ("[0.65, 0.65, 0.2333, 0.2333, 0.2333] {'method': 'exact'} False")


def test_cuda_present_false_when_torch_is_blocked(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    assert V._cuda_present() is False
