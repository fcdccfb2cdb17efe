"""Federated-learning contribution estimators and incentive mechanisms (spec ``federated.md`` §4).

Every factory returns a mechanism object with ``name``, ``personal``, ``select(t, available,
rng)``, ``step(record) -> StepResult``, ``contributions`` (n,), ``evaluations`` and ``removed``
(fedapi §A). Mechanisms consume :class:`RoundRecord` s of flattened torch updates and never import
Mesa or :mod:`fairsim.sim`, so they can be driven with synthetic updates. torch is imported
lazily; a factory that needs it raises :class:`InputError` naming ``pip install 'fairsim[torch]'``.

Registered as kind ``"mechanism"`` under ``federated.<name>`` with ``personal`` and ``role``
(``"incentive"`` or ``"baseline"``) in the metadata; :func:`make` builds any of them by name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from fairsim._validation import as_rng
from fairsim.errors import InputError
from fairsim.mechanisms._federated_base import (
    FederatedMechanism,
    RoundRecord,
    StepResult,
    require_torch,
)
from fairsim.mechanisms._federated_baselines import FedAvg, ORExact, SizeShare
from fairsim.mechanisms._federated_fae import FAE
from fairsim.mechanisms._federated_fedce import FedCE
from fairsim.mechanisms._federated_gtg import GTGShapley, LOORound, MRExact
from fairsim.mechanisms._federated_rffl import RFFL
from fairsim.registry import register

Utility = Callable[[Any], Any]


def _int(name: str, value: Any, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
        raise InputError(f"{name} must be an int >= {lo}; got {value!r}")
    return int(value)


def _real(name: str, value: Any, lo: float, hi: float, *, lo_open: bool = False) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number in [{lo}, {hi}]; got {value!r}") from None
    bad = not np.isfinite(x) or x > hi or (x <= lo if lo_open else x < lo)
    if bad:
        left = "(" if lo_open else "["
        raise InputError(f"{name} must be in {left}{lo}, {hi}]; got {value!r}")
    return x


def _choice(name: str, value: Any, options: tuple[str, ...]) -> str:
    if value not in options:
        raise InputError(f"{name} must be one of {options}; got {value!r}")
    return str(value)


def _sizes(sizes: Any, n: int) -> np.ndarray:
    try:
        s = np.asarray(sizes, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"sizes must be {n} non-negative numbers; got {sizes!r}") from None
    if s.shape != (n,) or not np.all(np.isfinite(s)) or np.any(s < 0):
        raise InputError(f"sizes must be {n} finite non-negative numbers; got {sizes!r}")
    return s


def _utility(utility: Any) -> Utility | None:
    if utility is not None and not callable(utility):
        raise InputError(f"utility must be a callable (b, P) -> (b,) or None; got {utility!r}")
    return utility  # type: ignore[no-any-return]


@register(
    "federated.gtg_shapley",
    "mechanism",
    randomized=True,
    personal=False,
    role="incentive",
    params={
        "round_trunc": 0.01,
        "within_trunc": 0.001,
        "min_perms": None,
        "conv_window": 10,
        "conv_tol": 0.05,
        "max_perms": 500,
        "max_evaluations": None,
    },
)
def gtg_shapley(
    utility: Utility | None = None,
    *,
    round_trunc: float = 0.01,
    within_trunc: float = 0.001,
    min_perms: int | None = None,
    conv_window: int = 10,
    conv_tol: float = 0.05,
    max_perms: int = 500,
    rng: Any = None,
    n_clients: int = 0,
    max_evaluations: int | None = None,
) -> GTGShapley:
    """GTG-Shapley per-round contribution (Liu et al., ACM TIST 2022, arXiv 2109.02053; §4.1).

    Coalition models θ_S = θ^{t-1} + Σ_{i∈S}(ñ_i/ñ_S)Δ_i valued by ``utility`` (else
    ``record.utility``); between-round truncation at ``round_trunc``, within-round truncation at
    ``within_trunc``, guided permutations run in blocks of |P| level by level (one utility call per
    level; convergence checked at block ends on per-permutation running means [F]), at least
    ``min_perms`` (default max(30, |P|)) and at most ``max_perms`` permutations; with
    ``max_evaluations`` no new block starts once a round has used that many evaluations (the
    per-round evaluation budget [F]). ``contributions``
    is Φ/ΣΦ, or raw Φ with ``unnormalised`` set when ΣΦ ≤ 0 [F].
    """
    require_torch("gtg_shapley")
    return GTGShapley(
        _int("n_clients", n_clients, 0),
        _utility(utility),
        _real("round_trunc", round_trunc, 0.0, np.inf),
        _real("within_trunc", within_trunc, 0.0, np.inf),
        None if min_perms is None else _int("min_perms", min_perms, 1),
        _int("conv_window", conv_window, 1),
        _real("conv_tol", conv_tol, 0.0, np.inf),
        _int("max_perms", max_perms, 1),
        as_rng(rng),
        None if max_evaluations is None else _int("max_evaluations", max_evaluations, 2),
    )


@register(
    "federated.rffl",
    "mechanism",
    personal=True,
    role="incentive",
    params={
        "alpha": 0.95,
        "clip_norm": 0.5,
        "threshold": 1 / 3,
        "removal_start": 10,
        "own_update": "keep",
    },
)
def rffl_reputation(
    n_clients: int,
    sizes: Any,
    *,
    alpha: float = 0.95,
    clip_norm: float = 0.5,
    threshold: float = 1 / 3,
    removal_start: int = 10,
    own_update: str = "keep",
) -> RFFL:
    """RFFL reputation mechanism (Xu & Lyu, FL-ICML 2021; spec §4.2).

    Clip updates to ``clip_norm``, aggregate with size weights in the first round and reputations
    afterwards (renormalised over the participants [F]), score ψ_i = cos(Δ_i, Δ_g), update
    r ← α r + (1−α) ψ (non-participants keep theirs [F]), normalise, remove clients below
    ``threshold``/|R| from round ``removal_start``, and reward each participant with the per-layer
    top-⌈q_i·|layer|⌉ entries of Δ_g, q_i = r_i/max r. ``downloads`` is what each participant adds
    to its own model; ``own_update="cffl"`` replaces its own entries inside the mask.
    """
    require_torch("rffl_reputation")
    n = _int("n_clients", n_clients, 1)
    return RFFL(
        n,
        _sizes(sizes, n),
        _real("alpha", alpha, 0.0, 1.0),
        _real("clip_norm", clip_norm, 0.0, np.inf, lo_open=True),
        _real("threshold", threshold, 0.0, 1.0),
        _int("removal_start", removal_start, 0),
        _choice("own_update", own_update, ("keep", "cffl")),
    )


@register(
    "federated.fedce",
    "mechanism",
    personal=False,
    role="incentive",
    params={"mode": "times", "clip_min": 1e-3},
)
def fedce(n_clients: int, *, mode: str = "times", clip_min: float = 1e-3) -> FedCE:
    """FedCE contribution coefficients (Jiang et al., CVPR 2023, arXiv 2303.16520; spec §4.3).

    Gradient-space score a_k = 1 − mean cos(Δ_k, g_{−k}) and data-space score
    b_k = 1 − mean m_k (m_k: ``record.local_utility`` of the minus model, m_k^0 = 0 included),
    each normalised and clipped at ``clip_min``; combined by ``mode`` ("times" or "plus"). The c^t
    are the aggregation weights; ``contributions`` is their mean over rounds [F].
    """
    require_torch("fedce")
    n = _int("n_clients", n_clients, 1)
    return FedCE(
        n,
        _choice("mode", mode, ("times", "plus")),
        _real("clip_min", clip_min, 0.0, 1.0 / n),
    )


@register(
    "federated.fae",
    "mechanism",
    randomized=True,
    personal=False,
    role="incentive",
    params={
        "beta": None,
        "alpha": 0.05,
        "window": 10,
        "dim": None,
        "select_frac": 0.5,
        "dv_method": "cos_grad",
    },
)
def fae(
    n_clients: int,
    *,
    beta: float | None = None,
    alpha: float = 0.05,
    window: int = 10,
    dim: int | None = None,
    select_frac: float = 0.5,
    dv_method: str = "cos_grad",
    rng: Any = None,
    total_rounds: int | None = None,
) -> FAE:
    """Fair yet asymptotically equal collaborative learning (Lin et al., ICML 2023; spec §4.4).

    Explore with per-round values (``dv_method``: "cos_grad", "loo", "mr" = Monte Carlo Shapley
    with 5N random permutations of the coalition-model game u(θ_S) on ``record.utility``, every
    distinct coalition evaluated once, scaled by 0.98^{t+1} [F reading of the authors' code];
    ablations "random" and "reverse" = softmax of −ψ) and a running mean ψ; stop when the Hotelling test on the last
    ``window`` rounds of ``dim`` random clients (default min(5, N−1, window−1)) has p > ``alpha`` (from 2·window explore rounds)
    or at ``total_rounds``/2. Exploit: ⌊select_frac·N⌋ clients drawn without replacement with
    p = softmax(β ψ) + 1e-30, β = 2N by default [F].
    """
    require_torch("fae")
    n = _int("n_clients", n_clients, 2)
    w = _int("window", window, 2)
    d = min(5, n - 1, w - 1) if dim is None else _int("dim", dim, 1)
    if d >= w or d > n:
        raise InputError(f"dim must be < window={w} and <= n_clients={n}; got {d}")
    return FAE(
        n,
        2.0 * n if beta is None else _real("beta", beta, -np.inf, np.inf),
        _real("alpha", alpha, 0.0, 1.0),
        w,
        d,
        _real("select_frac", select_frac, 0.0, 1.0, lo_open=True),
        _choice("dv_method", dv_method, ("cos_grad", "loo", "mr", "random", "reverse")),
        as_rng(rng),
        None if total_rounds is None else _int("total_rounds", total_rounds, 1),
    )


@register("federated.fedavg", "mechanism", personal=False, role="baseline")
def fedavg(n_clients: int) -> FedAvg:
    """FedAvg (McMahan et al. 2017); contribution = summed per-round size shares [F]."""
    return FedAvg(_int("n_clients", n_clients, 1))


@register("federated.size_share", "mechanism", personal=False, role="baseline")
def size_share(n_clients: int, sizes: Any = None) -> SizeShare:
    """FedAvg aggregation with reward ∝ claimed size ñ_i/Σñ (spec §4.6) [F]."""
    n = _int("n_clients", n_clients, 1)
    return SizeShare(n, np.zeros(n) if sizes is None else _sizes(sizes, n))


@register(
    "federated.mr_exact",
    "mechanism",
    personal=False,
    role="baseline",
    params={"max_players": 10, "round_weight": 1.0},
)
def mr_exact(
    n_clients: int,
    utility: Utility | None = None,
    max_players: int = 10,
    round_weight: float = 1.0,
) -> MRExact:
    """Multi-round reconstruction (MR-exact, spec §4.6; Song, Tong & Wei, IEEE BigData 2019):
    Σ_t λ_t φ_i^t with φ^t the exact Shapley value of the round-t coalition-model game
    U_t(S) = u(θ^{t-1} + Σ_{i∈S}(ñ_i/ñ_S)Δ_i) (all 2^|P| models, |P| ≤ ``max_players``) and
    λ_t = ``round_weight``^t (0-based t; default 1, the paper's λ_t being unverified) [F]. GTG's
    oracle. ``contributions`` is the raw sum Σ_t λ_t φ^t (not normalised).
    """
    require_torch("mr_exact")
    return MRExact(
        _int("n_clients", n_clients, 1),
        _utility(utility),
        _int("max_players", max_players, 1),
        _real("round_weight", round_weight, 0.0, 1.0),
    )


@register(
    "federated.or_exact", "mechanism", personal=False, role="baseline", params={"max_players": 10}
)
def or_exact(n_clients: int, utility: Utility | None = None, max_players: int = 10) -> ORExact:
    """One-round reconstruction (OR, Song, Tong & Wei, IEEE BigData 2019; spec §4.6).

    θ_S = θ^0 + Σ_t Σ_{i∈S∩P_t}(ñ_i/ñ_{S∩P_t})Δ_i^t rebuilt for every S ⊆ N from the recorded
    updates (K = ``n_clients`` ≤ ``max_players``), contribution = exact Shapley value of
    S ↦ u(θ_S). Values are recomputed after every round (2^K evaluations a round, so the
    per-round history has them) [F]; an observer (FedAvg aggregation).
    """
    require_torch("or_exact")
    n = _int("n_clients", n_clients, 1)
    cap = _int("max_players", max_players, 1)
    if n > cap:
        raise InputError(f"or_exact rebuilds 2^K models: n_clients={n} exceeds max_players={cap}")
    return ORExact(n, _utility(utility), cap)


@register("federated.loo", "mechanism", personal=False, role="baseline")
def loo_round(n_clients: int, utility: Utility | None = None) -> LOORound:
    """Per-round leave-one-out U(P) − U(P∖i) of coalition models, summed (spec §4.6) [F]."""
    require_torch("loo_round")
    return LOORound(_int("n_clients", n_clients, 1), _utility(utility))


NAMES = (
    "gtg_shapley",
    "rffl",
    "fedce",
    "fae",
    "fedavg",
    "size_share",
    "mr_exact",
    "or_exact",
    "loo",
)


def make(
    name: str,
    n_clients: int,
    sizes: Any,
    rounds: int,
    rng: np.random.Generator,
    **params: Any,
) -> FederatedMechanism:
    """Build any federated mechanism by registry name (the simulator's single entry point).

    ``sizes`` are the claimed sizes (RFFL's first-round weights, size_share's reward), ``rounds``
    the horizon T (FAE's forced end of exploration at T/2), ``rng`` the estimator stream.
    """
    if name.startswith("federated."):
        name = name.split(".", 1)[1]
    n = _int("n_clients", n_clients, 1)
    builders: dict[str, Callable[[], FederatedMechanism]] = {
        "gtg_shapley": lambda: gtg_shapley(rng=rng, n_clients=n, **params),
        "rffl": lambda: rffl_reputation(n, sizes, **params),
        "fedce": lambda: fedce(n, **params),
        "fae": lambda: fae(n, **{"rng": rng, "total_rounds": rounds, **params}),
        "fedavg": lambda: fedavg(n, **params),
        "size_share": lambda: size_share(n, sizes, **params),
        "mr_exact": lambda: mr_exact(n, **params),
        "or_exact": lambda: or_exact(n, **params),
        "loo": lambda: loo_round(n, **params),
    }
    if name not in builders:
        raise InputError(f"unknown federated mechanism {name!r}; available: {', '.join(NAMES)}")
    try:
        return builders[name]()
    except TypeError as exc:
        raise InputError(f"bad parameters for federated.{name}: {exc}") from None


__all__ = [
    "NAMES",
    "FederatedMechanism",
    "RoundRecord",
    "StepResult",
    "fae",
    "fedavg",
    "fedce",
    "gtg_shapley",
    "loo_round",
    "make",
    "mr_exact",
    "or_exact",
    "rffl_reputation",
    "size_share",
]
