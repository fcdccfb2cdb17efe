"""Adversarial search for the online fair-division rules' worst cases (spec ``division.md`` §6).

:func:`adversarial_online_search` looks for an instance (integer values or costs) and an arrival
order on which :func:`~fairsim.mechanisms._division_online.online_goods_two_agents` gets the
smallest MMS ratio ``min_i u_i(A_i) / MMS_i``, or on which
:func:`~fairsim.mechanisms._division_online.online_chores` gets the largest cost ratio
``max_i c_i(A_i) / MMS^c_i``. It is a seeded local search of fairsim's own design [F]: random
restarts, each followed by simulated annealing over single-entry value changes and swaps in the
arrival order. Every candidate's MMS values come from the exact kernel
(:func:`fairsim.allocation.mms.maximin_share`); a candidate whose MMS is not ``proven`` is counted
as an evaluation but never recorded, so the reported ratio is always exact. Ratios are compared as
:class:`fractions.Fraction` (integer utilities over integer MMS values).

The worst ratio found bounds the true competitive ratio from one side only: a search that finds
0.5 shows the goods guarantee is tight; a chores worst below 2 - 1/n is evidence, not proof.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from fairsim.errors import InputError

ALGORITHMS = ("goods_two_agents", "chores")
_MAX_M = 16
_MAX_VALUE = 1_000_000


def _ratio(
    algorithm: str, V: np.ndarray, order: np.ndarray, params: dict[str, Any], time_limit: float
) -> Fraction | None:
    """The exact ratio of ``V`` (n x m ints) with arrival ``order``; None if an MMS is unproven.

    Goods: min_i u_i / MMS_i (agents with MMS_i = 0 are skipped; all skipped gives None).
    Chores: max_i c_i / MMS^c_i (agents with zero cost contribute 0).
    """
    from fairsim.allocation.mms import maximin_share
    from fairsim.mechanisms._division_online import online_chores, online_goods_two_agents

    X = V[:, order]
    n = V.shape[0]
    chores = algorithm == "chores"
    if chores:
        x = online_chores(X, **params).assignment
    else:
        x = online_goods_two_agents(X, **params).assignment
    best: Fraction | None = None
    for i in range(n):
        own = int(X[i, x == i].sum())
        res = maximin_share(X[i], n, chores=chores, time_limit=time_limit)
        if not res.proven:
            return None
        mv = int(round(res.value))
        if chores:
            r = Fraction(own, mv) if mv > 0 else Fraction(0)
            best = r if best is None or r > best else best
        elif mv > 0:
            r = Fraction(own, mv)
            best = r if best is None or r < best else best
    return best


def _validate(
    algorithm: Any,
    n: Any,
    m: Any,
    restarts: Any,
    iterations: Any,
    values_range: Any,
    temperature: Any,
) -> tuple[int, int]:
    if algorithm not in ALGORITHMS:
        raise InputError(f"algorithm must be one of {ALGORITHMS}; got {algorithm!r}")
    for name, val, lo, hi in (
        ("n", n, 2, 8),
        ("m", m, 1, _MAX_M),
        ("restarts", restarts, 1, 10**6),
        ("iterations", iterations, 0, 10**7),
    ):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or not lo <= val <= hi:
            raise InputError(f"{name} must be an integer in [{lo}, {hi}]; got {val!r}")
    if algorithm == "goods_two_agents" and n != 2:
        raise InputError(f"n must be 2 for algorithm 'goods_two_agents'; got {n!r}")
    try:
        lo_v, hi_v = values_range
    except (TypeError, ValueError):
        raise InputError(f"values_range must be a pair (low, high); got {values_range!r}") from None
    for v in (lo_v, hi_v):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise InputError(f"values_range must hold integers; got {values_range!r}")
    if not (0 <= lo_v <= hi_v and 1 <= hi_v <= _MAX_VALUE):
        raise InputError(
            f"values_range must satisfy 0 <= low <= high, 1 <= high <= {_MAX_VALUE}; "
            f"got {values_range!r}"
        )
    t = float(temperature)
    if not math.isfinite(t) or t < 0:
        raise InputError(f"temperature must be a finite number >= 0; got {temperature!r}")
    return int(lo_v), int(hi_v)


def adversarial_online_search(
    algorithm: str,
    n: int,
    m: int,
    *,
    restarts: int = 20,
    iterations: int = 200,
    rng: Any = None,
    values_range: tuple[int, int] = (1, 100),
    temperature: float = 0.05,
    params: dict[str, Any] | None = None,
    time_limit: float = 10.0,
) -> tuple[float, np.ndarray | None, np.ndarray | None, int]:
    """Seeded local search for the worst case of an online division rule (spec §6) [F].

    ``algorithm``: ``"goods_two_agents"`` (n must be 2; minimises min_i u_i(A_i)/MMS_i, the
    guarantee is 0.5, spec §6.1) or ``"chores"`` (maximises max_i c_i(A_i)/MMS^c_i; the proven
    bound on identical costs is 2 - 1/n, spec §6.2). ``params`` are passed to the rule
    (e.g. ``{"rule": "ratio"}`` for chores); totals are the realised row sums.

    Each of ``restarts`` starts draws integer values (goods) or costs (chores) uniformly in
    ``values_range`` (inclusive) and a uniform arrival order, then makes ``iterations`` moves: set
    one entry to a fresh value, to an endpoint of the range, or nudge it by one, or swap two
    arrival positions. A move is kept if it is at least as bad for the rule, or else with
    probability ``exp(-loss / T)``, T falling geometrically from ``temperature`` to
    ``temperature / 100`` ([F]). Every evaluation uses the exact MMS kernel; candidates with an
    unproven MMS (``time_limit`` seconds per agent) are discarded.

    Returns ``(worst_ratio, worst_instance, worst_order, evaluations)``: ``worst_instance`` is
    the (n, m) int64 matrix in item order, the rule sees columns ``worst_order`` in turn (so
    ``worst_instance[:, worst_order]`` is the stream), and ``evaluations`` (at most
    ``restarts * (iterations + 1)``) counts the candidates evaluated. If no candidate had a
    proven, defined ratio the result is ``(nan, None, None, evaluations)``.
    """
    lo, hi = _validate(algorithm, n, m, restarts, iterations, values_range, temperature)
    n, m = int(n), int(m)
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    kw = dict(params or {})
    sign = -1 if algorithm == "goods_two_agents" else 1  # badness = sign * ratio
    t0 = float(temperature)
    evals = 0
    worst: Fraction | None = None
    worst_V: np.ndarray | None = None
    worst_o: np.ndarray | None = None

    def evaluate(V: np.ndarray, o: np.ndarray) -> Fraction | None:
        nonlocal evals, worst, worst_V, worst_o
        evals += 1
        r = _ratio(algorithm, V, o, kw, time_limit)
        if r is not None and (worst is None or sign * (r - worst) > 0):
            worst, worst_V, worst_o = r, V.copy(), o.copy()
        return r

    for _ in range(restarts):
        V = gen.integers(lo, hi + 1, size=(n, m), dtype=np.int64)
        o = gen.permutation(m).astype(np.int64)
        cur = evaluate(V, o)
        for it in range(iterations):
            V2, o2 = V.copy(), o.copy()
            move = int(gen.integers(4)) if m > 1 else int(gen.integers(3))
            i, g = int(gen.integers(n)), int(gen.integers(m))
            if move == 0:
                V2[i, g] = gen.integers(lo, hi + 1)
            elif move == 1:
                V2[i, g] = lo if gen.random() < 0.5 else hi
            elif move == 2:
                V2[i, g] = min(hi, max(lo, int(V2[i, g]) + (1 if gen.random() < 0.5 else -1)))
            else:
                a, b = gen.choice(m, size=2, replace=False)
                o2[a], o2[b] = o2[b], o2[a]
            new = evaluate(V2, o2)
            if new is None:
                continue
            if cur is None or sign * (new - cur) >= 0:
                V, o, cur = V2, o2, new
                continue
            temp = t0 * 0.01 ** (it / max(1, iterations - 1))
            loss = float(sign * (cur - new))
            if temp > 0 and gen.random() < math.exp(-loss / temp):
                V, o, cur = V2, o2, new
    if worst is None:
        return math.nan, None, None, evals
    return float(worst), worst_V, worst_o, evals


__all__ = ["ALGORITHMS", "adversarial_online_search"]
