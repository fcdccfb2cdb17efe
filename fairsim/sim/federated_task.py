"""The federated-learning plugin of the batch runner (:mod:`fairsim.sim.domains`) [F].

One task = one ``(design point, replication)``. Every mechanism of the scenario runs
:func:`fairsim.sim.federated.simulate` with the same integer seed, drawn from
``SeedSequence(root, spawn_key=(dp, rep))``, so all of them see the same data, partition, client
behaviours and participation draws (a paired comparison; spec ``federated.md`` §2.3). Standalone
accuracies (each client trained alone) depend on the seed only, so they are computed once, with the
first mechanism that succeeds, and reused for the others' fairness correlations.

Result rows (one per mechanism): the lists ``client_types``, ``removed`` (clients flagged at the
last round: removed by RFFL, else normalised cumulative contribution below ``1/(3K)``; spec §5),
``contributions``, ``standalone`` and ``client_accuracy``; the metrics of :data:`METRICS` and the
axioms of :data:`AXIOMS` (with slack and witness). ``metric.d_<m>`` is this mechanism's metric
minus that of the scenario's ``compare_to`` mechanism on the same run (NaN without one).

Performance fairness (FedCE's target; Jiang et al., CVPR 2023): ``metric.local_acc_std`` and
``metric.local_acc_min`` are the population standard deviation and the minimum, over honest
clients, of the final accuracy of the model each client holds on its own local validation split
(``FederatedResult.local_accuracy``); ``metric.local_acc_mean`` is their mean [F].

Reference estimator [F]: with ``reference: <label>`` in the scenario, ``metric.rank_corr_ref`` is
the Spearman correlation over all clients between a mechanism's final contributions and the
reference mechanism's on the same run, and ``metric.eval_ratio_ref`` its server-side model
evaluations divided by the reference's (NaN without a reference, when either row errored, for a
constant vector or zero reference evaluations). Observers (GTG, MR-exact, OR, LOO) keep FedAvg's
aggregation and draw from their own estimator stream, so they follow exactly FedAvg's trajectory
and value the same updates.

Round rows (``rounds.parquet``, rounds 1..T): ``outcome`` and ``metric.accuracy`` (global test
accuracy), ``metric.gap`` (equality gap over honest clients), ``metric.fr_contribution`` /
``metric.honest_contribution`` (contribution shares, below), ``metric.participants``, and the
per-client lists ``contributions`` and ``client_accuracy``, and ``metric.local_acc_std`` (below).

Contribution share [F]: ``K * c_i / sum_j |c_j|`` of the cumulative contributions ``c``, averaged
over the group (free riders, honest clients); 1 is an equal share, 0 nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from fairsim.axioms import Verdict
from fairsim.scenarios.schema_federated import fed_get
from fairsim.sim import schema as S
from fairsim.sim import store
from fairsim.sim._plugin_common import error_text, task_row
from fairsim.sim.facility import witness_json

_DOMAIN = "federated"
#: Client kinds counted as honest in fairness and false-positive statistics (spec §5).
HONEST = ("honest", "noisy")
FREE_RIDER = "free_rider"

METRICS = (
    "accuracy",
    "fairness",
    "fairness_spearman",
    "detection_rate",
    "false_positive_rate",
    "detection_round",
    "gap_final",
    "gap_auc",
    "gap_peak",
    "comm_mb",
    "evaluations",
    "fr_contribution",
    "honest_contribution",
    "local_acc_mean",
    "local_acc_std",
    "local_acc_min",
)
#: Metrics compared with the ``compare_to`` mechanism (``metric.d_<name>``).
DELTA_METRICS = ("accuracy", "fairness", "gap_final", "gap_auc", "local_acc_std", "local_acc_min")
#: Metrics against the scenario's ``reference`` mechanism (module docstring).
REF_METRICS = ("rank_corr_ref", "eval_ratio_ref")
ALL_METRICS = METRICS + tuple(f"d_{m}" for m in DELTA_METRICS) + REF_METRICS
AXIOMS = ("free_riders_removed", "adversaries_removed", "no_honest_removed", "gap_narrows")
ROUND_METRICS = (
    "accuracy",
    "gap",
    "fr_contribution",
    "honest_contribution",
    "participants",
    "local_acc_std",
)

HEAD = list(store.FACILITY_HEAD)  # distribution, behaviour
MID = [
    ("n_clients", pa.int64()),
    ("n_rounds", pa.int64()),
    ("partition", pa.string()),
    ("model", pa.string()),
    ("client_types", pa.list_(pa.string())),
    ("removed", pa.list_(pa.int64())),
    ("contributions", pa.list_(pa.float64())),
    ("standalone", pa.list_(pa.float64())),
    ("client_accuracy", pa.list_(pa.float64())),
]
ROUNDS_HEAD = [
    *store.ROUNDS_KEY,
    ("outcome", pa.float64()),
    ("contributions", pa.list_(pa.float64())),
    ("client_accuracy", pa.list_(pa.float64())),
]


def task_seed(root_seed: int, dp: int, rep: int) -> int:
    """The integer seed every mechanism of task ``(dp, rep)`` passes to ``simulate``."""
    seq = np.random.SeedSequence(root_seed, spawn_key=(dp, rep))
    return int(seq.generate_state(1, dtype=np.uint32)[0])


def simulate_kwargs(scenario: Any) -> dict[str, Any]:
    """The keyword arguments of :func:`fairsim.sim.federated.simulate` common to all mechanisms."""
    d, t = scenario.data, scenario.training
    return {
        "n_clients": scenario.n_clients,
        "rounds": scenario.rounds,
        "client_types": scenario.types(),
        "dataset": d.dataset,
        "n_samples": d.n_samples,
        "n_features": d.n_features,
        "n_classes": d.n_classes,
        "partition": d.partition,
        "alpha": d.alpha,
        "model": t.model,
        "hidden": t.hidden,
        "local_steps": t.local_steps,
        "batch_size": t.batch_size,
        "lr": t.lr,
        "participation": scenario.participation,
        "participation_rate": scenario.participation_rate,
        "behaviour_params": scenario.behaviour_params() or None,
        "device": t.device,
        "dtype": t.dtype,
        "backend": t.backend,
    }


# ---- scores of one simulation ----------------------------------------------------------------


def contribution_shares(c: np.ndarray, mask: np.ndarray) -> float:
    """Mean over ``mask`` of ``K c_i / sum_j |c_j|`` (module docstring); NaN if empty or all 0."""
    c = np.asarray(c, dtype=np.float64)
    tot = float(np.abs(c).sum())
    if not mask.any() or tot == 0.0 or not np.isfinite(tot):
        return math.nan
    return float(c.size * c[mask].mean() / tot)


def pearson_spearman(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Pearson and Spearman correlation of ``x`` and ``y``; NaN for < 2 points or a constant."""
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan, math.nan
    from scipy import stats

    return float(np.corrcoef(x, y)[0, 1]), float(stats.spearmanr(x, y).statistic)


