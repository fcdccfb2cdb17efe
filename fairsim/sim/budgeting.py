"""The participatory-budgeting plugin of the batch runner (:mod:`fairsim.sim.domains`).

One task = one ``(design point, replication)``: for each election year ``y`` an instance is drawn
(:mod:`fairsim.agents.budgeting`; a real ``.pb`` file is read once per process) and every
mechanism runs on the voters' REPORTED ballots; metrics and axioms are scored on the TRUE ballots
(paired comparison: all mechanisms see the same instance and the same reports).

Seeds (children of ``SeedSequence(root, spawn_key=(dp, rep))``): ``(0, y)`` instance of year y,
``(1, y)`` behaviour assignment (:func:`fairsim.sim.facility.assign_behaviours`), ``(2, k, y)``
mechanism k's draws (a lottery's marginals are deterministic; its ex-post outcome is one draw),
``(3, y)`` carry-over draws, ``(5,)`` the Mesa model's own RNG (unused by the dynamics).

Each mechanism's years run in a :class:`PBElectionModel` (``mesa.Model``) whose agents are the
ballot classes (:func:`fairsim.agents.budgeting.voter_class_agent`); with ``carry_over: 0`` and
no ``patience`` every mechanism sees the same instances and reports each year.

Axioms (spec ``budgeting.md`` §6): ex-post ones (``jr``, ``pjr``, ``ejr``, ``fjr``,
``ejr_up_to_one``, ``exhaustive``) on the selected set W with the scenario's ``utility`` and
``method="auto"``; ex-ante ones (``ifs``, ``ufs``, ``strong_ufs``, ``gfs``) on a lottery's
marginals (the 0/1 indicator of W for a deterministic rule [F]); ``bb1`` on the lottery (a
deterministic rule as the one-point lottery [F]).

Years [F]: the result row holds the last year's ``selected``/``cost``; ``metric.*`` is the mean
over years, ``axiom.*`` holds when it holds every year (``slack.*`` the minimum, ``witness.*``
the first failing year's witness with its ``"year"``). With ``years > 1`` each year is a row of
``rounds.parquet`` (``round`` = year, ``outcome`` = cost spent, ``selected``, the cross-year
columns ``satisfaction_gini``, ``min_share_ratio``, ``switched_share`` and scores); the result row
holds the last year's cross-year columns.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pyarrow as pa
from scipy import sparse

import fairsim.axioms.budgeting  # noqa: F401 - registers the budgeting.* axioms
import fairsim.mechanisms._budgeting_lottery  # noqa: F401 - registers fair_lottery etc.
import fairsim.mechanisms.budgeting  # noqa: F401 - registers the budgeting.* rules
from fairsim import registry
from fairsim.agents import budgeting as agents
from fairsim.sim import schema as S
from fairsim.sim import store
from fairsim.sim._plugin_common import (
    error_text,
    read_pb,
    resolve_path,
    sample_ballots,
    task_row,
)
from fairsim.sim.facility import assign_behaviours, behaviour_label, child_seed, witness_json

_DOMAIN = "budgeting"
HEAD = list(store.FACILITY_HEAD)  # distribution, behaviour
MID = [
    ("m", pa.int64()),
    ("budget", pa.float64()),
    ("selected", pa.list_(pa.string())),
    ("cost", pa.float64()),
    ("years", pa.int64()),
    ("satisfaction_gini", pa.float64()),
    ("min_share_ratio", pa.float64()),
    ("switched_share", pa.float64()),
]
ROUNDS_HEAD = [
    *store.ROUNDS_KEY,
    ("outcome", pa.float64()),
    ("selected", pa.list_(pa.string())),
    ("satisfaction_gini", pa.float64()),
    ("min_share_ratio", pa.float64()),
    ("switched_share", pa.float64()),
]


def _election(ids: list[str], costs: np.ndarray, budget: float, ballots: np.ndarray) -> Any:
    from fairsim.io.pabulib import Election

    return Election(
        project_ids=ids,
        costs=np.asarray(costs, dtype=np.float64),
        budget=float(budget),
        approvals=sparse.csr_matrix(np.asarray(ballots, dtype=np.bool_)),
    )


def draw_instance(
    spec: Any, rng: np.random.Generator, base_dir: str | Path | None = None
) -> tuple[Any, np.ndarray, np.ndarray, str]:
    """``(template election, true ballots (n, m), private utilities (n, m), source label)``."""
    if spec.generator == "pabulib":
        path = resolve_path(spec.path, base_dir)
        e = read_pb(str(path))
        A, w = agents.election_ballots(e, np.int64)
        A = sample_ballots(A, w, spec.n, rng)
        utilities = rng.uniform(size=A.shape)
        return e, A, utilities, f"pabulib:{path.stem}"
    n, m = int(spec.n), int(spec.m)
    costs = agents.draw_costs(m, rng, spec.costs.low, spec.costs.high)
    A, utilities = agents.draw_ballots(
        spec.generator, n, m, rng, p=spec.p, phi=spec.phi, radius=spec.radius, dim=spec.dim
    )
    ids = [f"p{j}" for j in range(m)]
    e = _election(ids, costs, float(spec.budget_fraction * costs.sum()), A)
    return e, A, utilities, spec.generator


def _call(entry: Any, *args: Any, **kw: Any) -> Any:
    """Call ``entry.func`` with the keywords of ``kw`` that its signature accepts."""
    sig = inspect.signature(entry.func).parameters
    return entry.func(*args, **{k: v for k, v in kw.items() if k in sig})


def _lottery_of(e: Any, selected: list[str]) -> Any:
    from fairsim.mechanisms._budgeting_lottery import Lottery

    chosen = set(selected)
    pm = np.array([1.0 if p in chosen else 0.0 for p in e.project_ids])
    return Lottery(list(e.project_ids), np.asarray(e.costs, dtype=np.float64), e.budget, pm)


def _run_mechanism(entry: Any, spec: Any, e_rep: Any, utility: str, seq: Any) -> tuple[Any, Any]:
    """``(selected ids, lottery or None)`` of one rule on the reported election."""
    params = dict(spec.params)
    if "utility" in entry.params and "utility" not in params:
        params["utility"] = utility
    if entry.randomized:
        rng = np.random.default_rng(seq)
        res = entry.func(e_rep, rng=rng, **params)
        if hasattr(res, "marginals"):
            return list(res.sample(rng)), res
        return list(getattr(res, "selected", res)), None
    res = entry.func(e_rep, **params)
    return list(getattr(res, "selected", res)), None


def _score(
    e: Any, selected: list[str], lottery: Any, axioms: Sequence[Any], metrics: Sequence[Any], u: str
) -> tuple[dict[str, float], dict[str, Any]]:
    mets = {m.short_name: float(m.func(e, selected)) for m in metrics}
    verdicts: dict[str, Any] = {}
    for a in axioms:
        sigkind = a.extra.get("signature", "outcome")
        if sigkind == "lottery":
            verdicts[a.short_name] = a.func(
                lottery if lottery is not None else _lottery_of(e, selected)
            )
        elif a.extra.get("stage") == "ex_ante":
            p = lottery.marginals if lottery is not None else _lottery_of(e, selected).marginals
            verdicts[a.short_name] = _call(a, e, np.asarray(p, dtype=np.float64), method="auto")
        else:
            verdicts[a.short_name] = _call(a, e, selected, utility=u, method="auto")
    return mets, verdicts


SEED_CARRY = 3
SEED_MESA = 5
YEAR_COLUMNS = ("satisfaction_gini", "min_share_ratio", "switched_share")


class PBElectionModel(mesa.Model):
    """Repeated PB elections of ONE mechanism as a Mesa model: one :meth:`step` per year.

    Each year (spec ``budgeting.md`` §11; the dynamics are fairsim's [F]):

    1. the year's instance is drawn (seed child ``(0, y)``, as the one-shot runner) and its
       behaviours assigned (``(1, y)``); with ``carry_over > 0`` fresh project ids get the prefix
       ``y<year>.`` and every project left unfunded last year is resubmitted with probability
       ``carry_over`` (uniforms of child ``(3, y)``, one per last year's project slot: paired
       across mechanisms) into its own slot, replacing that slot's fresh project and keeping
       its id, cost, approvals and utilities (voter i is the same citizen every year). On a
       fixed ``.pb`` file the fresh slate is the file's again, so a resubmission replaces its
       own fresh copy (never both side by side); the budget stays the fresh draw's;
    2. voters report (their behaviour; voters of a ``switched`` class then keep only their
       ``patience_k`` favourites), the rule selects (seed child ``(2, k, y)``), and metrics and
       axioms are scored on the TRUE ballots;
    3. the ballot-class agents (:func:`fairsim.agents.budgeting.voter_class_agent`, built from
       the first year's ballots) update satisfaction, spending and patience.

    Per year it records ``satisfaction_gini`` (weighted Gini across classes of their
    satisfaction summed over the years so far), ``min_share_ratio`` (the smallest ratio, over
    classes, of the class's cumulative share of the money spent to its proportional share
    weight/n; NaN before anything is spent) and ``switched_share`` (share of voters in switched
    classes). With ``years = 1``, ``carry_over = 0`` and no ``patience`` it computes exactly what
    the former one-shot loop computed.
    """

    def __init__(
        self,
        scenario: Any,
        mechanism_order: int,
        seed_seq: np.random.SeedSequence,
        base_dir: str | Path | None = None,
    ) -> None:
        super().__init__(rng=int(child_seed(seed_seq, SEED_MESA).generate_state(1)[0]))
        el = scenario.elections
        self.scenario = scenario
        self.k = int(mechanism_order)
        self.seq = seed_seq
        self.base_dir = base_dir
        self.years = int(el.years)
        self.carry_over = float(getattr(el, "carry_over", 0.0))
        self.patience = getattr(el, "patience", None)
        self.patience_k = int(getattr(el, "patience_k", 1))
        self.mspec = scenario.mechanisms[self.k]
        self.entry = registry.get(self.mspec.name, "mechanism", domain=_DOMAIN)
        self.axiom_entries = [registry.get(a, "axiom", domain=_DOMAIN) for a in scenario.axioms]
        self.metric_entries = [registry.get(m, "metric", domain=_DOMAIN) for m in scenario.metrics]
        self.year = 0
        self.failed: str | None = None
        self.per_year: list[tuple[dict[str, float], dict[str, Any]]] = []
        self.round_rows: list[dict[str, Any]] = []
        self.last: dict[str, Any] = {}
        self.carried: list[tuple[int, str, float, np.ndarray, np.ndarray]] = []
        self.class_of: np.ndarray | None = None
        self.class_agents: list[Any] = []
        self.class_satisfaction: np.ndarray = np.zeros(0)
        self.class_spent: np.ndarray = np.zeros(0)
        self.year_stats: dict[str, float] = {}
        self.project_ids: list[str] = []
        self.project_costs = np.zeros(0)
        self.funded = np.zeros(0, dtype=np.bool_)
        self.running = self.years > 0

    # -- one year ------------------------------------------------------------------------

    def _instance(self) -> tuple[Any, np.ndarray, np.ndarray, str, np.ndarray]:
        y = self.year
        rng = np.random.default_rng(child_seed(self.seq, 0, y))
        e, A, U, label = draw_instance(self.scenario.instances, rng, self.base_dir)
        shares = [b.share for b in self.scenario.behaviours]
        which = assign_behaviours(
            A.shape[0], shares, np.random.default_rng(child_seed(self.seq, 1, y))
        )
        if self.carry_over > 0:
            A, U = A.copy(), U.copy()
            ids = [f"y{y}.{p}" for p in e.project_ids]
            costs = np.asarray(e.costs, dtype=np.float64).copy()
            if self.carried:
                u = np.random.default_rng(child_seed(self.seq, SEED_CARRY, y)).uniform(
                    size=1 + max(c[0] for c in self.carried)
                )
                keep = [c for c in self.carried if u[c[0]] < self.carry_over]
                keep = [c for c in keep if c[3].shape[0] == A.shape[0] and c[0] < len(ids)]
                for slot, pid, cost, col, ucol in keep:
                    ids[slot], costs[slot] = pid, cost
                    A[:, slot], U[:, slot] = col, ucol
            e = _election(ids, costs, e.budget, A)
        return e, A, U, label, which

    def _classes(self, A: np.ndarray) -> None:
        self.class_of, _w, _b = agents.ballot_classes(A)
        cls = agents.voter_class_agent()
        order = np.argsort(self.class_of, kind="stable")
        bounds = np.cumsum(np.bincount(self.class_of))
        groups = np.split(order, bounds[:-1])
        self.class_agents = [cls(self, c, g) for c, g in enumerate(groups)]

    def _reports(self, A: np.ndarray, U: np.ndarray, which: np.ndarray) -> np.ndarray:
        R = A.copy()
        for b, bspec in enumerate(self.scenario.behaviours):
            idx = np.flatnonzero(which == b)
            if idx.size:
                f = registry.get(bspec.name, "behaviour", domain=_DOMAIN).func
                R[idx] = f(A[idx], U[idx], **bspec.params)
        switched = [a.members for a in self.class_agents if a.switched]
        if switched:
            idx = np.concatenate(switched)
            R[idx] = agents.truncate(A[idx], U[idx], self.patience_k)
        return R

    def _update_classes(self, A: np.ndarray, costs: np.ndarray, budget: float, funded: Any) -> None:
        assert self.class_of is not None
        x = funded.astype(np.float64) * costs
        u = A.astype(np.float64) @ x / (budget if budget > 0 else 1.0)
        w = np.bincount(self.class_of).astype(np.float64)
        self.class_satisfaction = np.bincount(self.class_of, weights=u) / w
        shares = agents.cost_shares(A, costs, funded)
        self.class_spent = np.bincount(self.class_of, weights=shares, minlength=w.size).astype(
            np.float64
        )
        self.agents.do("step")
        cum = np.array([sum(a.satisfaction) for a in self.class_agents])
        spent = np.array([a.spent for a in self.class_agents])
        n = float(w.sum())
        ratio = float(np.min((spent / spent.sum()) / (w / n))) if spent.sum() > 0 else float("nan")
        self.year_stats = {
            "satisfaction_gini": agents.weighted_gini(cum, w),
            "min_share_ratio": ratio,
            "switched_share": float(sum(a.weight for a in self.class_agents if a.switched) / n),
        }

    def step(self) -> None:
        """One election year (see the class docstring)."""
        y = self.year
        try:
            e, A, U, label, which = self._instance()
            if self.class_of is None:
                self._classes(A)
            R = self._reports(A, U, which)
            ids = list(e.project_ids)
            e_true = _election(ids, e.costs, e.budget, A)
            e_rep = _election(ids, e.costs, e.budget, R)
            self.last.update(distribution=label, n=int(A.shape[0]), m=len(ids))
            self.last["budget"] = float(e.budget)
            mseq = child_seed(self.seq, 2, self.k, y)
            selected, lottery = _run_mechanism(
                self.entry, self.mspec, e_rep, self.scenario.utility, mseq
            )
            mets, verdicts = _score(
                e_true,
                selected,
                lottery,
                self.axiom_entries,
                self.metric_entries,
                self.scenario.utility,
            )
            costs = np.asarray(e.costs, dtype=np.float64)
            chosen = set(selected)
            funded = np.array([p in chosen for p in ids], dtype=np.bool_)
            pos = {p: j for j, p in enumerate(ids)}
            cost = float(sum(float(costs[pos[p]]) for p in selected))
            self.project_ids, self.project_costs, self.funded = ids, costs, funded
            self._update_classes(A, costs, float(e.budget), funded)
            self.carried = [
                (j, ids[j], float(costs[j]), A[:, j].copy(), U[:, j].copy())
                for j in range(len(ids))
                if not funded[j]
            ]
        except Exception as exc:  # noqa: BLE001 - recorded in the error column
            self.failed = error_text(exc)
            self.running = False
            return
        self.last.update(selected=[str(p) for p in selected], cost=cost)
        self.per_year.append((mets, verdicts))
        if self.years > 1:
            rr = {
                "run_id": f"{self.seq.spawn_key[0]}-{self.seq.spawn_key[1]}",
                "design_point": int(self.seq.spawn_key[0]),
                "replication": int(self.seq.spawn_key[1]),
                "mechanism": self.mspec.display,
                "mechanism_order": self.k,
                "round": y,
                "outcome": cost,
                "selected": [str(p) for p in selected],
            }
            rr.update(self.year_stats)
            rr.update({S.METRIC_PREFIX + m: v for m, v in mets.items()})
            rr.update({S.AXIOM_PREFIX + a: _cell(v) for a, v in verdicts.items()})
            self.round_rows.append(rr)
        self.year += 1
        self.running = self.year < self.years

    def run(self) -> PBElectionModel:
        """Step through every year (stops at the first failing year)."""
        while self.running:
            self.step()
        return self


def run_one(
    scenario: Any, dp: int, rep: int, root_seed: int, base_dir: str | Path | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every mechanism of design point ``dp``, replication ``rep``: one
    :class:`PBElectionModel` per mechanism (see the module docstring)."""
    seq = np.random.SeedSequence(root_seed, spawn_key=(dp, rep))
    years = int(scenario.elections.years)
    base: dict[str, Any] = task_row(
        scenario,
        dp,
        rep,
        root_seed,
        behaviour=behaviour_label(scenario.behaviours),
        years=years,
    )
    rows = []
    round_rows: list[dict[str, Any]] = []
    for k, spec in enumerate(scenario.mechanisms):
        row = dict(base, mechanism=spec.display, mechanism_order=k)
        try:
            model = PBElectionModel(scenario, k, seq, base_dir)
            row.update(
                mechanism_name=model.entry.short_name, randomized=bool(model.entry.randomized)
            )
            model.run()
        except Exception as exc:  # noqa: BLE001 - recorded in the error column
            row.update(mechanism_name=spec.name, randomized=False, error=error_text(exc))
            rows.append(row)
            continue
        last = dict(model.last)
        row.update({c: last[c] for c in ("distribution", "n", "m", "budget") if c in last})
        if model.failed is not None or not model.per_year:
            row["error"] = model.failed or "no election year ran"
            rows.append(row)
            continue
        row.update(selected=last["selected"], cost=last["cost"])
        row.update(model.year_stats)
        _aggregate(row, model.per_year)
        rows.append(row)
        round_rows.extend(model.round_rows)
    round_rows.sort(key=lambda r: (r["round"], r.pop("mechanism_order")))
    return rows, round_rows


def _cell(v: Any) -> bool | None:
    """An axiom cell: the verdict, or None (null, left out of the report's shares) when the
    check was inconclusive (:attr:`fairsim.axioms.Verdict.inconclusive`)."""
    return None if getattr(v, "inconclusive", False) else bool(v.holds)


def _aggregate(row: dict[str, Any], years: list[tuple[dict[str, float], dict[str, Any]]]) -> None:
    """Metric means, axiom conjunctions, minimum slacks and the first failing witness."""
    for m in years[0][0]:
        row[S.METRIC_PREFIX + m] = float(np.mean([mets[m] for mets, _ in years]))
    for a in years[0][1]:
        cells = [_cell(v[a]) for _, v in years]
        # a violation in any year decides; else an open year leaves the cell open (null)
        row[S.AXIOM_PREFIX + a] = False if False in cells else None if None in cells else True
        row[S.SLACK_PREFIX + a] = float(min(float(v[a].slack) for _, v in years))
        witness = None
        for want in (False, None):
            for y, (_, v) in enumerate(years):
                if _cell(v[a]) is want:
                    w = v[a].witness
                    witness = dict(w, year=y) if isinstance(w, dict) and len(years) > 1 else w
                    break
            if witness is not None:
                break
        row[S.WITNESS_PREFIX + a] = witness_json(witness)


def schemas(points: Sequence[Any], kinds: Sequence[tuple[str, str]]) -> tuple[Any, Any]:
    """(results schema, rounds schema) of the PB design points ``points``."""
    axioms = store.registered_names(points, "axioms", "axiom", _DOMAIN)
    metrics = store.registered_names(points, "metrics", "metric", _DOMAIN)
    results = store.results_schema(kinds, metrics, axioms, head=HEAD, mid=MID)
    return results, store.scored_rounds_schema(ROUNDS_HEAD, metrics, axioms)


#: First spawn-key word of the analyses' seeds (as :data:`fairsim.sim.runner.ANALYSIS_KEY`).
ANALYSIS_KEY = 0xA7A1


def encode_instance(e: Any) -> list[float]:
    """``[n, m, B, costs..., ballots 0/1 row-major]`` of a one-voter-per-row election [F]."""
    A = np.asarray(e.approvals.toarray(), dtype=np.float64)
    mult = np.asarray(e.multiplicities, dtype=np.int64)
    A = np.repeat(A, mult, axis=0)
    head = [float(A.shape[0]), float(A.shape[1]), float(e.budget)]
    return head + [float(c) for c in e.costs] + A.reshape(-1).tolist()


def run_analyses(scenario: Any, root_seed: int) -> list[dict[str, Any]]:
    """Rows of ``analyses.parquet``: one per ``compatibility_search`` analysis and ``n``
    (spec ``budgeting.md`` §7; :func:`fairsim.axioms.budgeting.find_incompatibility`). Seeds:
    ``SeedSequence(root_seed, spawn_key=(ANALYSIS_KEY, analysis, n))``. Columns:
    ``mechanism`` = the combination, ``objective`` = generator and m, ``method`` = how the
    smallest witness was decided (``lp``, ``lp_fixed_t`` or ``bb1_pieces``; ``-`` without one), ``ratio`` = share of
    trials found incompatible, ``expected`` = ``expected_share``, ``profiles_checked`` = trials,
    ``worst_profile`` = :func:`encode_instance` of the smallest witness; errors go to ``error``.
    """
    from fairsim.agents.budgeting import election_sampler
    from fairsim.axioms.budgeting import find_incompatibility

    rows: list[dict[str, Any]] = []
    for a_idx, an in enumerate(getattr(scenario, "analyses", [])):
        for n in an.n:
            row: dict[str, Any] = {
                "analysis": an.id,
                "type": an.type,
                "mechanism": an.label,
                "n": int(n),
                "objective": f"{an.generator} m={an.m}",
                "method": "-",
                "profiles_checked": int(an.trials),
                "expected": an.expected_share,
            }
            try:
                seq = np.random.SeedSequence(root_seed, spawn_key=(ANALYSIS_KEY, a_idx, int(n)))
                sampler = election_sampler(
                    an.generator,
                    int(n),
                    int(an.m),
                    p=an.p,
                    radius=an.radius,
                    dim=an.dim,
                    cost_low=an.costs.low,
                    cost_high=an.costs.high,
                    budget_fraction=an.budget_fraction,
                )
                res = find_incompatibility(
                    sampler,
                    int(n),
                    int(an.m),
                    int(an.trials),
                    np.random.default_rng(seq),
                    ex_post=tuple(an.ex_post),
                    ex_ante=tuple(an.ex_ante),
                    bb1=an.bb1,
                    utility=an.utility,
                    bb1_reference=an.bb1_reference,
                )
                row["ratio"] = len(res.found) / res.trials
                if res.smallest is not None:
                    _, e, cres = res.smallest
                    row["worst_profile"] = encode_instance(e)
                    row["method"] = str(cres.details.get("decided_by", "-"))
            except Exception as exc:  # noqa: BLE001 - recorded in the error column
                row["error"] = error_text(exc)
            rows.append(row)
    return rows


__all__ = [
    "ANALYSIS_KEY",
    "PBElectionModel",
    "draw_instance",
    "encode_instance",
    "run_analyses",
    "run_one",
    "schemas",
]
