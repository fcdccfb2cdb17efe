"""Parties of the data-sharing domain: datasets and behaviours."""

from __future__ import annotations

import numpy as np
import pytest

from fairsim import registry
from fairsim.agents import data_sharing as A
from fairsim.errors import InputError


def _task(seed: int = 0) -> A.Task:
    return A.make_task(np.random.default_rng(seed), 3, 3, 2.0)


def test_rows_shape_and_label_noise_rate() -> None:
    t = _task()
    X, y = A.draw_rows(t, 20_000, np.random.default_rng(1))
    assert X.shape == (20_000, 3) and set(np.unique(y)) == {0, 1, 2}
    # same generator state: noise flips a fraction ~ label_noise, always to another class
    Xn, yn = A.draw_rows(t, 20_000, np.random.default_rng(1), label_noise=0.3)
    assert np.array_equal(X, Xn)
    rate = np.mean(y != yn)
    assert abs(rate - 0.3) < 0.02


def test_behaviours() -> None:
    X, y = A.draw_rows(_task(), 10, np.random.default_rng(2))
    other = A.draw_rows(_task(), 7, np.random.default_rng(3))
    rng = np.random.default_rng(4)
    assert A.honest(X, y, 2).join_round == 2
    c = A.free_rider(X, y, 1, rng=rng, n_classes=3)
    assert c.X.shape == (0, 3) and c.y.size == 0
    c = A.free_rider(X, y, 1, rng=rng, n_classes=3, mode="noise")
    assert c.X.shape == X.shape and not np.array_equal(c.X, X)
    c = A.duplicator(X, y, 1, private=[other, (X, y)], source=0)
    assert np.array_equal(c.X, other[0]) and np.array_equal(c.y, other[1])
    assert A.late_joiner(X, y, 1, delay=2).join_round == 3
    with pytest.raises(InputError, match="mode"):
        A.free_rider(X, y, 1, rng=rng, n_classes=3, mode="lie")
    with pytest.raises(InputError, match="source"):
        A.duplicator(X, y, 1, private=[other], source=5)
    with pytest.raises(InputError, match="delay"):
        A.late_joiner(X, y, 1, delay=-1)


def test_registered() -> None:
    names = {e.short_name for e in registry.entries("behaviour", domain="data_sharing")}
    assert {"honest", "free_rider", "duplicator", "late_joiner"} <= names
