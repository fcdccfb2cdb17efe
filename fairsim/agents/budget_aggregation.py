"""Divisible-budget voters: profile generators and reporting behaviours (spec ``facility.md`` §6).

A profile is an ``(n, m)`` float array whose rows lie on the simplex (each voter's preferred
division of a divisible budget over m projects). Generators [F names and parameters]:

* ``dirichlet``: p_i ~ Dirichlet(α, ..., α) i.i.d. (α < 1: near-vertex voters; α > 1: balanced).
* ``single_minded``: p_i = e_j with j uniform over the m projects (the profiles on which
  Freeman et al.'s proportionality, Def. 4, bites).
* ``clustered``: ``parties`` party platforms c_k ~ Dirichlet(1); each voter joins a party
  uniformly and reports (1 - noise) c_k + noise q_i with q_i ~ Dirichlet(1) [F].
* :func:`profile_from_approvals`: a real ``.pb`` approval election read as a divisible profile:
  each voter splits the budget uniformly over the projects it approves; empty ballots are
  dropped [F] (a modelling choice, not a Pabulib convention).

Behaviours (registered ``budget_aggregation.truthful`` and ``budget_aggregation.best_response``)
have the signature ``f(P, idx, mechanism, R, rng, **params) -> R``: ``P`` the true profile,
``idx`` the voters following the behaviour, ``mechanism`` the rule (profile -> allocation), ``R``
the current reports. ``best_response`` voters, in index order, each replace their report by the
best one :func:`fairsim.axioms.budget_aggregation.best_misreport` finds against the others'
current reports, for ``rounds`` Gauss–Seidel sweeps [F].
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fairsim.axioms.budget_aggregation import Mechanism, accepts_batches, best_misreport
from fairsim.errors import InputError
from fairsim.registry import register

GENERATORS = ("dirichlet", "single_minded", "clustered")


def draw_profile(
    generator: str,
    n: int,
    m: int,
    rng: np.random.Generator,
    *,
    alpha: float = 1.0,
    parties: int = 3,
    noise: float = 0.2,
) -> np.ndarray:
    """An ``(n, m)`` profile from ``generator`` (see the module docstring)."""
    if generator not in GENERATORS:
        raise InputError(f"generator must be one of {GENERATORS}; got {generator!r}")
    if n < 1 or m < 1:
        raise InputError(f"n and m must be >= 1; got n={n}, m={m}")
    if not alpha > 0:
        raise InputError(f"alpha must be > 0; got {alpha!r}")
    if parties < 1 or not 0.0 <= noise <= 1.0:
        raise InputError(f"need parties >= 1 and noise in [0, 1]; got {parties}, {noise}")
    if generator == "dirichlet":
        P = rng.dirichlet(np.full(m, float(alpha)), size=n)
    elif generator == "single_minded":
        P = np.eye(m)[rng.integers(0, m, size=n)]
    else:
        centres = rng.dirichlet(np.ones(m), size=parties)
        member = rng.integers(0, parties, size=n)
        P = (1.0 - noise) * centres[member] + noise * rng.dirichlet(np.ones(m), size=n)
    return np.asarray(P / P.sum(axis=1, keepdims=True), dtype=np.float64)


def profile_from_approvals(approvals: Any) -> np.ndarray:
    """Uniform split of each non-empty approval ballot over its approved projects [F]."""
    A = np.asarray(approvals.toarray() if hasattr(approvals, "toarray") else approvals)
    if A.ndim != 2 or A.shape[1] < 1:
        raise InputError(f"approvals must be a 2-D (n, m) 0/1 matrix; got shape {A.shape}")
    A = A.astype(np.float64)
    k = A.sum(axis=1)
    A = A[k > 0]
    if A.shape[0] == 0:
        raise InputError("approvals has no non-empty ballot")
    return A / A.sum(axis=1, keepdims=True)


@register("budget_aggregation.truthful", "behaviour", params={})
def truthful(
    P: np.ndarray, idx: np.ndarray, mechanism: Mechanism, R: np.ndarray, rng: Any
) -> np.ndarray:
    """Report the true division: the voters ``idx`` get ``P[idx]``."""
    out = R.copy()
    out[idx] = P[idx]
    return out


@register(
    "budget_aggregation.best_response",
    "behaviour",
    params={
        "rounds": {"type": "int", "default": 1, "doc": "Gauss-Seidel sweeps"},
        "random": {"type": "int", "default": 4, "doc": "random candidate reports per voter"},
        "passes": {"type": "int", "default": 2, "doc": "coordinate-search passes per voter"},
    },
)
def best_response(
    P: np.ndarray,
    idx: np.ndarray,
    mechanism: Mechanism,
    R: np.ndarray,
    rng: np.random.Generator,
    rounds: int = 1,
    random: int = 4,
    passes: int = 2,
) -> np.ndarray:
    """Each voter of ``idx`` in turn best-responds to the current reports (module doc) [F]."""
    for name, v in (("rounds", rounds), ("random", random), ("passes", passes)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise InputError(f"{name} must be an int >= 0; got {v!r}")
    out = R.copy()
    batched = accepts_batches(mechanism, out)
    for _ in range(int(rounds)):
        for i in idx:
            out[i], _d = best_misreport(
                mechanism,
                out,
                int(i),
                P[i],
                rng,
                random=int(random),
                passes=int(passes),
                batched=batched,
            )
    return out


__all__ = [
    "GENERATORS",
    "best_response",
    "draw_profile",
    "profile_from_approvals",
    "truthful",
]
