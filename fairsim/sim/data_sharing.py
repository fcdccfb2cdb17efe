"""The data-sharing plugin of the batch runner (:mod:`fairsim.sim.domains`) [F].

One task = one ``(design point, replication)``. Seeds (children of
``SeedSequence(root, spawn_key=(dp, rep))``): ``(0,)`` the task and validation rows, ``(1, i)``
party ``i``'s private data, ``(2, i)`` its behaviour, ``(3, r)`` the estimator of round ``r``.

Each round ``r = 1..rounds`` the present parties (``join_round <= r``) form the game
``v(S)`` = validation score of a model trained on their contributed data
(:class:`fairsim.mechanisms._games_model.ModelUtilityGame`, cached by coalition, shared by all
mechanisms: a paired comparison). Their Shapley values come from the scenario's estimator; each
reward rule (``data_sharing.<name>`` mechanisms below) maps them to rewards. Axioms are the
incentive conditions R1-R6 of Sim et al. (ICML 2020) as formalised in spec ``valuation.md`` §10;
F1/F2 are checked exactly on the full table (n <= 12 present parties).

Rows: ``values`` / ``rewards`` (lists over all parties, NaN for parties absent in the last round)
are the last round's; ``metric.*`` is the mean over rounds, ``axiom.*`` holds when it holds every
round (``slack.*`` the minimum, ``witness.*`` the first failing round's with its ``"round"``).
With ``rounds > 1`` each round is a row of ``rounds.parquet``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

import fairsim.agents.data_sharing as agents
from fairsim import registry
from fairsim.axioms import Verdict
from fairsim.axioms import valuation as AV
from fairsim.errors import InputError
from fairsim.mechanisms import rewards as RW
from fairsim.mechanisms.games import BaseGame
from fairsim.registry import register
from fairsim.sim import schema as S
from fairsim.sim import store
from fairsim.sim._plugin_common import error_text, task_row
from fairsim.sim.facility import child_seed, witness_json

_DOMAIN = "data_sharing"
MAX_TABLE = 12
HEAD = list(store.FACILITY_HEAD)  # distribution, behaviour
MID = [
    ("n_parties", pa.int64()),
    ("rounds", pa.int64()),
    ("estimator", pa.string()),
    ("rho", pa.float64()),
    ("behaviours", pa.list_(pa.string())),
    ("values", pa.list_(pa.float64())),
    ("rewards", pa.list_(pa.float64())),
]
ROUNDS_HEAD = [
    *store.ROUNDS_KEY,
    ("outcome", pa.float64()),
    ("values", pa.list_(pa.float64())),
    ("rewards", pa.list_(pa.float64())),
]


class SubGame(BaseGame):
    """The gain game ``v(S) - v(empty)`` restricted to the players ``present`` [F].

    Sim et al. (2020) value parties by information gain, so ``v(empty) = 0``; fairsim likewise
    scores coalitions by the gain over the constant predictor, which makes a useless party's
    standalone value 0 (otherwise individual rationality forces ``rho = 0``).
    """

    def __init__(self, game: Any, present: np.ndarray):
        super().__init__(int(present.size))
        self.game, self.present = game, present
        self.base = float(game.value(np.zeros(game.n_players, dtype=bool))[0])

    def _value(self, c: np.ndarray) -> np.ndarray:
        full = np.zeros((c.shape[0], self.game.n_players), dtype=bool)
        full[:, self.present] = c
        return self.game.value(full) - self.base


class FreeDisposalGame(BaseGame):
    """``v'(S) = max_{T subset S} v(T)`` (free disposal: a coalition may leave out members' data) [F].

    Monotone by construction, as Sim et al. (2020) assume; null and symmetric parties of ``v``
    stay null and symmetric. Built from the full table (``n <= 12``) by a superset-max pass.
    """

    def __init__(self, game: Any):
        n = game.n_players
        if n > MAX_TABLE:
            raise InputError(f"free_disposal needs <= {MAX_TABLE} present parties; got {n}")
        super().__init__(n)
        self.game = game
        self.base = getattr(game, "base", 0.0)
        rows = (np.arange(1 << n)[:, None] >> np.arange(n)[None, :]) & 1 == 1
        t = np.asarray(game.value(rows), dtype=np.float64).copy()
        masks = np.arange(1 << n)
        for i in range(n):
            has = (masks >> i) & 1 == 1
            t[has] = np.maximum(t[has], t[masks[has] ^ (1 << i)])
        self._table = t

    def _value(self, c: np.ndarray) -> np.ndarray:
        return self._table[c.astype(np.int64) @ (1 << np.arange(self.n_players))]


class Context:
    """Everything the reward rules, axioms and metrics of one round see."""

    def __init__(self, game: Any, values: np.ndarray, join: np.ndarray, kinds: list[str]):
        n = game.n_players
        self.game, self.values, self.join, self.kinds = game, values, join, kinds
        eye = np.eye(n, dtype=bool)
        v = game.value(np.concatenate([np.zeros((1, n), bool), np.ones((1, n), bool), eye]))
        self.v_empty, self.v_grand, self.v_single = float(v[0]), float(v[1]), v[2:]
        self.exact: np.ndarray | None = None
        self._table: np.ndarray | None = None

    def table(self) -> np.ndarray | None:
        """All ``2^n`` values (bitmask order) for ``n <= 12``, else None."""
        n = self.game.n_players
        if self._table is None and n <= MAX_TABLE:
            rows = (np.arange(1 << n)[:, None] >> np.arange(n)[None, :]) & 1 == 1
            self._table = self.game.value(rows)
        return self._table


# ---- reward rules -------------------------------------------------------------------------


@register("data_sharing.proportional", "mechanism", params={})
def proportional(ctx: Context) -> tuple[np.ndarray, float]:
    """Proportional to the (clipped) Shapley values, summing to ``v(N)`` [fairsim]."""
    return RW.proportional(ctx.values, ctx.v_grand), float("nan")


@register(
    "data_sharing.rho_shapley",
    "mechanism",
    claims=("individual_rationality", "stability", "weak_efficiency"),
    params={"rho": {"default": None}, "stability": {"default": True}},
)
def rho_shapley(
    ctx: Context, rho: float | None = None, stability: bool = True
) -> tuple[np.ndarray, float]:
    """rho-Shapley (Sim et al. 2020, spec §10); ``rho=None`` takes the IR (and stability) bound."""
    top = None
    if stability and rho is None:
        top = ctx.game.value(ctx.values[None, :] <= ctx.values[:, None])
    res = RW.rho_shapley(ctx.values, ctx.v_grand, ctx.v_single, rho, v_top_coalitions=top)
    return res.rewards, res.rho


@register(
    "data_sharing.time_aware",
    "mechanism",
    params={"epoch_weights": {"default": "uniform"}, "rho": {"default": None}},
)
def time_aware(
    ctx: Context, epoch_weights: str = "uniform", rho: float | None = None
) -> tuple[np.ndarray, float]:
    """fairsim's time-aware cumulative rule (spec §11) with the parties' join rounds as epochs."""
    t = (ctx.join - ctx.join.min() + 1).astype(np.int64)
    res = RW.time_aware_rewards(ctx.game, t, epoch_weights=epoch_weights, rho=rho)
    return res.rewards, res.rho


# ---- axioms (spec §10, R1-R6, F1, F2) ------------------------------------------------------


def _bound(name: str, gap: np.ndarray, label: str) -> Verdict:
    k = int(np.argmin(gap))
    slack = float(gap[k])
    return Verdict(name, slack >= 0, None if slack >= 0 else {"party": k, label: slack}, slack)


@register("data_sharing.non_negativity", "axiom")
def non_negativity(ctx: Context, r: np.ndarray, atol: float = 1e-9) -> Verdict:
    """R1: ``r_i >= 0``."""
    return _bound("non_negativity", r + atol, "reward")


@register("data_sharing.feasibility", "axiom")
def feasibility(ctx: Context, r: np.ndarray, atol: float = 1e-9) -> Verdict:
    """R2: ``r_i <= v(N)``."""
    return _bound("feasibility", ctx.v_grand - r + atol, "excess")


@register("data_sharing.weak_efficiency", "axiom")
def weak_efficiency(ctx: Context, r: np.ndarray, atol: float = 1e-9) -> Verdict:
    """R3: some party gets ``v(N)``."""
    slack = float(atol - np.min(np.abs(r - ctx.v_grand)))
    wit = None if slack >= 0 else {"max_reward": float(r.max()), "v_grand": ctx.v_grand}
    return Verdict("weak_efficiency", slack >= 0, wit, slack)


@register("data_sharing.individual_rationality", "axiom")
def individual_rationality(ctx: Context, r: np.ndarray, atol: float = 1e-9) -> Verdict:
    """R4: ``r_i >= v({i})`` (:func:`fairsim.axioms.valuation.individual_rationality`)."""
    return AV.individual_rationality(r, ctx.v_single, atol)


@register("data_sharing.stability", "axiom")
def stability(ctx: Context, r: np.ndarray, atol: float = 1e-9) -> Verdict:
    """R6: ``r_i >= v(C_i)``, ``C_i = {j: phi_j <= phi_i}`` (:func:`fairsim.axioms.valuation.stability`)."""
    return AV.stability(r, ctx.values, ctx.game, atol)


def _marginals(tab: np.ndarray, n: int, i: int) -> np.ndarray:
    masks = np.arange(1 << n)
    without = masks[(masks >> i) & 1 == 0]
    return tab[without | (1 << i)] - tab[without]


@register("data_sharing.uselessness", "axiom")
def uselessness(ctx: Context, r: np.ndarray, atol: float = 1e-9) -> Verdict:
    """R5/F1: a party with ``Delta_i = 0`` on every coalition gets ``r_i = 0`` (exact, n <= 12)."""
    tab = ctx.table()
    n = ctx.game.n_players
    if tab is None:
        return Verdict("uselessness", True, None, float("nan"))
    slack, wit = float("inf"), None
    for i in range(n):
        if np.all(np.abs(_marginals(tab, n, i)) <= 1e-12):
            s = atol - abs(float(r[i]))
            if s < slack:
                slack, wit = s, {"party": i, "reward": float(r[i])}
    return Verdict("uselessness", slack >= 0, None if slack >= 0 else wit, slack)


@register("data_sharing.symmetry", "axiom")
def symmetry(ctx: Context, r: np.ndarray, atol: float = 1e-9) -> Verdict:
    """R5/F2: parties with ``v(S+i) = v(S+j)`` for all ``S`` get equal rewards (exact, n <= 12)."""
    tab = ctx.table()
    n = ctx.game.n_players
    if tab is None:
        return Verdict("symmetry", True, None, float("nan"))
    masks = np.arange(1 << n)
    slack, wit = float("inf"), None
    for i in range(n):
        for j in range(i + 1, n):
            s_ = masks[((masks >> i) & 1 == 0) & ((masks >> j) & 1 == 0)]
            if np.all(np.abs(tab[s_ | (1 << i)] - tab[s_ | (1 << j)]) <= 1e-12):
                s = atol - abs(float(r[i] - r[j]))
                if s < slack:
                    slack, wit = s, {"pair": [i, j], "rewards": [float(r[i]), float(r[j])]}
    return Verdict("symmetry", slack >= 0, None if slack >= 0 else wit, slack)


@register("data_sharing.fairness_correlation", "axiom")
def fairness_correlation(ctx: Context, r: np.ndarray, atol: float = 1e-9) -> Verdict:
    """Pearson correlation of rewards with Shapley values ``>= 0.5`` [fairsim]."""
    return AV.fairness_correlation(ctx.values, r, "pearson", 0.5)


# ---- metrics ---------------------------------------------------------------------------------


@register("data_sharing.accuracy", "metric")
def accuracy(ctx: Context, r: np.ndarray, evaluations: int) -> float:
    """Score ``v(N)`` of the model trained by all present parties (not the gain)."""
    return ctx.v_grand + float(ctx.game.base)


@register("data_sharing.reward_fairness", "metric")
def reward_fairness(ctx: Context, r: np.ndarray, evaluations: int) -> float:
    """Pearson correlation of rewards with standalone contributions ``v({i}) - v(empty)`` [F]."""
    a = ctx.v_single - ctx.v_empty
    if np.ptp(a) == 0 or np.ptp(r) == 0:
        return float("nan")
    return float(np.corrcoef(a, r)[0, 1])


@register("data_sharing.ir_violations", "metric")
def ir_violations(ctx: Context, r: np.ndarray, evaluations: int) -> float:
    """Number of parties with ``r_i < v({i}) - 1e-9``."""
    return float(np.sum(r < ctx.v_single - 1e-9))


@register("data_sharing.evaluations", "metric")
def evaluations_metric(ctx: Context, r: np.ndarray, evaluations: int) -> float:
    """Game evaluations the estimator used this round (its cost)."""
    return float(evaluations)


@register("data_sharing.estimator_error", "metric")
def estimator_error(ctx: Context, r: np.ndarray, evaluations: int) -> float:
    """``max_i |phi_hat_i - phi_i|`` against exact Shapley (n <= 12 present parties, else NaN)."""
    if ctx.exact is None:
        return float("nan")
    return float(np.max(np.abs(ctx.values - ctx.exact)))


@register("data_sharing.free_rider_lowest", "metric")
def free_rider_lowest(ctx: Context, r: np.ndarray, evaluations: int) -> float:
    """1 if every free rider's reward is below every other party's, 0 if not, NaN without one."""
    fr = np.array([k == "free_rider" for k in ctx.kinds])
    if not fr.any() or fr.all():
        return float("nan")
    return float(r[fr].max() < r[~fr].min())


# ---- the task --------------------------------------------------------------------------------


def build_parties(
    scenario: Any, seq: np.random.SeedSequence
) -> tuple[Any, list[agents.Contribution], list[str], np.ndarray, np.ndarray]:
    """``(task, contributions, behaviour names, X_val, y_val)`` of one replication."""
    d = scenario.data
    rng = np.random.default_rng(child_seed(seq, 0))
    task = agents.make_task(rng, d.n_features, d.n_classes, d.class_sep)
    Xv, yv = agents.draw_rows(task, d.n_val, rng)
    specs = [p for p in scenario.parties for _ in range(p.copies)]
    private = [
        agents.draw_rows(task, p.size, np.random.default_rng(child_seed(seq, 1, i)), p.label_noise)
        for i, p in enumerate(specs)
    ]
    contrib = []
    for i, p in enumerate(specs):
        f = registry.get(p.behaviour, "behaviour", domain=_DOMAIN).func
        rng_b = np.random.default_rng(child_seed(seq, 2, i))
        X, y = private[i]
        contrib.append(
            f(X, y, p.join_round, rng=rng_b, n_classes=d.n_classes, private=private, **p.params)
        )
    return task, contrib, [p.behaviour for p in specs], Xv, yv


def make_game(
    scenario: Any, contrib: list[agents.Contribution], Xv: Any, yv: Any, seed: int = 0
) -> Any:
    """The cached model-utility game over all parties."""
    from fairsim.mechanisms._games_model import ModelUtilityGame

    d, m = scenario.data, scenario.model
    X = np.concatenate([c.X for c in contrib]).reshape(-1, d.n_features)
    y = np.concatenate([c.y for c in contrib]).astype(np.int64)
    own = np.repeat(np.arange(len(contrib)), [c.X.shape[0] for c in contrib])
    if X.shape[0] == 0:
        raise InputError("no party contributes any rows")
    return ModelUtilityGame(
        X, y, own, Xv, yv, model=m.model, backend=m.backend, device=m.device, epochs=m.epochs,
        lr=m.lr, l2=m.l2, hidden=m.hidden, metric=m.metric, n_players=len(contrib),
        n_classes=d.n_classes, seed=seed, solver=m.solver, layout=m.layout,
    )  # fmt: skip


def _value_round(scenario: Any, sub: Any, seq: Any, r: int) -> tuple[np.ndarray, int, Any]:
    from fairsim.mechanisms.valuation import shapley

    est = scenario.estimator
    before = sub.game.evaluations
    if est.method == "exact":
        val = shapley(sub)
    else:
        val = shapley(
            sub,
            method=est.method,
            budget=est.budget,
            rng=np.random.default_rng(child_seed(seq, 3, r)),
        )
    phi = np.asarray(val.values, dtype=np.float64)
    phi = np.where(np.abs(phi) <= 1e-12, 0.0, phi)  # rounding noise of null players [F]
    return phi, int(val.evaluations or sub.game.evaluations - before), val


def run_one(
    scenario: Any, dp: int, rep: int, root_seed: int, base_dir: Any = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every reward rule of design point ``dp``, replication ``rep`` (module docstring)."""
    seq = np.random.SeedSequence(root_seed, spawn_key=(dp, rep))
    run_id = f"{dp}-{rep}"
    mechs = scenario.mechanisms
    axioms = [registry.get(a, "axiom", domain=_DOMAIN) for a in scenario.axioms]
    metrics = [registry.get(m, "metric", domain=_DOMAIN) for m in scenario.metrics]
    n_all = scenario.n_parties
    base: dict[str, Any] = task_row(
        scenario,
        dp,
        rep,
        root_seed,
        n=n_all,
        n_parties=n_all,
        rounds=int(scenario.rounds),
        estimator=scenario.estimator.method,
        distribution="synthetic_gaussian",
    )
    rows = []
    for k, spec in enumerate(mechs):
        entry = registry.get(spec.name, "mechanism", domain=_DOMAIN)
        row = dict(base, mechanism=spec.display, mechanism_name=entry.short_name)
        row.update(mechanism_order=k, randomized=False)
        rows.append(row)
    round_rows: list[dict[str, Any]] = []
    per: list[list[tuple[dict[str, float], dict[str, Verdict]]]] = [[] for _ in mechs]
    try:
        _, contrib, kinds, Xv, yv = build_parties(scenario, seq)
        game = make_game(scenario, contrib, Xv, yv, int(child_seed(seq, 4).generate_state(1)[0]))
        join = np.array([c.join_round for c in contrib])
        beh = sorted(set(kinds))
        for row in rows:
            row.update(behaviour="+".join(beh), behaviours=kinds)
        for r in range(1, int(scenario.rounds) + 1):
            present = np.flatnonzero(join <= r)
            if present.size == 0:
                continue
            sub: Any = SubGame(game, present)
            if scenario.free_disposal:
                sub = FreeDisposalGame(sub)
            phi, n_eval, _ = _value_round(scenario, sub, seq, r)
            ctx = Context(sub, phi, join[present], [kinds[i] for i in present])
            if present.size <= MAX_TABLE:
                from fairsim.mechanisms.valuation import shapley

                ctx.exact = phi if scenario.estimator.method == "exact" else shapley(sub).values
            for k, spec in enumerate(mechs):
                entry = registry.get(spec.name, "mechanism", domain=_DOMAIN)
                rew, rho = entry.func(ctx, **spec.params)
                rew = np.asarray(rew, dtype=np.float64)
                mets = {m.short_name: float(m.func(ctx, rew, n_eval)) for m in metrics}
                verdicts = {a.short_name: a.func(ctx, rew) for a in axioms}
                per[k].append((mets, verdicts))
                vals_all = np.full(n_all, np.nan)
                rew_all = np.full(n_all, np.nan)
                vals_all[present], rew_all[present] = phi, rew
                rows[k].update(values=vals_all.tolist(), rewards=rew_all.tolist(), rho=rho)
                if scenario.rounds > 1:
                    rr: dict[str, Any] = {
                        "run_id": run_id,
                        "design_point": dp,
                        "replication": rep,
                        "mechanism": spec.display,
                        "round": r,
                        "outcome": ctx.v_grand + ctx.game.base,
                        "values": vals_all.tolist(),
                        "rewards": rew_all.tolist(),
                    }
                    rr.update({S.METRIC_PREFIX + m: v for m, v in mets.items()})
                    rr.update({S.AXIOM_PREFIX + a: bool(v.holds) for a, v in verdicts.items()})
                    round_rows.append(rr)
    except Exception as exc:  # noqa: BLE001 - recorded in the error column
        for row in rows:
            for key in ("values", "rewards", "rho"):
                row.pop(key, None)
            row["error"] = error_text(exc)
        return rows, []
    for k, row in enumerate(rows):
        if per[k]:
            _aggregate(row, per[k])
    return rows, round_rows


