"""Shared pieces of the fair-division mechanisms (spec ``division.md`` §2, §5.0)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fairsim.errors import FairsimError, InputError


class AlgorithmInvariantError(FairsimError, RuntimeError):
    """An invariant that a proof guarantees was violated (a bug or an invalid threshold)."""


@dataclass(frozen=True)
class Allocation:
    """A complete allocation: ``assignment[g]`` is the agent (``0..n_agents-1``) of item g.

    ``meta`` records the algorithm, the thresholds used, whether they are proven MMS values and
    the guarantee (spec §1).
    """

    assignment: np.ndarray
    n_agents: int
    meta: dict[str, Any] = field(default_factory=dict)

    def bundles(self) -> list[np.ndarray]:
        """The n sorted item arrays A_0..A_{n-1} (discarded items, -1, are in none)."""
        return [np.flatnonzero(self.assignment == i) for i in range(self.n_agents)]


def as_valuations(V: Any, name: str = "V", *, sign: str = "any") -> np.ndarray:
    """Validate an (n_agents, m) valuation matrix; ``sign`` in {"any", "goods", "pure"}."""
    try:
        A = np.asarray(V, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a 2-D array of numbers; {exc}") from None
    if A.ndim != 2 or A.shape[0] < 1:
        raise InputError(f"{name} must be 2-D (n_agents >= 1, m); got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        i, g = np.argwhere(~np.isfinite(A))[0]
        raise InputError(f"{name}[{i}, {g}]={A[i, g]} is not finite (NaN or inf)")
    if sign == "goods" and np.any(A < 0):
        i, g = np.argwhere(A < 0)[0]
        raise InputError(f"{name}[{i}, {g}]={A[i, g]} < 0; this mechanism needs goods (V >= 0)")
    if sign == "pure" and np.any(A < 0) and np.any(A > 0):
        raise InputError(f"{name} has mixed signs; this mechanism needs pure goods or pure chores")
    return np.ascontiguousarray(A)


def goods_thresholds(V: np.ndarray, time_limit: float | None = None) -> tuple[np.ndarray, bool]:
    """Certified thresholds t_i = witnessed MMS lower bound of each row (spec §5.0 [F])."""
    from fairsim.allocation.mms import maximin_share

    n = V.shape[0]
    res = [maximin_share(V[i], n, time_limit=time_limit) for i in range(n)]
    return np.array([r.lower for r in res]), all(r.proven for r in res)


def ordered_goods(V: np.ndarray) -> np.ndarray:
    """O[i, r] = agent i's r-th largest value (Bouveret-Lemaitre ordered instance)."""
    return -np.sort(-V, axis=1)


def map_back_goods(V: np.ndarray, rank_owner: np.ndarray) -> np.ndarray:
    """Owner of rank r (r = 0..m-1) takes its most valuable remaining item (ties: lowest index).

    Ranks with owner -1 are skipped; items left over go to the agent valuing them most.
    """
    n, m = V.shape
    taken = np.zeros(m, dtype=bool)
    out = np.full(m, -1, dtype=np.int64)
    for r in range(m):
        i = int(rank_owner[r])
        if i < 0:
            continue
        vals = np.where(taken, -np.inf, V[i])
        g = int(np.argmax(vals))
        taken[g] = True
        out[g] = i
    for g in np.flatnonzero(~taken).tolist():
        out[g] = int(np.argmax(V[:, g]))
    return out


def map_back_chores(C: np.ndarray, rank_owner: np.ndarray) -> np.ndarray:
    """Chores (cost form): for r = m-1 down to 0 the owner takes its cheapest remaining item."""
    n, m = C.shape
    taken = np.zeros(m, dtype=bool)
    out = np.full(m, -1, dtype=np.int64)
    for r in range(m - 1, -1, -1):
        i = int(rank_owner[r])
        vals = np.where(taken, np.inf, C[i])
        g = int(np.argmin(vals))
        taken[g] = True
        out[g] = i
    return out
