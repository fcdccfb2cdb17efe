"""``torch_value`` (spec ``valuation.md`` §2, §14) against ``value`` on every coalition.

All parameters in the random games are integers or dyadic rationals, so every float sum is exact
and on-device values must equal the numpy ``value`` bit for bit. CUDA tests skip without CUDA.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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

torch = pytest.importorskip("torch")
CUDA = torch.cuda.is_available()

GAMES = [
    lambda: WeightedVotingGame([3, 2, 2, 1, 1], 5),
    lambda: WeightedVotingGame([0.5, 0.25, 1.75, 0.0], 0.75),
    lambda: GloveGame(2, 3),
    lambda: GloveGame(0, 3),
    lambda: AirportGame([1.0, 2.5, 2.5, 4.0]),
    lambda: UnanimityGame(5, [1, 3]),
    lambda: SumOfUnanimityGames(5, [[0], [1, 2], [0, 2, 4], [1, 2]], [1.0, -2.0, 3.0, 0.5]),
    lambda: SumOfUnanimityGames(3, [], []),
    lambda: BankruptcyGame(60.0, [10, 20, 30, 45]),
    lambda: BankruptcyGame(0.0, [1.0, 2.0]),
    lambda: TableGame(np.random.default_rng(0).normal(size=1 << 6)),
    lambda: SumGame(GloveGame(1, 3), AirportGame([1.0, 3.0, 2.0, 0.5])),
]


def _all_rows(n):
    return rows_of(np.arange(1 << n), n)


def _check_equal(g):
    rows = _all_rows(g.n_players)
    ref = g.value(rows)
    got = g.torch_value(torch.as_tensor(rows))
    assert isinstance(got, torch.Tensor)
    assert got.dtype == torch.float64 and got.device.type == "cpu"
    assert tuple(got.shape) == (1 << g.n_players,)
    np.testing.assert_array_equal(got.numpy(), ref)


@pytest.mark.parametrize("make", GAMES)
def test_torch_value_equals_value_on_all_masks(make):
    _check_equal(make())


def test_hand_values():
    # Bitmask rows: players 0 and 2 -> [T, F, T].
    s = torch.tensor([[True, False, True], [False, False, False], [True, True, True]])
    assert WeightedVotingGame([2, 1, 1], 3).torch_value(s).tolist() == [1.0, 0.0, 1.0]
    assert GloveGame(1, 2).torch_value(s).tolist() == [1.0, 0.0, 1.0]
    assert AirportGame([1.0, 2.0, 3.0]).torch_value(s).tolist() == [3.0, 0.0, 3.0]
    assert UnanimityGame(3, [0, 1]).torch_value(s).tolist() == [0.0, 0.0, 1.0]
    # E = 5, d = (2, 3, 4): v({0, 2}) = max(0, 5 - 3) = 2, v(empty) = 0, v(N) = 5.
    assert BankruptcyGame(5.0, [2, 3, 4]).torch_value(s).tolist() == [2.0, 0.0, 5.0]
    # Table in bitmask order: mask({0, 2}) = 5.
    assert TableGame(np.arange(8.0)).torch_value(s).tolist() == [5.0, 0.0, 7.0]


def test_shapes_accounting_and_device_copies():
    g = GloveGame(1, 2)
    one = g.torch_value(torch.tensor([True, False, True]))
    assert tuple(one.shape) == (1,) and one.item() == 1.0
    empty = g.torch_value(torch.zeros((0, 3), dtype=torch.bool))
    assert tuple(empty.shape) == (0,) and empty.dtype == torch.float64
    assert g.evaluations == 1
    g.torch_value(torch.ones((7, 3), dtype=torch.bool))
    assert g.evaluations == 8
    t = TableGame(np.arange(4.0))
    t.torch_value(torch.ones((2, 2), dtype=torch.bool))
    t.torch_value(torch.zeros((2, 2), dtype=torch.bool))
    assert list(t._device_copies) == [("table", "cpu")]


def test_torch_value_input_errors():
    g = WeightedVotingGame([1, 1, 1], 2)
    with pytest.raises(InputError, match="torch.Tensor"):
        g.torch_value(np.ones((2, 3), bool))
    with pytest.raises(InputError, match="dtype torch.bool"):
        g.torch_value(torch.ones((2, 3)))
    with pytest.raises(InputError, match=r"shape \(k, 3\)"):
        g.torch_value(torch.ones((2, 4), dtype=torch.bool))
    with pytest.raises(InputError, match=r"shape \(k, 3\)"):
        g.torch_value(torch.ones((2, 3, 1), dtype=torch.bool))


def test_sum_game_torch_value_only_when_both_have_it():
    class Plain:
        n_players = 3

        def value(self, c):
            return np.atleast_2d(c).sum(axis=1).astype(float)

    assert not hasattr(SumGame(GloveGame(1, 2), Plain()), "torch_value")
    s = SumGame(GloveGame(1, 2), UnanimityGame(3, [2]))
    assert hasattr(s, "torch_value")
    _check_equal(s)
    assert s.evaluations == 2 * 8  # value rows + torch_value rows


def test_import_does_not_load_torch():
    code = "import sys, fairsim.mechanisms.games; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


dyadic = st.integers(0, 40).map(lambda k: k / 4)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), n=st.integers(1, 6), kind=st.sampled_from(range(6)))
def test_property_random_games(data, n, kind):
    if kind == 0:
        w = data.draw(st.lists(dyadic, min_size=n, max_size=n))
        q = data.draw(st.integers(1, 60).map(lambda k: k / 4))
        g = WeightedVotingGame(w, q)
    elif kind == 1:
        left = data.draw(st.integers(0, n))
        g = GloveGame(left, n - left) if n > 0 else GloveGame(1, 0)
    elif kind == 2:
        g = AirportGame(data.draw(st.lists(st.floats(0, 100), min_size=n, max_size=n)))
    elif kind == 3:
        carriers = data.draw(
            st.lists(st.sets(st.integers(0, n - 1), min_size=1), min_size=0, max_size=6)
        )
        coefs = data.draw(st.lists(dyadic, min_size=len(carriers), max_size=len(carriers)))
        g = SumOfUnanimityGames(n, [sorted(c) for c in carriers], [c - 5 for c in coefs])
    elif kind == 4:
        d = data.draw(st.lists(dyadic, min_size=n, max_size=n))
        g = BankruptcyGame(data.draw(dyadic), d)
    else:
        vals = data.draw(st.lists(st.floats(-1e6, 1e6), min_size=1 << n, max_size=1 << n))
        g = TableGame(vals)
    _check_equal(g)


@pytest.mark.skipif(not CUDA, reason="no CUDA device")
@pytest.mark.parametrize("make", GAMES)
def test_cuda_torch_value_equals_value(make):  # pragma: no cover - needs a GPU
    g = make()
    rows = _all_rows(g.n_players)
    got = g.torch_value(torch.as_tensor(rows, device="cuda"))
    assert got.device.type == "cuda" and got.dtype == torch.float64
    np.testing.assert_array_equal(got.cpu().numpy(), g.value(rows))
