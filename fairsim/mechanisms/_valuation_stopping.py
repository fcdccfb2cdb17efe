"""Composable stopping rules for sampling estimators (spec ``valuation.md`` §6).

Rules are checked after every round of work; they compose with ``|``, ``&`` and ``~``. The budget
(``MaxEvaluations`` or ``budget=``) counts game evaluations, never permutations [fairsim].
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from fairsim.errors import InputError


@dataclass
class StopState:
    """What a rule sees: evaluations so far, the running estimate, its stderr and counts."""

    evaluations: int
    values: np.ndarray
    stderr: np.ndarray
    counts: np.ndarray
    started: float = field(default_factory=time.monotonic)
    round: int = 0


class StoppingRule:
    """Base class; ``check`` returns True to stop. ``statistical`` marks convergence criteria."""

    statistical = False
    name = "rule"

    def reset(self) -> None:
        """Forget history (called once at the start of a run)."""
        self._memo = None

    _memo: tuple[int, bool] | None = None

    def check(self, state: StopState) -> bool:
        """True to stop; evaluated once per round (memoised on ``state.round``)."""
        if self._memo is not None and self._memo[0] == state.round:
            return self._memo[1]
        res = bool(self._check(state))
        self._memo = (state.round, res)
        return res

    def _check(self, state: StopState) -> bool:  # pragma: no cover - abstract
        raise TypeError("subclasses implement _check")

    def fired(self, state: StopState) -> list[StoppingRule]:
        """The primitive rules that currently say stop."""
        return [self] if self.check(state) else []

    def __or__(self, other: StoppingRule) -> StoppingRule:
        return _Or(self, other)

    def __and__(self, other: StoppingRule) -> StoppingRule:
        return _And(self, other)

    def __invert__(self) -> StoppingRule:
        return _Not(self)


class _Or(StoppingRule):
    def __init__(self, a: StoppingRule, b: StoppingRule):
        self.a, self.b = a, b
        self.name = f"({a.name} | {b.name})"

    def reset(self) -> None:
        self.a.reset()
        self.b.reset()

    def check(self, state: StopState) -> bool:
        ra, rb = self.a.check(state), self.b.check(state)
        return ra or rb

    def fired(self, state: StopState) -> list[StoppingRule]:
        return self.a.fired(state) + self.b.fired(state)


class _And(_Or):
    def __init__(self, a: StoppingRule, b: StoppingRule):
        super().__init__(a, b)
        self.name = f"({a.name} & {b.name})"

    def check(self, state: StopState) -> bool:
        ra, rb = self.a.check(state), self.b.check(state)
        return ra and rb

    def fired(self, state: StopState) -> list[StoppingRule]:
        fa, fb = self.a.fired(state), self.b.fired(state)
        return fa + fb if fa and fb else []


class _Not(StoppingRule):
    def __init__(self, a: StoppingRule):
        self.a = a
        self.name = f"~{a.name}"

    def reset(self) -> None:
        self.a.reset()

    def check(self, state: StopState) -> bool:
        return not self.a.check(state)


class MaxEvaluations(StoppingRule):
    """Stop once ``n`` game evaluations have been used (also a hard cap on the run)."""

    def __init__(self, n: int):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise InputError(f"MaxEvaluations n must be an int >= 1; got {n!r}")
        self.n = int(n)
        self.name = f"MaxEvaluations({self.n})"

    def _check(self, state: StopState) -> bool:
        return state.evaluations >= self.n


class MaxTime(StoppingRule):
    """Stop after ``seconds`` of wall time (monotonic clock)."""

    def __init__(self, seconds: float):
        if not np.isfinite(seconds) or seconds <= 0:
            raise InputError(f"MaxTime seconds must be finite and > 0; got {seconds!r}")
        self.seconds = float(seconds)
        self.name = f"MaxTime({self.seconds})"

    def _check(self, state: StopState) -> bool:
        return time.monotonic() - state.started >= self.seconds


class StandardError(StoppingRule):
    """Every player has ``>= min_count`` samples and ``SE_i <= atol + rtol |phi_i|``."""

    statistical = True

    def __init__(self, atol: float, rtol: float = 0.0, min_count: int = 30):
        if not (atol >= 0 and rtol >= 0) or atol + rtol <= 0:
            raise InputError(f"StandardError needs atol, rtol >= 0, not both 0; got {atol}, {rtol}")
        self.atol, self.rtol, self.min_count = float(atol), float(rtol), int(min_count)
        self.name = f"StandardError({self.atol}, rtol={self.rtol})"

    def _check(self, state: StopState) -> bool:
        se = state.stderr
        if np.any(state.counts < self.min_count) or np.any(~np.isfinite(se)):
            return False
        return bool(np.all(se <= self.atol + self.rtol * np.abs(state.values)))


class RankStability(StoppingRule):
    """The rank correlation with the estimate ``window`` checks earlier is ``>= tau``."""

    statistical = True

    def __init__(self, tau: float = 0.95, window: int = 5, metric: str = "spearman"):
        if metric not in ("spearman", "kendall"):
            raise InputError(f"metric must be 'spearman' or 'kendall'; got {metric!r}")
        if not -1 <= tau <= 1 or window < 1:
            raise InputError(f"need tau in [-1, 1] and window >= 1; got {tau}, {window}")
        self.tau, self.window, self.metric = float(tau), int(window), metric
        self.name = f"RankStability({self.tau}, {self.window}, {metric})"
        self._hist: list[np.ndarray] = []

    def reset(self) -> None:
        self._memo = None
        self._hist = []

    def _check(self, state: StopState) -> bool:
        from scipy import stats

        self._hist.append(np.array(state.values, copy=True))
        if len(self._hist) <= self.window:
            return False
        old = self._hist[-1 - self.window]
        func = stats.spearmanr if self.metric == "spearman" else stats.kendalltau
        r = float(func(old, state.values)[0])
        return bool(np.isfinite(r) and r >= self.tau)


__all__ = [
    "MaxEvaluations",
    "MaxTime",
    "RankStability",
    "StandardError",
    "StopState",
    "StoppingRule",
]
