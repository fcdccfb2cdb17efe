"""Facility location on a line: the public mechanisms (spec ``shared/spec/facility.md`` §1, §4, §5).

Deterministic: :func:`uniform_phantom`, :func:`phantom_median`, :func:`median`, :func:`average`,
:func:`midpoint`, :func:`leftmost`, :func:`rightmost`, :func:`order_statistic`, :func:`constant`,
:func:`dictatorship`, :func:`constrained_median`, :func:`best_ifs_phantom`, :func:`avg_up_mix`.
Randomized (``f(x, rng)``): :func:`random_rank`, :func:`random_dictatorship`, :func:`lrm`.
Distributions: :func:`lottery`.

Conventions (spec §1): ``x`` of shape ``(n,)`` gives a float, ``(B, n)`` a ``(B,)`` array;
locations in [0, 1] unless ``interval=(a, b)``; Fraction input runs in exact mode; invalid input
raises :class:`fairsim.errors.InputError` (a ``ValueError``).

Every mechanism is registered as kind ``"mechanism"`` under ``facility.<name>`` with its claimed and
violated axioms (spec §4.3 table, §5), and extras: ``monotone`` (weakly increasing in every report),
``anonymous``, ``phantoms`` (n -> phantom vector in [0, 1] units, the critical points of the
strategyproofness search) and ``params``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fairsim.mechanisms._facility_basic import (
    average,
    avg_up_mix,
    best_ifs_phantom,
    constant,
    constrained_median,
    dictatorship,
    leftmost,
    median,
    midpoint,
    order_statistic,
    rightmost,
)
from fairsim.mechanisms._facility_phantom import (
    best_ifs_phantoms,
    constrained_median_phantoms,
    phantom_median,
    uniform_phantom,
    up_phantoms,
)
from fairsim.mechanisms._facility_random import (
    lottery,
    lrm,
    lrm_support,
    random_dictatorship,
    random_rank,
    uniform_support,
)
from fairsim.registry import register

_SP = "strategyproofness"
_FAIR = ("ifs", "ufs", "proportionality", "pf")
_ALL_FAIR_FAIL = (*_FAIR, "strong_proportionality")
_INTERVAL = {"interval": {"type": "pair", "default": [0.0, 1.0], "doc": "domain [a, b], §2.3"}}
_BACKEND = {"backend": {"type": "str", "choices": ["auto", "numpy", "numba", "torch"]}}


def _up_all(n: int):
    """UP in its n + 1 phantom form {0, 1/n, ..., 1} (same outcome, spec §4.2)."""
    import numpy as np

    return np.arange(n + 1, dtype=np.float64) / n


_TABLE: list[tuple[str, Callable[..., Any], dict[str, Any]]] = [
    (
        "uniform_phantom",
        uniform_phantom,
        dict(
            claims=(_SP, "anonymity", "unanimity", "pareto", *_FAIR),
            violates=("strong_proportionality",),
            phantoms=_up_all,
            params={**_INTERVAL, **_BACKEND},
        ),
    ),
    (
        "phantom_median",
        phantom_median,
        dict(
            claims=(_SP, "anonymity"),
            violates=(),
            params={
                "phantoms": {"type": "array", "required": True, "doc": "(q,) or (B, q); n+q odd"},
                **_INTERVAL,
                **_BACKEND,
            },
        ),
    ),
    (
        "median",
        median,
        dict(
            claims=(_SP, "anonymity", "unanimity", "pareto"),
            violates=_ALL_FAIR_FAIL,
            params={"side": {"type": "str", "choices": ["left", "right"], "default": "left"}},
        ),
    ),
    (
        "average",
        average,
        dict(
            claims=("anonymity", "unanimity", "pareto", *_FAIR, "strong_proportionality"),
            violates=(_SP,),
            strictly_monotone=True,
            continuous=True,
        ),
    ),
    (
        "midpoint",
        midpoint,
        dict(
            claims=("anonymity", "unanimity", "pareto", "ifs"),
            violates=(_SP, "ufs", "proportionality", "pf", "strong_proportionality"),
        ),
    ),
    (
        "leftmost",
        leftmost,
        dict(claims=(_SP, "anonymity", "unanimity", "pareto"), violates=_ALL_FAIR_FAIL),
    ),
    (
        "rightmost",
        rightmost,
        dict(claims=(_SP, "anonymity", "unanimity", "pareto"), violates=_ALL_FAIR_FAIL),
    ),
    (
        "order_statistic",
        order_statistic,
        dict(
            claims=(_SP, "anonymity", "unanimity", "pareto"),
            violates=_ALL_FAIR_FAIL,
            params={"k": {"type": "int", "required": True, "range": "1..n", "doc": "1-based"}},
        ),
    ),
    (
        "constant",
        constant,
        dict(
            claims=(_SP, "anonymity"),
            violates=(
                "unanimity",
                "pareto",
                "ufs",
                "proportionality",
                "pf",
                "strong_proportionality",
            ),
            conditional={"ifs": "holds iff c in [1/n, 1 - 1/n]"},
            params={"c": {"type": "float", "required": True, "range": "[a, b]"}},
        ),
    ),
    (
        "dictatorship",
        dictatorship,
        dict(
            claims=(_SP, "unanimity", "pareto"),
            violates=("anonymity", *_ALL_FAIR_FAIL),
            anonymous=False,
            params={"i": {"type": "int", "required": True, "range": "0..n-1", "doc": "0-based"}},
        ),
    ),
    (
        "constrained_median",
        constrained_median,
        dict(
            claims=(_SP, "anonymity", "ifs"),
            violates=("unanimity", "pareto", "ufs", "proportionality", "pf"),
            phantoms=constrained_median_phantoms,
        ),
    ),
    (
        "best_ifs_phantom",
        best_ifs_phantom,
        dict(
            claims=(_SP, "anonymity", "unanimity", "pareto", "ifs"),
            violates=("ufs", "proportionality", "pf", "strong_proportionality"),
            phantoms=best_ifs_phantoms,
            note="ufs/proportionality/pf fail for n >= 4; equals UP for n <= 3",
        ),
    ),
    (
        "avg_up_mix",
        avg_up_mix,
        dict(
            claims=("anonymity", "unanimity", "pareto", *_FAIR),
            violates=(_SP,),
            strictly_monotone=True,
            continuous=True,
        ),
    ),
]

_RANDOM_TABLE: list[tuple[str, Callable[..., Any], dict[str, Any]]] = [
    (
        "random_rank",
        random_rank,
        dict(
            claims=(_SP, "anonymity", "unanimity", "proportionality", "strong_proportionality"),
            violates=(),
            sense="in expectation (SP and anonymity also universally)",
            support=uniform_support,
        ),
    ),
    (
        "random_dictatorship",
        random_dictatorship,
        dict(
            claims=(_SP, "unanimity", "proportionality", "strong_proportionality"),
            violates=("anonymity",),
            anonymous=False,
            sense="in expectation; same lottery as random_rank, not anonymous ex post",
            support=uniform_support,
        ),
    ),
    (
        "lrm",
        lrm,
        dict(
            claims=(_SP, "anonymity", "unanimity"),
            violates=("ufs", "proportionality", "pf", "strong_proportionality"),
            sense="in expectation",
            support=lrm_support,
        ),
    ),
]

_DETERMINISTIC: dict[str, Callable[..., Any]] = {name: f for name, f, _ in _TABLE}


def _register_all() -> None:
    for name, func, meta in _TABLE:
        meta = dict(meta)
        meta.setdefault("anonymous", True)
        meta.setdefault("monotone", True)
        meta["params"] = {**meta.get("params", {}), **_INTERVAL}
        register(f"facility.{name}", "mechanism", randomized=False, **meta)(func)
    for name, func, meta in _RANDOM_TABLE:
        meta = dict(meta)
        meta.setdefault("anonymous", True)
        meta.setdefault("monotone", False)
        meta["params"] = dict(_INTERVAL)
        register(f"facility.{name}", "mechanism", randomized=True, **meta)(func)


_register_all()

__all__ = [
    "average",
    "avg_up_mix",
    "best_ifs_phantom",
    "best_ifs_phantoms",
    "constant",
    "constrained_median",
    "constrained_median_phantoms",
    "dictatorship",
    "leftmost",
    "lottery",
    "lrm",
    "median",
    "midpoint",
    "order_statistic",
    "phantom_median",
    "random_dictatorship",
    "random_rank",
    "rightmost",
    "uniform_phantom",
    "up_phantoms",
]