def gap_narrows(gap: np.ndarray) -> Verdict:
    """``gap(T) <= max_t gap(t) / 2`` [F]: the equality gap ends at most half as wide as at its
    peak (zero throughout counts as narrow); slack ``peak / 2 - gap(T)``."""
    g = np.asarray(gap, dtype=np.float64)
    if g.size == 0 or not np.all(np.isfinite(g)):
        return Verdict("gap_narrows", False, {"reason": "no finite gap series"}, math.nan)
    final, peak = float(g[-1]), float(g.max())
    slack = peak / 2 - final
    holds = bool(slack >= 0)
    wit = None if holds else {"gap_final": final, "gap_peak": peak}
    return Verdict("gap_narrows", holds, wit, slack)


def flag_verdicts(flags: np.ndarray, types: Sequence[str]) -> dict[str, Verdict]:
    """The detection axioms from the final flags (spec §5): ``free_riders_removed`` (every free
    rider flagged, no honest client flagged), ``adversaries_removed`` (every non-honest client
    flagged, no honest one) and ``no_honest_removed``; slack ``rate - fpr - 1`` resp. ``-fpr``."""
    t = np.asarray(types)
    honest = np.isin(t, HONEST)
    fr, adv = t == FREE_RIDER, ~honest
    fpr = float(flags[honest].mean()) if honest.any() else 0.0
    wrong = np.flatnonzero(flags & honest).tolist()
    out = {}
    for name, group in (("free_riders_removed", fr), ("adversaries_removed", adv)):
        rate = float(flags[group].mean()) if group.any() else 1.0
        missed = np.flatnonzero(group & ~flags).tolist()
        holds = not missed and not wrong
        wit = None if holds else {"missed": missed, "honest_flagged": wrong}
        out[name] = Verdict(name, holds, wit, rate - fpr - 1.0)
    out["no_honest_removed"] = Verdict(
        "no_honest_removed", not wrong, {"honest_flagged": wrong} if wrong else None, -fpr
    )
    return out


def local_stats(local_acc: Any, honest: np.ndarray) -> dict[str, float]:
    """Mean, population std and min over ``honest`` of the local-validation accuracies (NaN when
    there is no finite value)."""
    a = np.asarray(local_acc, dtype=np.float64)
    if a.shape != honest.shape:
        return {"local_acc_mean": math.nan, "local_acc_std": math.nan, "local_acc_min": math.nan}
    a = a[honest]
    a = a[np.isfinite(a)]
    if a.size == 0:
        return {"local_acc_mean": math.nan, "local_acc_std": math.nan, "local_acc_min": math.nan}
    return {
        "local_acc_mean": float(a.mean()),
        "local_acc_std": float(a.std()),
        "local_acc_min": float(a.min()),
    }


