"""Random search for incompatible PB fairness combinations (spec ``budgeting.md`` §7, §13 [D]).

Draws small elections from a caller-supplied sampler ``(rng) -> Election`` (the scenario runner
passes :func:`fairsim.agents.budgeting.election_sampler`; axioms never import agents) and runs the
compatibility oracle (:func:`fairsim.axioms._budgeting_compat.compatibility`) on each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fairsim.axioms._budgeting_compat import CompatResult, check_combination, compatibility

# ----------------------------------------------------------------------------- random search


@dataclass
class SearchResult:
    """Outcome of :func:`fairsim.axioms.budgeting.find_incompatibility`: ``trials`` instances
    drawn, ``found`` = list of (trial, election, CompatResult) where the combination is
    infeasible, ``smallest`` = the one with fewest (ballot classes, approvals, projects)."""

    combination: dict[str, Any]
    trials: int
    found: list[tuple[int, Any, CompatResult]]
    feasible: int
    smallest: tuple[int, Any, CompatResult] | None = None


def instance_size(e: Any) -> tuple[int, int, int]:
    """(distinct nonempty ballots, total approvals, projects) — the order of 'smallest' [F]."""
    A = e.approvals.toarray().astype(bool)
    rows = {tuple(r) for r in A if r.any()}
    return len(rows), int(A.sum()), A.shape[1]


def describe(e: Any) -> str:
    """A one-line text of a small election: ``B=..; costs p0=..; ballots {p0,p2}x2 ...``."""
    A = e.approvals.toarray().astype(bool)
    mult_attr = getattr(e, "multiplicities", None)
    mult = np.ones(A.shape[0], dtype=int) if mult_attr is None else np.asarray(mult_attr, int)
    counts: dict[tuple[str, ...], int] = {}
    for r, k in zip(A, mult, strict=True):
        key = tuple(e.project_ids[c] for c in np.flatnonzero(r))
        counts[key] = counts.get(key, 0) + int(k)
    costs = " ".join(f"{i}={c:g}" for i, c in zip(e.project_ids, e.costs, strict=True))
    ballots = " ".join(f"{{{','.join(k)}}}x{v}" for k, v in counts.items())
    return f"B={float(e.budget):g}; costs {costs}; ballots {ballots}"


def find_incompatibility(
    generator: Any,
    n: int,
    m: int,
    trials: int,
    rng: Any = None,
    *,
    ex_post: Any = ("fjr",),
    ex_ante: Any = ("strong_ufs",),
    bb1: str = "two",
    utility: str = "cardinality",
    bb1_reference: str = "marginals",
    stop: str = "all",
) -> SearchResult:
    """Random search for instances where the combination is infeasible (spec §7, §13 [D]).

    ``generator``: a callable ``(rng) -> Election`` drawing an instance with ``n`` voters and
    ``m`` projects, e.g. ``fairsim.agents.budgeting.election_sampler("euclidean", n, m)``. Draws
    ``trials`` instances with ``numpy.random.default_rng(rng)`` and runs :func:`compatibility` on
    each; ``stop="first"`` returns at the first incompatibility.
    Finding none in N trials is evidence, not proof, of compatibility.
    """
    from fairsim.axioms._budgeting_common import check_choice
    from fairsim.errors import InputError

    check_choice(stop, "stop", ("all", "first"))
    xp, xa = check_combination(ex_post, ex_ante, bb1, bb1_reference)
    for name, val, top in (("n", n, 10_000), ("m", m, 14), ("trials", trials, 10**7)):
        if not isinstance(val, (int, np.integer)) or not 1 <= val <= top:
            raise InputError(f"{name} must be an integer in [1, {top}]; got {val!r}")
    if not callable(generator):
        raise InputError(
            "generator must be a callable (rng) -> Election, e.g. "
            f"fairsim.agents.budgeting.election_sampler('euclidean', n, m); got {generator!r}"
        )
    gen = np.random.default_rng(rng)
    found: list[tuple[int, Any, CompatResult]] = []
    feasible = 0
    done = 0
    for t in range(int(trials)):
        e = generator(gen)
        res = compatibility(e, xp, xa, bb1, utility, 20, bb1_reference)
        done += 1
        if res.feasible:
            feasible += 1
            continue
        found.append((t, e, res))
        if stop == "first":
            break
    combo = {
        "ex_post": list(xp),
        "ex_ante": list(xa),
        "bb1": bb1,
        "bb1_reference": bb1_reference,
        "utility": utility,
    }
    small = min(found, key=lambda f: instance_size(f[1])) if found else None
    return SearchResult(combo, done, found, feasible, small)
