"""Cooperative (TU) games with the batched protocol (spec ``valuation.md`` §1, §2, §7).

A game maps a boolean coalition matrix ``(k, n)`` to float64 values ``(k,)``; player ``i`` is bit
``i`` of a coalition's mask. ``v(empty)`` is not forced to 0. A 1-D row ``(n,)`` is promoted to
``(1, n)``; ``k = 0`` returns an empty array. ``evaluations`` counts the rows a game actually
computed (cache hits excluded; caching is opt-in with ``cache=True``) [fairsim].

Fast path: ``table()`` returns all ``2^n`` values in bitmask order (``n <= 26``), built inside
numba kernels (:mod:`fairsim.allocation._shapley_exact`) without materialising the ``2^n x n``
boolean matrix. ``torch_value(torch.bool (k, n)) -> float64 (k,)`` (:class:`TorchValued`)
evaluates every closed-form game on the masks' device (CPU or CUDA), used by the torch exact
backend of :mod:`fairsim.mechanisms.valuation`; torch is imported only when it is called.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from fairsim.errors import InputError

MAX_TABLE_PLAYERS = 26


@runtime_checkable
class Game(Protocol):
    """The batched game protocol: ``n_players`` and ``value(bool (k, n)) -> float64 (k,)``."""

    n_players: int

    def value(self, coalitions: Any) -> np.ndarray: ...


def _bits(n: int) -> np.ndarray:
    return np.left_shift(np.int64(1), np.arange(n, dtype=np.int64))


def masks_of(coalitions: np.ndarray) -> np.ndarray:
    """Bitmask (int64) of each row of a ``(k, n)`` boolean matrix, ``n <= 62``."""
    return coalitions.astype(np.int64) @ _bits(coalitions.shape[1])


def rows_of(masks: np.ndarray, n: int) -> np.ndarray:
    """Boolean ``(k, n)`` rows of int64 masks."""
    return (np.asarray(masks, dtype=np.int64)[:, None] & _bits(n)[None, :]) != 0


class BaseGame:
    """Shared machinery: shape checks, evaluation accounting and the opt-in mask cache."""

    n_players: int

    def __init__(self, n_players: int, *, cache: bool = False):
        if isinstance(n_players, bool) or not isinstance(n_players, (int, np.integer)):
            raise InputError(f"n_players must be an int >= 1; got {n_players!r}")
        if n_players < 1:
            raise InputError(f"n_players must be >= 1; got {n_players}")
        self.n_players = int(n_players)
        self.evaluations = 0
        self._cache: dict[bytes, float] | None = {} if cache else None

    def value(self, coalitions: Any) -> np.ndarray:
        """Values of the coalitions (rows of a boolean ``(k, n)`` matrix or one ``(n,)`` row)."""
        c = np.asarray(coalitions)
        if c.ndim == 1:
            c = c[None, :]
        if c.ndim != 2 or c.shape[1] != self.n_players:
            raise InputError(
                f"coalitions must have shape (k, {self.n_players}) or ({self.n_players},); "
                f"got {np.shape(coalitions)}"
            )
        c = c.astype(bool, copy=False)
        if c.shape[0] == 0:
            return np.zeros(0)
        if self._cache is None:
            self.evaluations += c.shape[0]
            return np.asarray(self._value(c), dtype=np.float64)
        keys = [r.tobytes() for r in np.packbits(c, axis=1)]
        out = np.empty(c.shape[0])
        first: dict[bytes, int] = {}
        for j, key in enumerate(keys):
            if key not in self._cache and key not in first:
                first[key] = j
        miss = list(first.values())
        if miss:
            new = np.asarray(self._value(c[miss]), dtype=np.float64)
            self.evaluations += len(miss)
            for j, val in zip(miss, new, strict=True):
                self._cache[keys[j]] = float(val)
        for j, key in enumerate(keys):
            out[j] = self._cache[key]
        return out

    def _value(self, c: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise TypeError("subclasses implement _value")

    def _check_table(self) -> None:
        if self.n_players > MAX_TABLE_PLAYERS:
            raise InputError(
                f"table() needs n_players <= {MAX_TABLE_PLAYERS}; got {self.n_players}"
            )


def _torch() -> Any:
    """The torch module (imported on first use, so ``import fairsim`` stays cheap)."""
    import torch

    return torch


class TorchValued:
    """Mixin: ``torch_value(masks)`` evaluates a closed-form game on the masks' device (spec §2, §14).

    ``masks`` is a ``torch.bool`` tensor ``(k, n)`` (or one ``(n,)`` row, promoted to ``(1, n)``);
    the result is a float64 tensor ``(k,)`` on the same device. fairsim computes in float64 on every
    device, CUDA included, so on-device values equal :meth:`value` exactly whenever the float
    sums involved are exact (integer or dyadic weights, claims and coefficients) [fairsim choice;
    the spec allows float32 on CUDA]. Rows count in ``evaluations``; the opt-in mask cache is not
    consulted. Constant parameter tensors are copied to a device once and kept.
    """

    n_players: int
    evaluations: int
    _device_copies: dict[tuple[str, str], Any]

    def torch_value(self, masks: Any) -> Any:
        """Values of boolean coalition rows ``masks`` (``torch.bool``, ``(k, n)``) on their device."""
        torch = _torch()
        if not isinstance(masks, torch.Tensor):
            raise InputError(f"masks must be a torch.Tensor of dtype bool; got {type(masks)!r}")
        if masks.dtype != torch.bool:
            raise InputError(f"masks must have dtype torch.bool; got {masks.dtype}")
        m = masks[None, :] if masks.ndim == 1 else masks
        if m.ndim != 2 or m.shape[1] != self.n_players:
            raise InputError(
                f"masks must have shape (k, {self.n_players}) or ({self.n_players},); "
                f"got {tuple(masks.shape)}"
            )
        if m.shape[0] == 0:
            return torch.zeros(0, dtype=torch.float64, device=m.device)
        self.evaluations += int(m.shape[0])
        return self._torch_value(torch, m).to(torch.float64)

    def _on(self, torch: Any, name: str, array: np.ndarray, device: Any) -> Any:
        """``array`` as a float64 tensor on ``device``, copied once per device."""
        copies = self.__dict__.setdefault("_device_copies", {})
        key = (name, str(device))
        if key not in copies:
            copies[key] = torch.as_tensor(array, dtype=torch.float64).to(device)
        return copies[key]

    def _torch_value(self, torch: Any, m: Any) -> Any:  # pragma: no cover - abstract
        raise TypeError("subclasses implement _torch_value")


def _vector(x: Any, name: str, *, nonneg: bool = False, min_len: int = 1) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a 1-D array of numbers; got {x!r}") from None
    if a.ndim != 1 or a.size < min_len:
        raise InputError(f"{name} must be 1-D with at least {min_len} entries; got shape {a.shape}")
    bad = ~np.isfinite(a) | ((a < 0) if nonneg else False)
    if np.any(bad):
        j = int(np.flatnonzero(bad)[0])
        rng = "finite and >= 0" if nonneg else "finite"
        raise InputError(f"{name}[{j}]={a[j]} must be {rng}")
    return a


class TableGame(TorchValued, BaseGame):
    """Game given by all ``2^n`` values in bitmask order (``values[0] = v(empty)``), spec §1."""

    def __init__(self, values: Any, *, cache: bool = False):
        v = _vector(values, "values")
        n = int(v.size).bit_length() - 1
        if v.size != 1 << n or n < 1:
            raise InputError(f"values must have length 2^n with n >= 1; got length {v.size}")
        super().__init__(n, cache=cache)
        self._table = v

    def _value(self, c: np.ndarray) -> np.ndarray:
        return self._table[masks_of(c)]

    def _torch_value(self, torch: Any, m: Any) -> Any:
        shifts = torch.arange(self.n_players, device=m.device, dtype=torch.int64)
        idx = (m.to(torch.int64) << shifts[None, :]).sum(dim=1)
        return self._on(torch, "table", self._table, m.device)[idx]

    def table(self) -> np.ndarray:
        return self._table


class WeightedVotingGame(TorchValued, BaseGame):
    """``[q; w]``: ``v(S) = 1[w(S) >= q]`` (a tie at the quota wins), spec §7."""

    def __init__(self, weights: Any, quota: float, *, cache: bool = False):
        w = _vector(weights, "weights", nonneg=True)
        q = float(quota)
        if not np.isfinite(q) or q <= 0:
            raise InputError(f"quota must be finite and > 0; got {quota!r}")
        super().__init__(w.size, cache=cache)
        self.weights, self.quota = w, q

    def _value(self, c: np.ndarray) -> np.ndarray:
        return (c @ self.weights >= self.quota).astype(np.float64)

    def _torch_value(self, torch: Any, m: Any) -> Any:
        w = self._on(torch, "weights", self.weights, m.device)
        return m.to(torch.float64) @ w >= self.quota

    def table(self) -> np.ndarray:
        from fairsim.allocation._shapley_exact import subset_sums

        self._check_table()
        return (subset_sums(self.weights) >= self.quota).astype(np.float64)


class GloveGame(TorchValued, BaseGame):
    """Players ``0..L-1`` hold left gloves, ``L..L+R-1`` right; ``v(S) = min(#left, #right)``."""

    def __init__(self, left: int, right: int, *, cache: bool = False):
        for name, x in (("left", left), ("right", right)):
            if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < 0:
                raise InputError(f"{name} must be an int >= 0; got {x!r}")
        if left + right < 1:
            raise InputError(f"left + right must be >= 1; got {left} + {right}")
        super().__init__(int(left) + int(right), cache=cache)
        self.left, self.right = int(left), int(right)

    def _value(self, c: np.ndarray) -> np.ndarray:
        a = c[:, : self.left].sum(axis=1)
        b = c[:, self.left :].sum(axis=1)
        return np.minimum(a, b).astype(np.float64)

    def _torch_value(self, torch: Any, m: Any) -> Any:
        a = m[:, : self.left].sum(dim=1)
        b = m[:, self.left :].sum(dim=1)
        return torch.minimum(a, b)

    def table(self) -> np.ndarray:
        from fairsim.allocation._shapley_exact import glove_table

        self._check_table()
        return glove_table(self.n_players, (1 << self.left) - 1)  # type: ignore[no-any-return]


class AirportGame(TorchValued, BaseGame):
    """Airport (runway) cost game ``v(S) = max_{i in S} c_i``, ``v(empty) = 0`` (Littlechild & Owen 1973)."""

    def __init__(self, costs: Any, *, cache: bool = False):
        c = _vector(costs, "costs", nonneg=True)
        super().__init__(c.size, cache=cache)
        self.costs = c

    def _value(self, c: np.ndarray) -> np.ndarray:
        return np.where(c, self.costs[None, :], 0.0).max(axis=1)

    def _torch_value(self, torch: Any, m: Any) -> Any:
        costs = self._on(torch, "costs", self.costs, m.device)
        return torch.where(m, costs[None, :], 0.0).amax(dim=1)

    def table(self) -> np.ndarray:
        from fairsim.allocation._shapley_exact import subset_max

        self._check_table()
        return subset_max(self.costs, 0.0)  # type: ignore[no-any-return]


class SumOfUnanimityGames(TorchValued, BaseGame):
    """``v(S) = sum_t a_t 1[T_t subset of S]`` over non-empty carriers (spec §7, SOUG)."""

    def __init__(
        self,
        n: int,
        carriers: Sequence[Sequence[int]],
        coefficients: Any,
        *,
        cache: bool = False,
    ):
        super().__init__(n, cache=cache)
        coefs = _vector(coefficients, "coefficients", min_len=0)
        carriers = [tuple(sorted({int(i) for i in t})) for t in carriers]
        if len(carriers) != coefs.size:
            raise InputError(
                f"carriers and coefficients must have equal length; got {len(carriers)} "
                f"and {coefs.size}"
            )
        mat = np.zeros((len(carriers), self.n_players), dtype=bool)
        for j, t in enumerate(carriers):
            if not t:
                raise InputError(f"carriers[{j}] is empty; a unanimity carrier needs a player")
            if t[0] < 0 or t[-1] >= self.n_players:
                raise InputError(f"carriers[{j}]={t} must hold players in [0, {self.n_players})")
            mat[j, list(t)] = True
        self.carriers, self.coefficients, self._mat = carriers, coefs, mat

    def _value(self, c: np.ndarray) -> np.ndarray:
        size = self._mat.sum(axis=1)
        inside = c.astype(np.int64) @ self._mat.T.astype(np.int64) == size[None, :]
        return np.asarray(inside @ self.coefficients, dtype=np.float64)

    def _torch_value(self, torch: Any, m: Any) -> Any:
        # A carrier is inside S iff none of its players is missing (counts exact in float64).
        mat = self._on(torch, "carriers", self._mat.T, m.device)
        coefs = self._on(torch, "coefficients", self.coefficients, m.device)
        inside = ((~m).to(torch.float64) @ mat) == 0
        return inside.to(torch.float64) @ coefs

    def table(self) -> np.ndarray:
        from fairsim.allocation._shapley_exact import soug_table

        self._check_table()
        return soug_table(  # type: ignore[no-any-return]
            self.n_players, masks_of(self._mat), self.coefficients
        )


class UnanimityGame(SumOfUnanimityGames):
    """``v(S) = 1[T subset of S]`` for a non-empty carrier ``T`` (spec §7)."""

    def __init__(self, n: int, carrier: Sequence[int], *, cache: bool = False):
        if len(list(carrier)) == 0:
            raise InputError("carrier must be non-empty; got an empty carrier")
        super().__init__(n, [list(carrier)], [1.0], cache=cache)
        self.carrier = self.carriers[0]


class BankruptcyGame(TorchValued, BaseGame):
    """O'Neill's bankruptcy game ``v(S) = max(0, E - sum_{j not in S} d_j)`` (O'Neill 1982)."""

    def __init__(self, estate: float, claims: Any, *, cache: bool = False):
        d = _vector(claims, "claims", nonneg=True)
        e = float(estate)
        if not np.isfinite(e) or e < 0:
            raise InputError(f"estate must be finite and >= 0; got {estate!r}")
        super().__init__(d.size, cache=cache)
        self.estate, self.claims = e, d

    def _value(self, c: np.ndarray) -> np.ndarray:
        outside = (~c) @ self.claims
        return np.maximum(0.0, self.estate - outside)

    def _torch_value(self, torch: Any, m: Any) -> Any:
        claims = self._on(torch, "claims", self.claims, m.device)
        return torch.clamp(self.estate - (~m).to(torch.float64) @ claims, min=0.0)

    def table(self) -> np.ndarray:
        from fairsim.allocation._shapley_exact import subset_sums

        self._check_table()
        inside = subset_sums(self.claims)
        return np.maximum(0.0, self.estate - (self.claims.sum() - inside))  # type: ignore[no-any-return]


class SumGame(BaseGame):
    """Pointwise sum ``(v + w)(S) = v(S) + w(S)`` of two games on the same players (§8)."""

    def __init__(self, first: Game, second: Game, *, cache: bool = False):
        if first.n_players != second.n_players:
            raise InputError(
                f"games must have equal n_players; got {first.n_players} and {second.n_players}"
            )
        super().__init__(first.n_players, cache=cache)
        self.first, self.second = first, second

    def _value(self, c: np.ndarray) -> np.ndarray:
        return np.asarray(self.first.value(c)) + np.asarray(self.second.value(c))

    @property
    def torch_value(self) -> Any:
        """``first.torch_value + second.torch_value`` (float64, masks' device); present only
        when both games have ``torch_value`` (``hasattr`` is False otherwise)."""
        f = getattr(self.first, "torch_value", None)
        g = getattr(self.second, "torch_value", None)
        if f is None or g is None:
            raise AttributeError("torch_value needs both summed games to have torch_value")

        def torch_value(masks: Any) -> Any:
            out = f(masks).to(_torch().float64) + g(masks).to(_torch().float64)
            self.evaluations += int(out.shape[0])
            return out

        return torch_value


def __getattr__(name: str) -> Any:
    # ModelUtilityGame lives in its own module (it imports BaseGame from here): loaded on first use.
    if name in ("ModelUtilityGame", "require_torch"):
        from fairsim.mechanisms import _games_model

        return getattr(_games_model, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MAX_TABLE_PLAYERS",
    "AirportGame",
    "BankruptcyGame",
    "BaseGame",
    "Game",
    "GloveGame",
    "ModelUtilityGame",  # noqa: F822 - provided lazily by __getattr__
    "SumGame",
    "SumOfUnanimityGames",
    "TableGame",
    "TorchValued",
    "UnanimityGame",
    "WeightedVotingGame",
    "masks_of",
    "rows_of",
]
