"""Contribution valuation: Shapley value, semivalues, LOO, least core, KNN-Shapley (spec ``valuation.md``).

Public, validated entry points over the kernels in :mod:`fairsim.allocation._shapley_exact` and
the private estimator modules. Every function takes a game following the batched protocol of
:mod:`fairsim.mechanisms.games` and returns a :class:`Valuation`.

The budget counts **game evaluations** (rows passed to ``game.value``), is a hard cap, and work units
that no longer fit are not started (spec §6). With neither ``budget`` nor ``stop`` the cap is
``200 n`` evaluations [fairsim]. Registered as kind ``"mechanism"`` under ``valuation.<name>`` with
``role="estimator"`` in the metadata (``kind`` is taken by the registry).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from fairsim._validation import as_rng
from fairsim.errors import InputError
from fairsim.mechanisms import _valuation_exact as X
from fairsim.mechanisms import _valuation_sampling as SM
from fairsim.mechanisms._valuation_stopping import (
    MaxEvaluations,
    MaxTime,
    RankStability,
    StandardError,
    StoppingRule,
)
from fairsim.registry import register

MAX_EXACT_PLAYERS = 26
BACKENDS = ("auto", "numba", "numpy", "torch")
METHODS = ("exact", "permutation", "antithetic", "tmc", "stratified", "owen", "kernel", "svarm")


class Valuation(NamedTuple):
    """Values, per-player standard errors (0 for exact, NaN where undefined) and evaluations used."""

    values: np.ndarray
    stderr: np.ndarray
    evaluations: int
    counts: np.ndarray | None = None
    converged: bool = False
    info: dict[str, Any] | None = None


def _check_game(game: Any, max_players: int | None = None) -> int:
    n = getattr(game, "n_players", None)
    if not hasattr(game, "value") or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"game must have n_players >= 1 and a value() method; got {game!r}")
    if max_players is not None and n > max_players:
        raise InputError(f"exact computation needs n_players <= {max_players}; got {n}")
    return int(n)


def _budget(budget: Any, stop: Any, n: int) -> tuple[int | None, StoppingRule | None]:
    if stop is not None and not isinstance(stop, StoppingRule):
        raise InputError(f"stop must be a StoppingRule (e.g. MaxEvaluations(1000)); got {stop!r}")
    if budget is not None:
        if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
            raise InputError(f"budget must be an int >= 1 (game evaluations); got {budget!r}")
        budget = int(budget)
    if budget is None and stop is None:
        budget = 200 * n
    caps = _max_evaluation_caps(stop)
    if caps:
        budget = min([budget, *caps]) if budget is not None else min(caps)
    return budget, stop


def _max_evaluation_caps(stop: StoppingRule | None) -> list[int]:
    """MaxEvaluations reachable through ``|`` only are hard caps on the run."""
    from fairsim.mechanisms._valuation_stopping import _And, _Not, _Or

    if stop is None or isinstance(stop, (_And, _Not)):
        return []
    if isinstance(stop, _Or):
        return _max_evaluation_caps(stop.a) + _max_evaluation_caps(stop.b)
    return [stop.n] if isinstance(stop, MaxEvaluations) else []


def _batch(batch_size: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise InputError(f"batch_size must be an int >= 1; got {batch_size!r}")
    if batch_size < 1:
        raise InputError(f"batch_size must be >= 1; got {batch_size}")
    return int(batch_size)


def _run(method: str, game: Any, budget: Any, stop: Any, rng: Any, batch_size: int, **kw: Any):
    n = _check_game(game)
    b, st = _budget(budget, stop, n)
    drv = SM.Driver(game, b, st, _batch(batch_size))
    g = as_rng(rng)
    if method in ("permutation", "antithetic"):
        phi, se, c, info = SM.permutation(drv, g, antithetic=method == "antithetic")
    elif method == "tmc":
        phi, se, c, info = SM.tmc(drv, g, **kw)
    elif method == "stratified":
        phi, se, c, info = SM.stratified(drv, g)
    elif method == "owen":
        phi, se, c, info = SM.owen(drv, g, **kw)
    elif method == "kernel":
        phi, se, c, info = X.kernel_shap(drv, g)
    elif method == "svarm":
        phi, se, c, info = SM.svarm(drv, g)
    elif method == "msr":
        phi, se, c, info = SM.msr_banzhaf(drv, g)
    else:  # pragma: no cover - callers check
        raise InputError(f"unknown method {method!r}")
    info = dict(info, stop_reason=drv.stop_reason, budget=b)
    return Valuation(phi, se, drv.evaluations, np.asarray(c), drv.converged, info)


def _check_backend(backend: Any, device: Any) -> None:
    if backend not in BACKENDS:
        raise InputError(f"backend must be one of {BACKENDS}; got {backend!r}")
    if device is not None and backend not in ("torch", "auto"):
        raise InputError(f"device applies to backend='torch' (or 'auto'); got backend={backend!r}")


def _exact(game: Any, p: np.ndarray, backend: str, device: Any) -> Valuation:
    """Exact semivalue with coefficients ``p`` on the chosen backend (inputs already checked).

    ``"auto"`` is torch when the game has ``torch_value`` and CUDA is present, numba otherwise
    (spec §14); ``"numpy"`` and ``"numba"`` run the numba coefficient pass.
    """
    n = int(game.n_players)
    if backend == "auto" and hasattr(game, "torch_value") and _cuda_present():
        backend = "torch"
    if backend == "torch":
        torch, dev = _torch_device(device)
        vals, ev = X.semivalue_torch(torch, game, p, dev)
        info = {"method": "exact", "backend": "torch", "device": str(dev)}
        return Valuation(vals, np.zeros(n), ev, None, True, info)
    vals, ev = X.semivalue_exact(game, p)
    return Valuation(vals, np.zeros(n), ev, None, True, {"method": "exact"})


def semivalue(
    game: Any, coefficients: Any, backend: str = "auto", *, device: Any = None
) -> Valuation:
    """Exact semivalue ``psi_i = sum_S p_|S| Delta_i(S)`` (Dubey, Neyman & Weber 1981; spec §3).

    ``coefficients`` is ``p_0..p_{n-1}``; one O(n 2^n) coefficient pass (spec §4), numba-parallel,
    or with ``backend="torch"`` the batched GEMM of spec §4 with per-size weights ``p`` on
    ``device`` (default CUDA when present, else CPU). ``backend`` and ``device`` as in
    :func:`shapley`.
    """
    _check_backend(backend, device)
    n = _check_game(game, MAX_EXACT_PLAYERS)
    try:
        p = np.asarray(coefficients, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"coefficients must be {n} finite numbers; got {coefficients!r}") from None
    if p.shape != (n,) or not np.all(np.isfinite(p)):
        raise InputError(f"coefficients must be {n} finite numbers; got shape {p.shape}")
    return _exact(game, p, backend, device)


def _torch_device(device: Any) -> tuple[Any, Any]:
    """Import torch and resolve ``device`` (None: CUDA when present, else CPU); InputError if not."""
    try:
        import torch
    except ImportError:
        raise InputError(
            "backend='torch' needs PyTorch: pip install 'fairsim[torch]' (or use backend='numba')"
        ) from None
    if device is None:
        return torch, torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise InputError(f"device must be 'cpu', 'cuda' or 'cuda:<k>'; got {device!r}") from None
    if dev.type not in ("cpu", "cuda"):
        raise InputError(f"device must be 'cpu', 'cuda' or 'cuda:<k>'; got {device!r}")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device={device!r} but torch sees no CUDA device; use device='cpu'")
    return torch, dev


_NVIDIA_NODES = ("/dev/nvidiactl", "/proc/driver/nvidia/version", "/dev/dxg")


def _cuda_present() -> bool:
    """Whether torch sees a CUDA device, without importing torch (seconds) when it cannot.

    On Linux, torch is imported only if it already is or an NVIDIA driver node exists
    (``/dev/nvidiactl``, ``/proc/driver/nvidia/version``, WSL's ``/dev/dxg``); on macOS never
    [fairsim]. Keeps ``backend="auto"`` cheap for closed-form games on CPU machines.
    """
    import importlib.util
    import os
    import sys

    if "torch" not in sys.modules:
        if sys.platform == "darwin" or importlib.util.find_spec("torch") is None:
            return False
        if sys.platform.startswith("linux") and not any(map(os.path.exists, _NVIDIA_NODES)):
            return False
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


@register(
    "valuation.shapley",
    "mechanism",
    role="estimator",
    claims=("efficiency", "symmetry", "null_player", "additivity"),
)
def shapley(
    game: Any,
    method: str = "exact",
    budget: int | None = None,
    stop: StoppingRule | None = None,
    rng: Any = None,
    backend: str = "auto",
    *,
    batch_size: int = 4096,
    device: Any = None,
    **options: Any,
) -> Valuation:
    """Shapley value ``phi_i = sum_S w_|S| Delta_i(S)``, ``w_s = s!(n-1-s)!/n!`` (Shapley 1953).

    Methods (spec §4, §5): ``"exact"`` (bitmask coefficient pass, ``n <= 26``, ignores the
    budget), ``"permutation"`` (Castro et al. 2009; exactly efficient), ``"antithetic"``
    (permutation and its reverse), ``"tmc"`` (Ghorbani & Zou 2019; options ``rtol``, ``atol``,
    ``burn_in``; biased), ``"stratified"`` (by size, equal allocation; Maleki et al. 2013),
    ``"owen"`` (Gauss-Legendre multilinear extension, option ``nodes``), ``"kernel"``
    (KernelSHAP with paired sampling and the border trick; stderr NaN), ``"svarm"`` (Stratified
    SVARM, Kolpaczki et al. 2024; one evaluation updates every player).

    ``backend`` (exact method): ``"numba"`` (and ``"numpy"``) run the numba coefficient pass;
    ``"torch"`` runs the batched GEMM of spec §4 on ``device`` (default CUDA when present, else
    CPU; values may be float32 on CUDA, sums are float64), evaluating the game with its
    ``torch_value`` on device, its ``table()`` or ``value`` on host chunks; ``"auto"`` picks torch
    only when the game has ``torch_value`` and CUDA is present, numba otherwise. ``device`` applies
    to the torch backend only. The sampling methods ignore ``backend``.
    """
    if method not in METHODS:
        raise InputError(f"method must be one of {METHODS}; got {method!r}")
    _check_backend(backend, device)
    if backend == "torch" and method != "exact":
        raise InputError(f"backend='torch' is only for method='exact'; got method={method!r}")
    if method == "exact":
        n = _check_game(game, MAX_EXACT_PLAYERS)
        return _exact(game, X.shapley_weights(n), backend, device)
    allowed = {"tmc": {"rtol", "atol", "burn_in"}, "owen": {"nodes"}}.get(method, set())
    extra = set(options) - allowed
    if extra:
        raise InputError(
            f"method {method!r} takes no option(s) {sorted(extra)}; allowed {sorted(allowed)}"
        )
    return _run(method, game, budget, stop, rng, batch_size, **options)


def shapley_tables(tables: Any, backend: str = "auto", device: Any = None) -> np.ndarray:
    """Exact Shapley values of ``G`` games given as tables ``(G, 2^n)`` in bitmask order (spec §1).

    Returns ``(G, n)`` (``(n,)`` for a single 1-D table). ``backend="torch"`` shares one GEMM per
    chunk across the ``G`` games (spec §4 "Batched GEMM"); ``"numba"`` runs the coefficient pass
    per game; ``"auto"`` picks torch when torch is installed and CUDA is present, numba otherwise
    (it imports torch to find out). ``device`` as in :func:`shapley` [fairsim helper].
    """
    _check_backend(backend, device)
    try:
        V = np.asarray(tables, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("tables must be a (G, 2^n) array of numbers") from None
    single = V.ndim == 1
    V = V[None, :] if single else V
    size = V.shape[-1] if V.ndim == 2 else 0
    n = size.bit_length() - 1
    if V.ndim != 2 or V.shape[0] < 1 or size < 2 or size != 1 << n or n > MAX_EXACT_PLAYERS:
        raise InputError(
            f"tables must have shape (G, 2^n) with G >= 1 and 1 <= n <= {MAX_EXACT_PLAYERS}; "
            f"got {np.shape(tables)}"
        )
    if not np.all(np.isfinite(V)):
        g, t = np.argwhere(~np.isfinite(V))[0]
        raise InputError(f"tables[{g}, {t}]={V[g, t]} must be finite")
    if backend == "auto":
        backend = "torch" if _cuda_present() else "numba"
    w = X.shapley_weights(n)
    if backend == "torch":
        from fairsim.allocation._shapley_torch import semivalue_tables

        torch, dev = _torch_device(device)
        out = semivalue_tables(torch, np.ascontiguousarray(V), n, w, dev)
    else:
        from fairsim.allocation._shapley_exact import semivalue_chunk

        p_in = np.concatenate([[0.0], w])
        p_out = np.concatenate([w, [0.0]])
        out = np.stack([semivalue_chunk(np.ascontiguousarray(v), 0, n, p_in, p_out) for v in V])
    return out[0] if single else out


@register(
    "valuation.banzhaf",
    "mechanism",
    role="estimator",
    claims=("symmetry", "null_player", "additivity"),
)
def banzhaf(
    game: Any,
    method: str = "exact",
    budget: int | None = None,
    stop: StoppingRule | None = None,
    rng: Any = None,
    backend: str = "auto",
    *,
    batch_size: int = 4096,
    device: Any = None,
) -> Valuation:
    """Banzhaf value ``beta_i = 2^-(n-1) sum_S Delta_i(S)`` (Banzhaf 1965); ``"msr"`` is Wang & Jia 2023.

    ``"exact"`` is the semivalue with ``p_s = 2^-(n-1)`` (spec §3), on ``backend`` and ``device``
    as in :func:`shapley` (``"torch"``: batched GEMM, on device with the game's ``torch_value``).
    ``"msr"`` ignores ``backend``.
    """
    if method not in ("exact", "msr"):
        raise InputError(f"method must be 'exact' or 'msr'; got {method!r}")
    _check_backend(backend, device)
    if backend == "torch" and method != "exact":
        raise InputError(f"backend='torch' is only for method='exact'; got method={method!r}")
    n = _check_game(game)
    if method == "exact":
        _check_game(game, MAX_EXACT_PLAYERS)
        return _exact(game, np.full(n, 2.0 ** (1 - n)), backend, device)
    return _run("msr", game, budget, stop, rng, batch_size)


@register(
    "valuation.beta_shapley", "mechanism", role="estimator", claims=("symmetry", "null_player")
)
def beta_shapley(
    game: Any,
    alpha: float = 16.0,
    beta: float = 1.0,
    backend: str = "auto",
    *,
    device: Any = None,
) -> Valuation:
    """Exact Beta(alpha, beta) Shapley (Kwon & Zou 2022, arXiv 2110.14049); (16, 1) default [fairsim].

    ``backend`` and ``device`` as in :func:`shapley`.
    """
    if not (alpha > 0 and beta > 0 and np.isfinite(alpha) and np.isfinite(beta)):
        raise InputError(f"alpha and beta must be finite and > 0; got {alpha}, {beta}")
    _check_backend(backend, device)
    n = _check_game(game, MAX_EXACT_PLAYERS)
    return _exact(game, X.beta_weights(n, alpha, beta), backend, device)


@register("valuation.leave_one_out", "mechanism", role="estimator")
def leave_one_out(game: Any) -> Valuation:
    """``LOO_i = v(N) - v(N - i)`` (spec §3), n + 1 evaluations."""
    n = _check_game(game)
    rows = np.concatenate([np.ones((1, n), bool), ~np.eye(n, dtype=bool)])
    v = np.asarray(game.value(rows), dtype=np.float64)
    return Valuation(v[0] - v[1:], np.zeros(n), n + 1, None, True, {"method": "loo"})


@register("valuation.least_core", "mechanism", role="estimator")
def least_core(
    game: Any,
    method: str = "exact",
    n_constraints: int | None = None,
    rng: Any = None,
    *,
    egalitarian: bool = True,
) -> Valuation:
    """Egalitarian least core (spec §3; Maschler, Peleg & Shapley 1979; Yan & Procaccia 2021).

    Stage 1 (HiGHS, ``scipy.optimize.linprog``): ``e* = min e`` s.t. ``x(S) + e >= v(S)`` for every
    ``S`` other than the empty and grand coalitions, and ``x(N) = v(N)``. ``info["subsidy"] = e*``
    (``<= 0`` iff the core is non-empty). Stage 2 (cvxpy + Clarabel, optional): the point of
    minimum ``||x||_2^2`` under the same constraints with ``e = e* + 1e-9``; then
    ``info["egalitarian"] = True``. Without cvxpy (or with ``egalitarian=False``, or if the solver
    fails) the stage-1 LP vertex is returned with ``info["egalitarian"] = False`` and the reason in
    ``info["stage2"]``. ``"exact"`` uses all ``2^n - 2`` coalitions (``n <= 20``; stage 2 took
    about 6 s at n = 16 and 26 s at n = 18 on a 2-core VM); ``"montecarlo"`` uses
    ``n_constraints`` random coalitions. The interior-point answer is polished on its active set
    (an exact least-squares solve, kept only if feasible and no longer) [fairsim].
    """
    if method not in ("exact", "montecarlo"):
        raise InputError(f"method must be 'exact' or 'montecarlo'; got {method!r}")
    if not isinstance(egalitarian, (bool, np.bool_)):
        raise InputError(f"egalitarian must be a bool; got {egalitarian!r}")
    n = _check_game(game, 20 if method == "exact" else None)
    coal = None
    if method == "montecarlo":
        if not isinstance(n_constraints, (int, np.integer)) or n_constraints < 1:
            raise InputError(f"n_constraints must be an int >= 1; got {n_constraints!r}")
        S = as_rng(rng).random((int(n_constraints), n)) < 0.5
        keep = S.any(axis=1) & ~S.all(axis=1)
        coal = S[keep]
    lp = X.least_core_lp(game, coal)
    x, status = (None, "not requested")
    if egalitarian:
        x, status = X.least_core_egalitarian(lp)
    info = {"subsidy": lp.e, "egalitarian": x is not None, "stage2": status}
    return Valuation(lp.x if x is None else x, np.zeros(n), lp.evaluations, None, True, info)


@register("valuation.knn_shapley", "mechanism", role="estimator")
def knn_shapley(x_train: Any, y_train: Any, x_val: Any, y_val: Any, k: int) -> Valuation:
    """Exact KNN-Shapley (Jia et al. 2019, PVLDB, arXiv 1908.08619), averaged over validation points.

    Ties in distance break by training index (stable sort); ``evaluations = 0``.
    """
    xt = np.asarray(x_train, dtype=np.float64)
    xv = np.asarray(x_val, dtype=np.float64)
    yt, yv = np.asarray(y_train), np.asarray(y_val)
    if xt.ndim == 1:
        xt = xt[:, None]
    if xv.ndim == 1:
        xv = xv[:, None]
    if xt.ndim != 2 or xt.shape[0] < 1 or yt.shape != (xt.shape[0],):
        raise InputError(f"x_train (N, d) and y_train (N,) must match; got {xt.shape}, {yt.shape}")
    if xv.ndim != 2 or xv.shape[1] != xt.shape[1] or yv.shape != (xv.shape[0],) or xv.shape[0] < 1:
        raise InputError(
            f"x_val (M, {xt.shape[1]}) and y_val (M,) must match; got {xv.shape}, {yv.shape}"
        )
    if not (np.all(np.isfinite(xt)) and np.all(np.isfinite(xv))):
        raise InputError("x_train and x_val must be finite (no NaN or inf)")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"k must be an int >= 1; got {k!r}")
    vals = X.knn_shapley_values(xt, yt, xv, yv, int(k))
    return Valuation(vals, np.zeros(xt.shape[0]), 0, None, True, {"method": "knn"})


@register("valuation.joint_shapley", "mechanism", role="estimator")
def joint_shapley(game: Any, order: int) -> dict[tuple[int, ...], float]:
    """Exact joint Shapley values (Harris, Pymar & Rowat 2022, arXiv 2107.11357), spec §3.

    ``phi^J_T = sum_{S subset N-T} q(|S|) [v(S + T) - v(S)]`` for every ``1 <= |T| <= order``;
    ``order = 1`` is the Shapley value and the values sum to ``v(N) - v(empty)``. Exact only,
    ``n <= 16``. Keys are sorted player tuples.
    """
    from fairsim.mechanisms.games import rows_of

    n = _check_game(game, 16)
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or not 1 <= order <= n:
        raise InputError(f"order must be an int in [1, {n}]; got {order!r}")
    if hasattr(game, "table"):
        table = np.asarray(game.table(), dtype=np.float64)
    else:
        table = np.asarray(game.value(rows_of(np.arange(1 << n), n)), dtype=np.float64)
    return X.joint_shapley_table(table, n, int(order))


def shapley_closed_form(game: Any, exact: bool = False) -> Any:
    """Closed-form Shapley value of a closed-form game (spec §7).

    Glove and airport (Littlechild & Owen 1973) formulas, SOUG/unanimity dividends, and the
    size-weight counting DP for weighted voting and bankruptcy games with integer weights/claims.
    With ``exact=True`` returns a list of ``Fraction`` (inputs converted exactly from floats).
    Raises ``InputError`` for other games.
    """
    from fairsim.mechanisms._valuation_closed import closed_form

    out = closed_form(game)
    if out is None:
        raise InputError(
            f"no closed form for {type(game).__name__}; supported: GloveGame, AirportGame, "
            "UnanimityGame, SumOfUnanimityGames, WeightedVotingGame and BankruptcyGame "
            "(integer weights/claims)"
        )
    return out if exact else np.array([float(f) for f in out])


__all__ = [
    "BACKENDS",
    "MAX_EXACT_PLAYERS",
    "METHODS",
    "MaxEvaluations",
    "MaxTime",
    "RankStability",
    "StandardError",
    "StoppingRule",
    "Valuation",
    "banzhaf",
    "beta_shapley",
    "joint_shapley",
    "knn_shapley",
    "least_core",
    "leave_one_out",
    "semivalue",
    "shapley",
    "shapley_closed_form",
    "shapley_tables",
]