def _aggregate(row: dict[str, Any], rounds: list[tuple[dict[str, float], dict[str, Any]]]) -> None:
    for m in rounds[0][0]:
        vals = [mets[m] for mets, _ in rounds]
        row[S.METRIC_PREFIX + m] = float(np.nanmean(vals)) if np.any(np.isfinite(vals)) else None
    for a in rounds[0][1]:
        row[S.AXIOM_PREFIX + a] = all(bool(v[a].holds) for _, v in rounds)
        sl = [float(v[a].slack) for _, v in rounds if np.isfinite(v[a].slack)]
        row[S.SLACK_PREFIX + a] = min(sl) if sl else None
        witness = None
        for r, (_, v) in enumerate(rounds, start=1):
            if not v[a].holds:
                w = v[a].witness
                witness = dict(w, round=r) if isinstance(w, dict) else w
                break
        row[S.WITNESS_PREFIX + a] = witness_json(witness)


def schemas(points: Sequence[Any], kinds: Sequence[tuple[str, str]]) -> tuple[Any, Any]:
    """(results schema, rounds schema) of the data-sharing design points ``points``."""
    axioms = store.registered_names(points, "axioms", "axiom", _DOMAIN)
    metrics = store.registered_names(points, "metrics", "metric", _DOMAIN)
    results = store.results_schema(kinds, metrics, axioms, head=HEAD, mid=MID)
    return results, store.scored_rounds_schema(ROUNDS_HEAD, metrics, axioms)


def run_analyses(scenario: Any, root_seed: int) -> list[dict[str, Any]]:
    """Data-sharing scenarios have no analyses (an empty list)."""
    return []


__all__ = ["Context", "SubGame", "build_parties", "make_game", "run_analyses", "run_one", "schemas"]