def score(
    res: Any, types: Sequence[str], standalone: np.ndarray | None, personal: bool
) -> tuple[dict[str, float], dict[str, Verdict], np.ndarray]:
    """``(metrics, verdicts, final flags)`` of one ``FederatedResult``."""
    t = np.asarray(types)
    honest, fr = np.isin(t, HONEST), t == FREE_RIDER
    hist = res.history
    flags_hist = np.asarray(hist["flagged"], dtype=bool)
    flags = flags_hist[-1] if flags_hist.size else np.zeros(t.size, dtype=bool)
    contrib = np.asarray(res.contributions, dtype=np.float64)
    fair, fair_s = float(res.fairness), float(res.fairness_spearman)
    if standalone is not None:  # the task's shared standalone accuracies (module docstring)
        outcome = np.asarray(res.client_accuracy if personal else np.nan_to_num(contrib), float)
        fair, fair_s = pearson_spearman(standalone[honest], outcome[honest])
    gap = np.asarray(hist["gap"], dtype=np.float64)
    mets = {
        "accuracy": float(res.accuracy),
        "fairness": fair,
        "fairness_spearman": fair_s,
        "detection_rate": float(res.detection_rate),
        "false_positive_rate": float(res.false_positive_rate),
        "detection_round": float(res.mean_detection_round),
        "gap_final": float(res.gap_final),
        "gap_auc": float(res.gap_auc),
        "gap_peak": float(np.nanmax(gap)) if gap.size and np.isfinite(gap).any() else math.nan,
        "comm_mb": float(res.comm_mb_total),
        "evaluations": float(res.evaluations),
        "fr_contribution": contribution_shares(contrib, fr),
        "honest_contribution": contribution_shares(contrib, honest),
        **local_stats(getattr(res, "local_accuracy", None), honest),
    }
    verdicts = flag_verdicts(flags, types)
    verdicts["gap_narrows"] = gap_narrows(gap)
    return mets, verdicts, flags


def round_rows(res: Any, types: Sequence[str], head: dict[str, Any]) -> list[dict[str, Any]]:
    """One ``rounds.parquet`` row per round (module docstring)."""
    t = np.asarray(types)
    honest, fr = np.isin(t, HONEST), t == FREE_RIDER
    h = res.history
    acc = np.asarray(h["accuracy"], dtype=np.float64)
    contrib = np.asarray(h["contributions"], dtype=np.float64)
    cacc = np.asarray(h["client_accuracy"], dtype=np.float64)
    part = np.asarray(h["participants"], dtype=bool)
    gap = np.asarray(h["gap"], dtype=np.float64)
    lacc = h.get("local_accuracy")
    rows = []
    for r in range(acc.size):
        rows.append(
            dict(
                head,
                round=r + 1,
                outcome=float(acc[r]),
                contributions=contrib[r].tolist(),
                client_accuracy=cacc[r].tolist(),
                **{
                    S.METRIC_PREFIX + "accuracy": float(acc[r]),
                    S.METRIC_PREFIX + "gap": float(gap[r]),
                    S.METRIC_PREFIX + "fr_contribution": contribution_shares(contrib[r], fr),
                    S.METRIC_PREFIX + "honest_contribution": contribution_shares(
                        contrib[r], honest
                    ),
                    S.METRIC_PREFIX + "participants": float(part[r].sum()),
                    S.METRIC_PREFIX + "local_acc_std": (
                        math.nan if lacc is None else local_stats(lacc[r], honest)["local_acc_std"]
                    ),
                },
            )
        )
    return rows


# ---- the task --------------------------------------------------------------------------------


def _put_scores(row: dict[str, Any], mets: dict[str, float], verdicts: dict[str, Verdict]) -> None:
    for m, v in mets.items():
        row[S.METRIC_PREFIX + m] = v
    for a, ver in verdicts.items():
        row[S.AXIOM_PREFIX + a] = bool(ver.holds)
        row[S.SLACK_PREFIX + a] = float(ver.slack) if np.isfinite(ver.slack) else None
        row[S.WITNESS_PREFIX + a] = witness_json(ver.witness)


def _deltas(rows: list[dict[str, Any]], labels: list[str], base: str | None) -> None:
    """``metric.d_<m>`` = row's ``m`` minus the ``base`` mechanism's (NaN if either is missing)."""
    ref = rows[labels.index(base)] if base is not None and base in labels else None
    for row in rows:
        for m in DELTA_METRICS:
            key = S.METRIC_PREFIX + m
            a = row.get(key)
            b = None if ref is None or ref.get("error") is not None else ref.get(key)
            ok = a is not None and b is not None and row.get("error") is None
            row[S.METRIC_PREFIX + "d_" + m] = float(a) - float(b) if ok else math.nan  # type: ignore[arg-type]


