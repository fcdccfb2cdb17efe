"""Parties of the data-sharing domain: private synthetic datasets and behaviours [F].

Task (fairsim's own generator): ``C`` classes with means drawn ``N(0, class_sep^2 I_d)`` once per
instance; a row of class ``c`` is ``mean_c + N(0, I_d)``, classes uniform. A party draws ``size``
rows and flips each label with probability ``label_noise`` to a uniformly drawn *other* class.

Behaviours (registered ``data_sharing.<name>``, kind ``behaviour``) map a party's private data to
the data it contributes and its join round:

* ``honest``: its own data, joining at its ``join_round``;
* ``free_rider``: ``mode: nothing`` contributes no rows; ``mode: noise`` contributes as many rows
  of pure noise (features ``N(0, I_d)``, uniform labels);
* ``duplicator``: contributes a copy of party ``source``'s private data instead of its own;
* ``late_joiner``: its own data, joining ``delay`` rounds after its ``join_round``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from fairsim.errors import InputError
from fairsim.registry import register


class Task(NamedTuple):
    """Class means ``(C, d)`` of one synthetic classification task."""

    means: np.ndarray


def make_task(rng: np.random.Generator, n_features: int, n_classes: int, class_sep: float) -> Task:
    """Draw the class means of a task (module docstring)."""
    return Task(class_sep * rng.standard_normal((n_classes, n_features)))


def draw_rows(
    task: Task, size: int, rng: np.random.Generator, label_noise: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """``size`` rows ``(X, y)`` of ``task`` with labels flipped at rate ``label_noise``."""
    C, d = task.means.shape
    y = rng.integers(0, C, size=size)
    X = task.means[y] + rng.standard_normal((size, d))
    if label_noise > 0 and size:
        flip = rng.random(size) < label_noise
        shift = rng.integers(1, C, size=size) if C > 1 else np.zeros(size, np.int64)
        y = np.where(flip, (y + shift) % C, y)
    return X, y.astype(np.int64)


class Contribution(NamedTuple):
    """What a party brings: rows ``X``, labels ``y`` and the round it joins."""

    X: np.ndarray
    y: np.ndarray
    join_round: int


def _check_int(v: Any, name: str, lo: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise InputError(f"{name} must be an int >= {lo}; got {v!r}")
    return int(v)


@register("data_sharing.honest", "behaviour", params={})
def honest(X: np.ndarray, y: np.ndarray, join_round: int, **_: Any) -> Contribution:
    """Contribute the party's own data at its join round."""
    return Contribution(X, y, join_round)


@register("data_sharing.free_rider", "behaviour", params={"mode": {"default": "nothing"}})
def free_rider(
    X: np.ndarray,
    y: np.ndarray,
    join_round: int,
    *,
    rng: np.random.Generator,
    n_classes: int,
    mode: str = "nothing",
    **_: Any,
) -> Contribution:
    """Contribute nothing (``mode="nothing"``) or label-and-feature noise (``mode="noise"``)."""
    if mode == "nothing":
        return Contribution(X[:0], y[:0], join_round)
    if mode == "noise":
        m, d = X.shape
        noise_y = np.asarray(rng.integers(0, n_classes, size=m), dtype=np.int64)
        return Contribution(rng.standard_normal((m, d)), noise_y, join_round)
    raise InputError(f"free_rider mode must be 'nothing' or 'noise'; got {mode!r}")


@register("data_sharing.duplicator", "behaviour", params={"source": {"default": 0}})
def duplicator(
    X: np.ndarray,
    y: np.ndarray,
    join_round: int,
    *,
    private: list[tuple[np.ndarray, np.ndarray]],
    source: int = 0,
    **_: Any,
) -> Contribution:
    """Contribute a copy of party ``source``'s private data instead of its own."""
    s = _check_int(source, "source", 0)
    if s >= len(private):
        raise InputError(f"duplicator source must be < {len(private)} parties; got {source}")
    return Contribution(private[s][0].copy(), private[s][1].copy(), join_round)


@register("data_sharing.late_joiner", "behaviour", params={"delay": {"default": 1}})
def late_joiner(
    X: np.ndarray, y: np.ndarray, join_round: int, *, delay: int = 1, **_: Any
) -> Contribution:
    """Contribute its own data, joining ``delay`` rounds late."""
    return Contribution(X, y, join_round + _check_int(delay, "delay", 0))


__all__ = [
    "Contribution",
    "Task",
    "draw_rows",
    "duplicator",
    "free_rider",
    "honest",
    "late_joiner",
    "make_task",
]
