"""Participatory-budgeting voters: ballot generators, behaviours and outcome metrics.

Generators (spec ``budgeting.md`` §2 model; approval elections with m projects and n voters):

* ``impartial_culture`` (IC): each voter approves each project independently with probability
  ``p``.
* ``euclidean``: voters and projects uniform in [0, 1]^d (d = 1 or 2); a voter approves the
  projects within distance ``radius`` (Elkind et al., "What do multiwinner voting rules do?",
  AAAI 2017; approval variant as in Szufa et al., AAMAS 2022).
* ``resampling``: a central ballot of round(p·m) projects; each voter, for each project, with
  probability ``phi`` draws approval afresh (probability ``p``), else copies the central ballot
  (Szufa, Faliszewski, Janeczko, Lackner, Slinko, Sornat, Talmon, AAMAS 2022, arXiv 2110.15565).
* a real ``.pb`` file (:func:`fairsim.io.pabulib.read`), used as is or with n voters resampled
  with replacement (weighted by multiplicity) [F].

Costs are drawn uniform on [low, high] (or all equal); the budget is ``budget_fraction`` of the
total cost [F]. Each voter also has a private utility for every project (``private_utilities``):
minus the distance in the Euclidean model, else i.i.d. uniform [0, 1] [F]. Behaviours
(registered as ``budgeting.truthful`` and ``budgeting.truncate``): truthful voters report their
ballot; ``truncate`` voters approve only their top ``k`` approved projects by private utility
(a strategic "bullet-vote for favourites" behaviour [F]).

Metrics (registered as kind ``"metric"`` under ``budgeting.<name>``, ``f(e, W) -> float``, always
on the TRUE ballots): utilitarian welfare (cost and cardinality utilities, averaged over voters),
spend share cost(W)/B, number of funded projects, coverage (share of voters with at least one
approved project funded) and the Gini coefficient of the voters' cost utilities.

Repeated elections (:class:`fairsim.sim.budgeting.PBElectionModel`) group voters into ballot
classes (:func:`ballot_classes`), each a Mesa agent (:func:`voter_class_agent`) with a weight.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from fairsim.errors import InputError
from fairsim.registry import register

GENERATORS = ("impartial_culture", "euclidean", "resampling")


def draw_costs(m: int, rng: np.random.Generator, low: float, high: float) -> np.ndarray:
    """m costs uniform on [low, high] (rounded to integers when both bounds are integers) [F]."""
    c = rng.uniform(low, high, size=m)
    if float(low).is_integer() and float(high).is_integer():
        c = np.maximum(np.round(c), 1.0)
    return c


def draw_ballots(
    generator: str,
    n: int,
    m: int,
    rng: np.random.Generator,
    *,
    p: float = 0.5,
    phi: float = 0.5,
    radius: float = 0.3,
    dim: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """``(ballots, utilities)``: bool ``(n, m)`` approvals and float ``(n, m)`` private utilities.

    See the module docstring for the generators. Raises :class:`InputError` for an unknown
    generator or parameters out of range.
    """
    if generator not in GENERATORS:
        raise InputError(f"generator must be one of {GENERATORS}; got {generator!r}")
    if n < 1 or m < 1:
        raise InputError(f"n and m must be >= 1; got n={n}, m={m}")
    if not 0.0 <= p <= 1.0 or not 0.0 <= phi <= 1.0:
        raise InputError(f"p and phi must lie in [0, 1]; got p={p}, phi={phi}")
    if generator == "euclidean":
        if dim not in (1, 2) or radius < 0:
            raise InputError(f"euclidean needs dim in (1, 2) and radius >= 0; got {dim}, {radius}")
        voters = rng.uniform(size=(n, dim))
        projects = rng.uniform(size=(m, dim))
        dist = np.sqrt(((voters[:, None, :] - projects[None, :, :]) ** 2).sum(axis=2))
        return dist <= radius, -dist
    if generator == "impartial_culture":
        ballots = rng.uniform(size=(n, m)) < p
    else:
        central = np.zeros(m, dtype=np.bool_)
        central[rng.permutation(m)[: int(np.floor(p * m + 0.5))]] = True
        fresh = rng.uniform(size=(n, m)) < phi
        ballots = np.where(fresh, rng.uniform(size=(n, m)) < p, central[None, :])
    return ballots, rng.uniform(size=(n, m))


def truncate(ballots: np.ndarray, utilities: np.ndarray, k: int) -> np.ndarray:
    """Each ballot cut to its ``k`` approved projects of highest private utility (ties: lower
    project index first) [F]."""
    if k < 0:
        raise InputError(f"k must be >= 0; got {k}")
    out = np.zeros_like(ballots, dtype=np.bool_)
    for i in range(ballots.shape[0]):
        approved = np.flatnonzero(ballots[i])
        if approved.size == 0:
            continue
        order = approved[np.lexsort((approved, -utilities[i, approved]))]
        out[i, order[:k]] = True
    return out


@register("budgeting.truthful", "behaviour", params={})
def truthful(ballots: np.ndarray, utilities: np.ndarray) -> np.ndarray:
    """Report the true approval ballot."""
    return ballots.copy()


@register(
    "budgeting.truncate",
    "behaviour",
    params={"k": {"type": "int", "default": 1, "doc": "approvals kept per voter"}},
)
def truncate_behaviour(ballots: np.ndarray, utilities: np.ndarray, k: int = 1) -> np.ndarray:
    """Approve only the top ``k`` approved projects by private utility (:func:`truncate`)."""
    return truncate(ballots, utilities, int(k))


def election_ballots(e: Any, weight_dtype: Any = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """``(A, w)``: dense bool ballots (rows, m) and row multiplicities (rows,) of election ``e``."""
    A = np.asarray(e.approvals.toarray(), dtype=np.bool_)
    w = (
        np.ones(A.shape[0], dtype=weight_dtype)
        if e.multiplicities is None
        else np.asarray(e.multiplicities, dtype=weight_dtype)
    )
    return A, w


def _mask(e: Any, W: Any) -> np.ndarray:
    chosen = set(W)
    return np.array([p in chosen for p in e.project_ids], dtype=np.bool_)


def voter_utilities(e: Any, W: Any, utility: str = "cost") -> tuple[np.ndarray, np.ndarray]:
    """``(u, w)``: each ballot row's utility for ``W`` (cost of its funded approved projects, or
    their number) and the row multiplicities."""
    A, w = election_ballots(e)
    x = _mask(e, W).astype(np.float64)
    if utility == "cost":
        x = x * np.asarray(e.costs, dtype=np.float64)
    return A.astype(np.float64) @ x, w


@register("budgeting.welfare_cost", "metric")
def welfare_cost(e: Any, W: Any) -> float:
    """Mean over voters of the cost of their approved funded projects (cost utility)."""
    u, w = voter_utilities(e, W, "cost")
    return float(u @ w / w.sum())


@register("budgeting.welfare_cardinality", "metric")
def welfare_cardinality(e: Any, W: Any) -> float:
    """Mean over voters of the number of their approved funded projects."""
    u, w = voter_utilities(e, W, "cardinality")
    return float(u @ w / w.sum())


@register("budgeting.spend_share", "metric")
def spend_share(e: Any, W: Any) -> float:
    """cost(W) / B."""
    return float(np.asarray(e.costs, dtype=np.float64)[_mask(e, W)].sum() / float(e.budget))


@register("budgeting.num_projects", "metric")
def num_projects(e: Any, W: Any) -> float:
    """|W|, the number of funded projects."""
    return float(_mask(e, W).sum())


@register("budgeting.coverage", "metric")
def coverage(e: Any, W: Any) -> float:
    """Share of voters with at least one approved project funded (JR-like coverage)."""
    u, w = voter_utilities(e, W, "cardinality")
    return float(w[u > 0].sum() / w.sum())


@register("budgeting.gini", "metric")
def gini(e: Any, W: Any) -> float:
    """Gini coefficient of the voters' cost utilities (0 = equal; 0 when all are 0) [F]."""
    u, w = voter_utilities(e, W, "cost")
    total = float(u @ w)
    if total <= 0:
        return 0.0
    diff = np.abs(u[:, None] - u[None, :])
    return float((w @ diff @ w) / (2.0 * w.sum() * total))


