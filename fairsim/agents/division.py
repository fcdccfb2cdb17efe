"""Fair-division agents: valuation generators, reporting behaviours and welfare metrics.

Generators (registered as kind ``"distribution"`` under ``division.<name>``; all draw INTEGER
values so that the exact kernels of :mod:`fairsim.allocation.mms` and the MNW MILP stay exact;
the model is spec ``division.md`` §2, the distributions are fairsim's choices [F]):

* ``uniform``: V[i, g] uniform on the integers ``low..high``, independently.
* ``correlated``: a common value c_g uniform on ``low..high`` plus, per agent, Gaussian noise of
  standard deviation ``noise * (high - low)``, rounded and clipped to ``[low, high]`` (``noise=0``
  gives identical valuations).
* ``zipf``: V[i, g] ~ Zipf(``a``) (``numpy.random.Generator.zipf``), clipped to ``high``.
* ``binary``: V[i, g] = 1 with probability ``p``, else 0.
* ``cost_utility``: item costs c_g uniform on ``low..high`` and approvals Bernoulli(``p``);
  V[i, g] = c_g [g in A_i] (Botan-Ritossa-Suzuki-Walsh, SAGT 2023, arXiv 2407.13171; spec §2).
* ``laminar``: cost utilities whose approval sets form a laminar family (any two nested or
  disjoint): the nodes of a random recursive bisection of a random item order; each agent
  approves one node, drawn uniformly among the nodes (spec §2, §7).

For ``items: chores`` the drawn magnitudes are costs and the utility form ``-V`` is used.

Behaviours (kind ``"behaviour"``): ``truthful`` (report V) and ``best_response`` (spec
``divsim``; [F]): the strategic agents, in index order, each pick among :func:`candidates` the
report that maximises the TRUE value of the bundle it receives from the mechanism, given the
others' current reports (``rounds`` passes); a report is changed only on a strict improvement.

Metrics (kind ``"metric"``, ``f(V, assignment) -> float`` on the TRUE utility-form valuations):
utilitarian, Nash (geometric mean) and egalitarian welfare and the number of envious ordered
pairs; ``mms_ratio`` is :func:`fairsim.axioms.division.mms_ratio`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from fairsim.errors import InputError
from fairsim.registry import register

GENERATORS = ("uniform", "correlated", "zipf", "binary", "cost_utility", "laminar")


def _laminar_sets(m: int, rng: np.random.Generator) -> list[np.ndarray]:
    """The nodes (item index arrays) of a random recursive bisection of a random item order."""
    order = rng.permutation(m)
    nodes: list[np.ndarray] = []
    stack = [(0, m)]
    while stack:
        lo, hi = stack.pop()
        nodes.append(np.sort(order[lo:hi]))
        if hi - lo >= 2:
            cut = int(rng.integers(lo + 1, hi))
            stack.append((lo, cut))
            stack.append((cut, hi))
    return nodes


def is_laminar(approvals: np.ndarray) -> bool:
    """Whether the rows of a 0/1 matrix are pairwise nested or disjoint (spec §2)."""
    A = np.asarray(approvals, dtype=bool)
    for i in range(A.shape[0]):
        for j in range(i + 1, A.shape[0]):
            inter = np.any(A[i] & A[j])
            if inter and np.any(A[i] & ~A[j]) and np.any(A[j] & ~A[i]):
                return False
    return True


def draw_valuations(
    generator: str,
    n: int,
    m: int,
    rng: np.random.Generator,
    *,
    low: int = 1,
    high: int = 10,
    noise: float = 0.2,
    a: float = 2.0,
    p: float = 0.5,
) -> np.ndarray:
    """Nonnegative integer magnitudes ``(n, m)`` (float64) from ``generator`` (module docstring).

    Raises :class:`InputError` for an unknown generator or parameters out of range.
    """
    if generator not in GENERATORS:
        raise InputError(f"generator must be one of {GENERATORS}; got {generator!r}")
    if n < 1 or m < 1:
        raise InputError(f"n and m must be >= 1; got n={n}, m={m}")
    if not 0 <= low <= high:
        raise InputError(f"need 0 <= low <= high; got low={low}, high={high}")
    if not 0.0 <= p <= 1.0 or noise < 0 or a <= 1.0:
        raise InputError(f"need p in [0, 1], noise >= 0, a > 1; got p={p}, noise={noise}, a={a}")
    V: np.ndarray
    if generator == "uniform":
        V = rng.integers(low, high + 1, size=(n, m))
    elif generator == "correlated":
        common = rng.integers(low, high + 1, size=m)
        eps = rng.normal(0.0, noise * (high - low), size=(n, m)) if noise > 0 else 0.0
        V = np.clip(np.round(common[None, :] + eps), low, high)
    elif generator == "zipf":
        V = np.minimum(rng.zipf(a, size=(n, m)), max(high, 1))
    elif generator == "binary":
        V = rng.uniform(size=(n, m)) < p
    elif generator == "cost_utility":
        c = rng.integers(max(low, 0), high + 1, size=m)
        V = (rng.uniform(size=(n, m)) < p) * c[None, :]
    else:
        c = rng.integers(max(low, 0), high + 1, size=m)
        nodes = _laminar_sets(m, rng)
        pick = rng.integers(0, len(nodes), size=n)
        ap = np.zeros((n, m), dtype=bool)
        for i in range(n):
            ap[i, nodes[int(pick[i])]] = True
        V = ap * c[None, :]
    return np.asarray(V, dtype=np.float64)


for _g in GENERATORS:
    register(f"division.{_g}", "distribution", description=f"{_g} valuations [F]")(draw_valuations)


# ------------------------------------------------------------------------------------------
# Behaviours
# ------------------------------------------------------------------------------------------


def candidates(v: np.ndarray, *, factor: float = 2.0) -> list[np.ndarray]:
    """Candidate reports of one agent with true row ``v`` (utility form) [F].

    The truthful row first, then: each adjacent swap in the agent's ranking by ``|v|`` (values
    permuted between two items); each truncation to the top ``k`` items by ``|v|``
    (``k = 1..m-1``, the others reported 0); each single item's magnitude scaled by ``factor``
    (exaggeration, rounded up to an integer). Duplicates are dropped.
    """
    v = np.asarray(v, dtype=np.float64)
    m = v.size
    order = np.argsort(-np.abs(v), kind="stable")
    out = [v.copy()]
    for r in range(m - 1):
        w = v.copy()
        a, b = order[r], order[r + 1]
        w[a], w[b] = v[b], v[a]
        out.append(w)
    for k in range(1, m):
        w = np.zeros_like(v)
        w[order[:k]] = v[order[:k]]
        out.append(w)
    for g in range(m):
        w = v.copy()
        w[g] = np.sign(v[g]) * np.ceil(abs(v[g]) * factor)
        out.append(w)
    seen: set[bytes] = set()
    uniq = []
    for w in out:
        key = w.tobytes()
        if key not in seen:
            seen.add(key)
            uniq.append(w)
    return uniq


def true_value(V: np.ndarray, assignment: np.ndarray, i: int) -> float:
    """u_i(A_i) = sum of V[i, g] over the items assigned to agent ``i``."""
    return float(V[i, np.asarray(assignment) == i].sum())


@register("division.truthful", "behaviour", params={})
def truthful(
    V: np.ndarray, agents: np.ndarray, mechanism: Callable[[np.ndarray], np.ndarray], **_: Any
) -> np.ndarray:
    """Every agent reports its true valuation row (a copy of ``V``)."""
    return np.array(V, dtype=np.float64, copy=True)


@register(
    "division.best_response",
    "behaviour",
    params={"rounds": {"default": 1}, "factor": {"default": 2.0}},
)
def best_response(
    V: np.ndarray,
    agents: np.ndarray,
    mechanism: Callable[[np.ndarray], np.ndarray],
    R: np.ndarray | None = None,
    *,
    rounds: int = 1,
    factor: float = 2.0,
) -> np.ndarray:
    """Reports after ``rounds`` passes of best responses by ``agents`` (module docstring).

    ``mechanism(R) -> assignment`` runs the division mechanism on a report matrix; ``R`` is the
    starting report matrix (default: truthful). A candidate on which the mechanism raises is
    skipped [F].
    """
    if int(rounds) < 1:
        raise InputError(f"rounds must be >= 1; got {rounds!r}")
    if not np.isfinite(factor) or factor <= 0:
        raise InputError(f"factor must be a finite number > 0; got {factor!r}")
    V = np.asarray(V, dtype=np.float64)
    R = V.copy() if R is None else np.array(R, dtype=np.float64, copy=True)
    for _ in range(int(rounds)):
        changed = False
        for i in map(int, agents):
            try:
                best = true_value(V, mechanism(R), i)
            except Exception:  # noqa: BLE001 - the current report itself fails: nothing to keep
                best = -np.inf
            keep = R[i].copy()
            for w in candidates(V[i], factor=factor):
                R[i] = w
                try:
                    val = true_value(V, mechanism(R), i)
                except Exception:  # noqa: BLE001 - an invalid misreport is not a candidate
                    continue
                if val > best:
                    best, keep = val, w.copy()
                    changed = True
            R[i] = keep
        if not changed:
            break
    return R


# ------------------------------------------------------------------------------------------
# Metrics
# ------------------------------------------------------------------------------------------


def _utilities(V: Any, assignment: Any) -> np.ndarray:
    A = np.asarray(V, dtype=np.float64)
    x = np.asarray(assignment, dtype=np.int64)
    return np.array([A[i, x == i].sum() for i in range(A.shape[0])])


@register("division.utilitarian_welfare", "metric")
def utilitarian_welfare(V: Any, assignment: Any) -> float:
    """sum_i u_i(A_i) (utility form)."""
    return float(_utilities(V, assignment).sum())


@register("division.nash_welfare", "metric")
def nash_welfare(V: Any, assignment: Any) -> float:
    """Geometric mean of the u_i(A_i) for goods; for chores minus the geometric mean of the
    costs c_i(A_i) = -u_i(A_i) [F] (so higher is better in both cases)."""
    u = _utilities(V, assignment)
    if np.any(np.asarray(V) < 0):
        c = -u
        return -float(np.exp(np.mean(np.log(c)))) if np.all(c > 0) else 0.0
    return float(np.exp(np.mean(np.log(u)))) if np.all(u > 0) else 0.0


@register("division.egalitarian_welfare", "metric")
def egalitarian_welfare(V: Any, assignment: Any) -> float:
    """min_i u_i(A_i) (utility form)."""
    return float(_utilities(V, assignment).min())


@register("division.envy_count", "metric")
def envy_count(V: Any, assignment: Any) -> float:
    """Number of ordered pairs (i, j) where i envies j: u_i(A_j) > u_i(A_i) (spec §9)."""
    from fairsim.axioms.division import envy_graph

    return float(envy_graph(V, assignment).sum())


__all__ = [
    "GENERATORS",
    "best_response",
    "candidates",
    "draw_valuations",
    "egalitarian_welfare",
    "envy_count",
    "is_laminar",
    "nash_welfare",
    "true_value",
    "truthful",
    "utilitarian_welfare",
]