def _spearman(x: Any, y: Any) -> float:
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if a.shape != b.shape:
        return math.nan
    return pearson_spearman(a, b)[1]


def reference_metrics(rows: list[dict[str, Any]], labels: list[str], ref: str | None) -> None:
    """``metric.rank_corr_ref`` and ``metric.eval_ratio_ref`` of every row against the row of
    mechanism ``ref`` (module docstring); NaN without a usable reference row."""
    base = rows[labels.index(ref)] if ref is not None and ref in labels else None
    usable = base is not None and base.get("error") is None and "contributions" in base
    for row in rows:
        corr = ratio = math.nan
        if usable and row.get("error") is None and "contributions" in row:
            assert base is not None
            corr = _spearman(row["contributions"], base["contributions"])
            ev = float(base.get(S.METRIC_PREFIX + "evaluations", math.nan))
            mine = float(row.get(S.METRIC_PREFIX + "evaluations", math.nan))
            ratio = mine / ev if ev > 0 else math.nan
        row[S.METRIC_PREFIX + "rank_corr_ref"] = corr
        row[S.METRIC_PREFIX + "eval_ratio_ref"] = ratio


def run_one(
    scenario: Any, dp: int, rep: int, root_seed: int, base_dir: Any = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every mechanism of design point ``dp``, replication ``rep`` (module docstring); a
    mechanism whose simulation raises gets a row with ``error`` and the others go on."""
    from fairsim.sim.federated import simulate

    run_id = f"{dp}-{rep}"
    seed = task_seed(root_seed, dp, rep)
    kwargs = simulate_kwargs(scenario)
    types = kwargs["client_types"]
    d = scenario.data
    base: dict[str, Any] = task_row(
        scenario,
        dp,
        rep,
        root_seed,
        n=scenario.n_clients,
        n_clients=scenario.n_clients,
        n_rounds=int(scenario.rounds),
        distribution=f"{d.dataset}/{d.partition}",
        behaviour="+".join(sorted(set(types))),
        partition=d.partition,
        model=scenario.training.model,
        client_types=list(types),
    )
    rows: list[dict[str, Any]] = []
    rounds: list[dict[str, Any]] = []
    standalone: np.ndarray | None = None
    for k, spec in enumerate(scenario.mechanisms):
        entry = fed_get(spec.name, "mechanism")
        row = dict(base, mechanism=spec.display, mechanism_name=entry.short_name)
        row.update(mechanism_order=k, randomized=bool(entry.randomized))
        rows.append(row)
        try:
            res = simulate(
                mechanism=entry.short_name,
                seed=seed,
                mechanism_params=dict(spec.params),
                standalone=bool(scenario.standalone) and standalone is None,
                **kwargs,
            )
            if scenario.standalone and standalone is None:
                standalone = np.asarray(res.standalone, dtype=np.float64)
            personal = bool(entry.extra.get("personal", False))
            mets, verdicts, flags = score(res, types, standalone, personal)
        except Exception as exc:  # noqa: BLE001 - recorded in the error column
            row["error"] = error_text(exc)
            continue
        row.update(
            removed=np.flatnonzero(flags).tolist(),
            contributions=np.asarray(res.contributions, dtype=np.float64).tolist(),
            standalone=None if standalone is None else standalone.tolist(),
            client_accuracy=np.asarray(res.client_accuracy, dtype=np.float64).tolist(),
        )
        _put_scores(row, mets, verdicts)
        head = {"run_id": run_id, "design_point": dp, "replication": rep}
        rounds.extend(round_rows(res, types, dict(head, mechanism=spec.display)))
    labels = [m.display for m in scenario.mechanisms]
    _deltas(rows, labels, scenario.compare_to)
    reference_metrics(rows, labels, getattr(scenario, "reference", None))
    return rows, rounds


def schemas(points: Sequence[Any], kinds: Sequence[tuple[str, str]]) -> tuple[Any, Any]:
    """(results schema, rounds schema) of federated design points (fixed metric/axiom columns)."""
    results = store.results_schema(kinds, list(ALL_METRICS), list(AXIOMS), head=HEAD, mid=MID)
    return results, store.scored_rounds_schema(ROUNDS_HEAD, list(ROUND_METRICS), [])


def run_analyses(scenario: Any, root_seed: int) -> list[dict[str, Any]]:
    """Federated scenarios have no analyses (an empty list)."""
    return []


__all__ = [
    "ALL_METRICS",
    "AXIOMS",
    "METRICS",
    "contribution_shares",
    "flag_verdicts",
    "gap_narrows",
    "local_stats",
    "pearson_spearman",
    "reference_metrics",
    "round_rows",
    "run_analyses",
    "run_one",
    "schemas",
    "score",
    "simulate_kwargs",
    "task_seed",
]