# ----------------------------------------------------------------------------- repeated elections


def ballot_classes(ballots: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(class of each voter (n,), class weights (C,), class ballots (C, m))``: the distinct
    rows of ``ballots`` in lexicographic order (``numpy.unique``)."""
    B = np.asarray(ballots, dtype=np.bool_)
    rows, inv, counts = np.unique(B, axis=0, return_inverse=True, return_counts=True)
    return inv.reshape(-1).astype(np.int64), counts.astype(np.int64), rows


def cost_shares(ballots: np.ndarray, costs: np.ndarray, funded: np.ndarray) -> np.ndarray:
    """Each voter's share of the money spent: a funded project's cost split equally among the
    voters approving it (unapproved funded projects are nobody's) [F]."""
    A = np.asarray(ballots, dtype=np.float64)
    support = A.sum(axis=0)
    per = np.where(funded & (support > 0), costs / np.where(support > 0, support, 1.0), 0.0)
    return A @ per


def weighted_gini(x: np.ndarray, w: np.ndarray) -> float:
    """Gini coefficient of values ``x`` with weights ``w`` (0 when all are 0) [F]."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    total = float(x @ w)
    if total <= 0:
        return 0.0
    return float((w @ np.abs(x[:, None] - x[None, :]) @ w) / (2.0 * w.sum() * total))


_VOTER_CLASS: type | None = None


def voter_class_agent() -> type:
    """The :class:`VoterClass` Mesa agent (defined on first use: imports Mesa).

    One agent per BALLOT CLASS (voters with the same first-year ballot; never one object per
    voter): ``index``, ``weight`` (its voters), ``members`` (their indices), per-year
    ``satisfaction`` (the members' mean cost utility divided by the budget), ``zero_years``
    (consecutive years with satisfaction 0), ``switched`` (True once ``zero_years`` reached the
    model's ``patience``: from the next year its voters approve only their ``patience_k``
    favourite approved projects, :func:`truncate`) and cumulative ``spent`` (the class's
    :func:`cost_shares`) [F adaptive behaviour].
    """
    global _VOTER_CLASS
    if _VOTER_CLASS is not None:
        return _VOTER_CLASS
    import mesa

    class VoterClass(mesa.Agent):
        """A ballot class of a repeated PB election (see :func:`voter_class_agent`)."""

        def __init__(self, model: mesa.Model, index: int, members: np.ndarray) -> None:
            super().__init__(model)
            self.index = int(index)
            self.members = members
            self.weight = int(members.size)
            self.satisfaction: list[float] = []
            self.zero_years = 0
            self.switched = False
            self.spent = 0.0

        def step(self) -> None:
            """Read this year's satisfaction and spending from the model; maybe switch."""
            sat = float(self.model.class_satisfaction[self.index])  # type: ignore[attr-defined]
            self.satisfaction.append(sat)
            self.spent += float(self.model.class_spent[self.index])  # type: ignore[attr-defined]
            self.zero_years = self.zero_years + 1 if sat <= 0 else 0
            patience = self.model.patience  # type: ignore[attr-defined]
            if patience is not None and self.zero_years >= patience:
                self.switched = True

    VoterClass.__module__ = __name__
    VoterClass.__qualname__ = "VoterClass"
    _VOTER_CLASS = VoterClass
    return VoterClass


def random_election(
    generator: str,
    n: int,
    m: int,
    rng: np.random.Generator,
    *,
    p: float = 0.5,
    radius: float = 0.3,
    dim: int = 1,
    cost_low: float = 1.0,
    cost_high: float = 6.0,
    budget_fraction: float = 0.4,
) -> Any:
    """A random small election: costs by :func:`draw_costs`, ballots by :func:`draw_ballots`
    (``"impartial_culture"``, ``"euclidean"`` or ``"resampling"``), budget = ``budget_fraction``
    x total cost, project ids ``p0..p{m-1}`` [F]."""
    from fairsim.io.pabulib import Election

    if not (isinstance(budget_fraction, (int, float)) and 0 < budget_fraction <= 1):
        raise InputError(f"budget_fraction must be in (0, 1]; got {budget_fraction!r}")
    costs = draw_costs(m, rng, cost_low, cost_high)
    A, _ = draw_ballots(generator, n, m, rng, p=p, radius=radius, dim=dim)
    return Election.from_sets(
        [np.flatnonzero(r).tolist() for r in A],
        costs,
        float(budget_fraction * costs.sum()),
        project_ids=[f"p{j}" for j in range(m)],
    )


def election_sampler(generator: str, n: int, m: int, **params: Any) -> Callable[[Any], Any]:
    """``rng -> Election`` drawing :func:`random_election` instances (the sampler that
    :func:`fairsim.axioms.budgeting.find_incompatibility` takes)."""
    if generator not in ("impartial_culture", "euclidean", "resampling"):
        raise InputError(
            f"generator must be 'impartial_culture', 'euclidean' or 'resampling'; got {generator!r}"
        )

    def sample(rng: Any) -> Any:
        return random_election(generator, n, m, rng, **params)

    return sample


__all__ = [
    "GENERATORS",
    "ballot_classes",
    "cost_shares",
    "voter_class_agent",
    "weighted_gini",
    "coverage",
    "draw_ballots",
    "draw_costs",
    "election_ballots",
    "election_sampler",
    "gini",
    "num_projects",
    "random_election",
    "spend_share",
    "truncate",
    "voter_utilities",
    "welfare_cardinality",
    "welfare_cost",
]
