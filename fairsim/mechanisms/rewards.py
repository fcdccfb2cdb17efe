"""Reward schemes for collaborative data sharing (spec ``valuation.md`` §10, §11).

- :func:`proportional`: ``r_i = v(N) phi_i / sum_j phi_j`` on non-negative values [fairsim].
- :func:`rho_shapley`: Sim, Zhang, Chan & Low (ICML 2020, arXiv 2010.12797),
  ``r_i = (phi_i / max_j phi_j)^rho v(N)`` with ``rho`` chosen from the IR / stability bounds.
- :func:`time_aware_game`, :func:`time_aware_rewards`: **fairsim's own** time-aware rule
  (``time_aware.cumulative``), inspired by Chen et al. (NeurIPS 2025, arXiv 2510.09240) whose
  definitions fairsim does not reproduce: ``R_i = sum_{tau >= t_i} gamma_tau phi_i(v_tau)`` with
  ``v_tau(S) = v(S cap N_tau)``, computed as one Shapley run on ``v^T = sum_tau gamma_tau v_tau``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from fairsim.errors import InputError
from fairsim.mechanisms.games import BaseGame
from fairsim.registry import register


class RewardResult(NamedTuple):
    """Rewards ``r`` and the ``rho`` used."""

    rewards: np.ndarray
    rho: float


class TimeAwareResult(NamedTuple):
    """Time-aware reward values ``R``, final rewards ``r``, ``rho`` and per-epoch values ``(T, n)``."""

    values: np.ndarray
    rewards: np.ndarray
    rho: float
    per_epoch: np.ndarray


def _vec(x: Any, name: str, n: int | None = None) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1 or a.size < 1 or (n is not None and a.size != n):
        want = f"({n},)" if n is not None else "1-D non-empty"
        raise InputError(f"{name} must have shape {want}; got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise InputError(f"{name} must be finite; got {a.tolist()}")
    return a


@register("rewards.proportional", "mechanism")
def proportional(values: Any, v_grand: float) -> np.ndarray:
    """Proportional rewards ``r_i = v(N) max(phi_i, 0) / sum_j max(phi_j, 0)`` [fairsim]."""
    phi = np.maximum(_vec(values, "values"), 0.0)
    if not np.isfinite(v_grand) or v_grand < 0:
        raise InputError(f"v_grand must be finite and >= 0; got {v_grand!r}")
    tot = phi.sum()
    return np.zeros_like(phi) if tot == 0 else v_grand * phi / tot


def _rho_bound(alpha: np.ndarray, v_grand: float, targets: np.ndarray) -> float:
    rho = 1.0
    for a, t in zip(alpha, targets, strict=True):
        if a >= 1.0 or t <= 0:
            continue
        if a <= 0:
            return 0.0
        rho = min(rho, (np.log(t) - np.log(v_grand)) / np.log(a))
    return float(max(rho, 0.0))


@register("rewards.rho_shapley", "mechanism", claims=("individual_rationality",))
def rho_shapley(
    values: Any,
    v_grand: float,
    v_singletons: Any,
    rho: float | None = None,
    *,
    v_top_coalitions: Any = None,
) -> RewardResult:
    """rho-Shapley rewards (Sim et al. 2020): ``alpha_i = phi_i / max phi``, ``r_i = alpha_i^rho v(N)``.

    ``phi_i <= 0`` gives ``alpha_i = 0``: ``r_i = 0`` for ``rho > 0`` and ``v(N)`` at ``rho = 0``
    [fairsim]. ``rho=None`` takes the largest ``rho <= 1`` meeting individual rationality
    ``r_i >= v({i})`` and, when ``v_top_coalitions`` (``v(C_i)``, ``C_i = {j: phi_j <= phi_i}``)
    is given, stability ``r_i >= v(C_i)`` (spec §10).
    """
    phi = _vec(values, "values")
    n = phi.size
    v1 = _vec(v_singletons, "v_singletons", n)
    if not np.isfinite(v_grand) or v_grand <= 0:
        raise InputError(f"v_grand must be finite and > 0; got {v_grand!r}")
    if phi.max() <= 0:
        raise InputError(f"values must have a positive entry; got max {phi.max()}")
    alpha = np.maximum(phi, 0.0) / phi.max()
    if rho is None:
        r_ = _rho_bound(alpha, v_grand, v1)
        if v_top_coalitions is not None:
            r_ = min(r_, _rho_bound(alpha, v_grand, _vec(v_top_coalitions, "v_top_coalitions", n)))
        rho = r_
    elif not 0.0 <= rho <= 1.0:
        raise InputError(f"rho must be in [0, 1]; got {rho}")
    with np.errstate(divide="ignore"):
        r = np.where(alpha > 0, alpha ** float(rho), 1.0 if rho == 0 else 0.0) * v_grand
    return RewardResult(r, float(rho))


class TimeAwareGame(BaseGame):
    """``v^T(S) = sum_tau gamma_tau v(S cap N_tau)``, ``N_tau = {i: t_i <= tau}`` [fairsim]."""

    def __init__(self, game: Any, join_epochs: np.ndarray, weights: np.ndarray):
        super().__init__(game.n_players)
        self.game, self.join_epochs, self.weights = game, join_epochs, weights

    def _value(self, c: np.ndarray) -> np.ndarray:
        out = np.zeros(c.shape[0])
        for tau, g in enumerate(self.weights, start=1):
            if g > 0:
                out += g * np.asarray(self.game.value(c & (self.join_epochs <= tau)[None, :]))
        return out


def _epoch_weights(epoch_weights: Any, T: int) -> np.ndarray:
    if isinstance(epoch_weights, str):
        if epoch_weights == "uniform":
            return np.full(T, 1.0 / T)
        if epoch_weights == "discounted":
            g = 0.9 ** np.arange(T)
            return g / g.sum()
        raise InputError(
            f"epoch_weights must be 'uniform', 'discounted' or an array; got {epoch_weights!r}"
        )
    g = _vec(epoch_weights, "epoch_weights", T)
    if np.any(g < 0) or not np.isclose(g.sum(), 1.0):
        raise InputError(f"epoch_weights must be >= 0 and sum to 1; got {g.tolist()}")
    return g


def _epochs(game: Any, join_epochs: Any) -> np.ndarray:
    t = np.asarray(join_epochs)
    if t.shape != (game.n_players,) or not np.issubdtype(t.dtype, np.integer) or np.any(t < 1):
        raise InputError(f"join_epochs must be {game.n_players} integers >= 1; got {join_epochs!r}")
    return t.astype(np.int64)


def time_aware_game(game: Any, join_epochs: Any, epoch_weights: Any = "uniform") -> TimeAwareGame:
    """The cumulative time-aware game ``v^T`` of spec §11 [fairsim]; epochs ``1..max(t)``."""
    t = _epochs(game, join_epochs)
    return TimeAwareGame(game, t, _epoch_weights(epoch_weights, int(t.max())))


@register("time_aware.cumulative", "mechanism")
def time_aware_rewards(
    game: Any,
    join_epochs: Any,
    *,
    epoch_weights: Any = "uniform",
    rho: float | None = None,
    method: str = "exact",
    **shapley_options: Any,
) -> TimeAwareResult:
    """fairsim's time-aware rule (spec §11): ``R = phi(v^T)``, then ``r = (R / max R)^rho v(N)``.

    ``rho=None`` applies the individual-rationality bound of §10 with ``v({i})``. ``per_epoch``
    holds ``gamma_tau phi(v_tau)`` (row ``tau - 1``), which sums to ``R``.
    """
    from fairsim.mechanisms.valuation import shapley

    g = time_aware_game(game, join_epochs, epoch_weights)
    n = game.n_players
    R = shapley(g, method=method, **shapley_options).values
    per = np.zeros((g.weights.size, n))
    if method == "exact":
        for tau, gw in enumerate(g.weights, start=1):
            if gw > 0:
                w = np.zeros(g.weights.size)
                w[tau - 1] = 1.0
                per[tau - 1] = gw * shapley(TimeAwareGame(game, g.join_epochs, w)).values
    rows = np.concatenate([np.ones((1, n), bool), np.eye(n, dtype=bool)])
    v = game.value(rows)
    res = rho_shapley(R, float(v[0]), v[1:], rho)
    return TimeAwareResult(R, res.rewards, res.rho, per)


__all__ = [
    "RewardResult",
    "TimeAwareGame",
    "TimeAwareResult",
    "proportional",
    "rho_shapley",
    "time_aware_game",
    "time_aware_rewards",
]
