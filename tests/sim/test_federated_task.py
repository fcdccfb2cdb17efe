"""The federated plugin: scoring helpers by hand, end to end, sequential == 2 workers."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from fairsim.scenarios.loader import load_scenario_text
from fairsim.sim import federated_task as F
from fairsim.sim import runner
from fairsim.sim.domains import get

TEXT = """
kind: federated
name: fl_tiny
seed: 5
replications: 2
n_clients: 5
behaviours:
  - {name: free_rider, count: 1, params: {mode: random}}
data: {n_samples: 300, n_features: 6, n_classes: 3}
training: {local_steps: 3, batch_size: 16, lr: 0.1}
rounds: 3
mechanisms:
  - fedavg
  - {name: rffl, params: {removal_start: 1}}
compare_to: fedavg
"""


def test_domain_registered() -> None:
    assert get("federated").module == "fairsim.sim.federated_task"


def test_contribution_shares_by_hand() -> None:
    c = np.array([0.4, 0.4, 0.2, 0.0])
    fr = np.array([False, False, False, True])
    assert F.contribution_shares(c, fr) == 0.0
    # honest: 4 * mean(0.4, 0.4, 0.2) / 1.0 = 4/3
    assert F.contribution_shares(c, ~fr) == pytest.approx(4 / 3)
    # signs kept, scale by sum |c| = 3: 4 * (-1) / 3
    assert F.contribution_shares(np.array([1.0, 0.5, 0.5, -1.0]), fr) == pytest.approx(-4 / 3)
    assert math.isnan(F.contribution_shares(np.zeros(4), fr))
    assert math.isnan(F.contribution_shares(c, np.zeros(4, dtype=bool)))


def test_flag_verdicts_by_hand() -> None:
    types = ["honest", "noisy", "honest", "free_rider", "sign_flip"]
    v = F.flag_verdicts(np.array([False, False, False, True, True]), types)
    assert v["free_riders_removed"].holds and v["adversaries_removed"].holds
    assert v["no_honest_removed"].holds and v["free_riders_removed"].slack == 0.0
    # the sign-flipper stays, one honest client is flagged: fpr 1/3
    v = F.flag_verdicts(np.array([True, False, False, True, False]), types)
    assert not v["free_riders_removed"].holds
    assert v["free_riders_removed"].witness == {"missed": [], "honest_flagged": [0]}
    assert v["free_riders_removed"].slack == pytest.approx(1.0 - 1 / 3 - 1.0)
    assert v["adversaries_removed"].witness == {"missed": [4], "honest_flagged": [0]}
    assert v["no_honest_removed"].slack == pytest.approx(-1 / 3)
    # no free riders at all: vacuous for them, still no honest flagged
    v = F.flag_verdicts(np.zeros(3, dtype=bool), ["honest"] * 3)
    assert v["free_riders_removed"].holds and v["no_honest_removed"].holds


def test_gap_narrows_by_hand() -> None:
    assert F.gap_narrows(np.array([0.0, 0.3, 0.2, 0.15])).holds  # 0.15 <= 0.3 / 2
    v = F.gap_narrows(np.array([0.0, 0.3, 0.2, 0.16]))
    assert not v.holds and v.witness == {"gap_final": 0.16, "gap_peak": 0.3}
    assert v.slack == pytest.approx(-0.01)
    assert F.gap_narrows(np.zeros(5)).holds  # no gap at all
    assert not F.gap_narrows(np.array([0.1, 0.2, 0.3])).holds  # widening
    assert not F.gap_narrows(np.array([0.1, np.nan])).holds


def test_pearson_spearman_by_hand() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0])
    p, s = F.pearson_spearman(x, np.array([1.0, 3.0, 2.0, 4.0]))
    # centred x = (-1.5, -.5, .5, 1.5), y = (-1.5, .5, -.5, 1.5): cov 4, var 5 each
    assert p == pytest.approx(0.8)
    assert s == pytest.approx(0.8)  # ranks equal the values
    assert all(math.isnan(v) for v in F.pearson_spearman(x, np.ones(4)))


def test_score_on_a_handmade_result() -> None:
    types = ["honest", "honest", "honest", "free_rider"]
    hist = {
        "flagged": np.array([[0, 0, 0, 0], [0, 0, 0, 1]], dtype=bool),
        "gap": np.array([0.2, 0.1]),
    }
    res = SimpleNamespace(
        history=hist, contributions=np.array([0.2, 0.3, 0.5, 0.0]), fairness=0.0,
        fairness_spearman=0.0, accuracy=0.9, detection_rate=1.0, false_positive_rate=0.0,
        mean_detection_round=1.0, gap_final=0.1, gap_auc=0.3, comm_mb_total=2.0, evaluations=7,
        standalone=np.array([0.5, 0.6, 0.7, 0.1]), client_accuracy=np.array([0.9, 0.9, 0.8, 0.1]),
    )  # fmt: skip
    mets, ver, flags = F.score(res, types, np.array([0.5, 0.6, 0.7, 0.1]), personal=False)
    # reward = contributions (0.2, 0.3, 0.5) vs standalone (0.5, 0.6, 0.7) over the honest:
    # centred (-.1, 0, .1) and (-.5/3, -.5/3 + .1, ...): Pearson = 0.1 * 0.3 / sqrt(.02 * .0466..)
    y = np.array([0.2, 0.3, 0.5]) - 1 / 3
    x = np.array([-0.1, 0.0, 0.1])
    assert mets["fairness"] == pytest.approx(float(x @ y / math.sqrt((x @ x) * (y @ y))))
    assert mets["fairness_spearman"] == pytest.approx(1.0)
    assert mets["fr_contribution"] == 0.0 and mets["gap_peak"] == 0.2
    assert mets["honest_contribution"] == pytest.approx(4 / 3)
    assert flags.tolist() == [False, False, False, True]
    assert ver["free_riders_removed"].holds and ver["gap_narrows"].holds
    # personal mechanism: the reward is the own model's accuracy (0.9, 0.9, 0.8): Pearson -0.866
    mets, _, _ = F.score(res, types, np.array([0.5, 0.6, 0.7, 0.1]), personal=True)
    assert mets["fairness"] == pytest.approx(-math.sqrt(3) / 2)


def test_local_stats_by_hand() -> None:
    honest = np.array([True, True, True, False])
    st = F.local_stats(np.array([0.5, 0.7, 0.9, 0.0]), honest)
    # mean 0.7; population variance ((-.2)^2 + 0 + .2^2) / 3 = 0.08 / 3
    assert st["local_acc_mean"] == pytest.approx(0.7)
    assert st["local_acc_std"] == pytest.approx(math.sqrt(0.08 / 3))
    assert st["local_acc_min"] == 0.5  # the free rider's 0.0 is not counted
    assert all(math.isnan(v) for v in F.local_stats(None, honest).values())
    assert all(math.isnan(v) for v in F.local_stats(np.full(4, np.nan), honest).values())


def test_reference_metrics_by_hand() -> None:
    m = "metric."
    rows = [
        {"contributions": [0.1, 0.5, 0.3, 0.2], m + "evaluations": 30.0},
        {"contributions": [1.0, 4.0, 3.0, 2.0], m + "evaluations": 120.0},
        {"contributions": [4.0, 3.0, 2.0, 1.0], m + "evaluations": 0.0},
        {"error": "RuntimeError: boom"},
    ]
    F.reference_metrics(rows, ["gtg", "mr", "loo", "bad"], "mr")
    assert rows[0][m + "rank_corr_ref"] == pytest.approx(1.0)  # same order 0 < 3 < 2 < 1
    assert rows[0][m + "eval_ratio_ref"] == pytest.approx(0.25)
    assert rows[1][m + "rank_corr_ref"] == pytest.approx(1.0)
    assert rows[1][m + "eval_ratio_ref"] == 1.0
    # ranks (4, 3, 2, 1) vs (1, 4, 3, 2): d = (3, -1, -1, -1), rho = 1 - 6 * 12 / (4 * 15) = -0.2
    assert rows[2][m + "rank_corr_ref"] == pytest.approx(-0.2)
    assert rows[2][m + "eval_ratio_ref"] == 0.0
    assert math.isnan(rows[3][m + "rank_corr_ref"])
    rows2 = [{"contributions": [1.0, 2.0]}, {"error": "x"}]
    F.reference_metrics(rows2, ["a", "b"], "b")  # an errored reference: NaN everywhere
    assert math.isnan(rows2[0][m + "rank_corr_ref"]) and math.isnan(rows2[0][m + "eval_ratio_ref"])
    F.reference_metrics(rows2, ["a", "b"], None)
    assert math.isnan(rows2[0][m + "rank_corr_ref"])


REF_TEXT = """
kind: federated
name: fl_ref
seed: 3
n_clients: 4
data: {n_samples: 400, n_features: 4, n_classes: 3, partition: quantity, alpha: 1.0}
training: {local_steps: 3, batch_size: 16, lr: 0.1}
rounds: 3
standalone: false
mechanisms: [fedavg, gtg_shapley, mr_exact, fedce]
compare_to: fedavg
reference: mr_exact
"""


def test_end_to_end_reference_and_local_metrics(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    a = _run(REF_TEXT, tmp_path / "r", workers=1)
    assert a["error"].isna().all(), a["error"].dropna().tolist()
    by = a.set_index("mechanism")
    assert by.loc["mr_exact", "metric.rank_corr_ref"] == pytest.approx(1.0)
    assert by.loc["mr_exact", "metric.eval_ratio_ref"] == 1.0
    assert by.loc["mr_exact", "metric.evaluations"] == 3 * 16
    assert by.loc["gtg_shapley", "metric.eval_ratio_ref"] == pytest.approx(
        by.loc["gtg_shapley", "metric.evaluations"] / 48
    )
    assert math.isnan(by.loc["fedavg", "metric.eval_ratio_ref"]) or (
        by.loc["fedavg", "metric.eval_ratio_ref"] == 0.0
    )
    # observers share FedAvg's trajectory: identical local and global accuracies
    for mech in ("gtg_shapley", "mr_exact"):
        for col in ("metric.accuracy", "metric.local_acc_std", "metric.local_acc_min"):
            assert by.loc[mech, col] == by.loc["fedavg", col]
        assert by.loc[mech, "metric.d_local_acc_std"] == 0.0
    for col in ("metric.local_acc_mean", "metric.local_acc_std", "metric.local_acc_min"):
        assert np.isfinite(a[col]).all()
    assert by.loc["fedce", "metric.d_local_acc_std"] == pytest.approx(
        by.loc["fedce", "metric.local_acc_std"] - by.loc["fedavg", "metric.local_acc_std"]
    )
    assert (a["metric.local_acc_min"] <= a["metric.local_acc_mean"]).all()
    rd = pd.read_parquet(tmp_path / "r" / "rounds.parquet")
    last = rd[rd["round"] == 3].set_index("mechanism")["metric.local_acc_std"]
    np.testing.assert_allclose(last[list(by.index)], by["metric.local_acc_std"])


def test_simulate_kwargs_follow_the_scenario() -> None:
    s = load_scenario_text(TEXT)
    kw = F.simulate_kwargs(s)
    assert kw["client_types"] == ["honest"] * 4 + ["free_rider"]
    assert kw["behaviour_params"] == {"free_rider": {"mode": "random"}}
    assert (kw["n_clients"], kw["rounds"], kw["n_samples"], kw["local_steps"]) == (5, 3, 300, 3)
    assert F.task_seed(5, 0, 1) == F.task_seed(5, 0, 1) != F.task_seed(5, 1, 0)


def _run(text: str, out: Path, **kw: object) -> pd.DataFrame:
    s = load_scenario_text(text)
    runner.run_scenario(s, out, scenario_text=text, progress=False, **kw)  # type: ignore[arg-type]
    return pd.read_parquet(out / "results.parquet")


def test_end_to_end_sequential_equals_two_workers(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    a = _run(TEXT, tmp_path / "a", workers=1)
    b = _run(TEXT, tmp_path / "b", workers=2)
    assert a["error"].isna().all(), a["error"].dropna().tolist()
    assert len(a) == 4 and a["mechanism"].tolist() == ["fedavg", "rffl(removal_start=1)"] * 2
    pd.testing.assert_frame_equal(a, b)
    ra = pd.read_parquet(tmp_path / "a" / "rounds.parquet")
    rb = pd.read_parquet(tmp_path / "b" / "rounds.parquet")
    pd.testing.assert_frame_equal(ra, rb)
    assert len(ra) == 2 * 2 * 3 and sorted(set(ra["round"])) == [1, 2, 3]
    # paired: every mechanism saw the same standalone accuracies within a replication
    for _, g in a.groupby("replication"):
        sa = [tuple(v) for v in g["standalone"]]
        assert len(set(sa)) == 1 and len(sa[0]) == 5
    base = a[a["mechanism"] == "fedavg"]
    assert (base["metric.d_accuracy"] == 0.0).all() and (
        base["metric.d_fairness"].fillna(0) == 0
    ).all()
    other = a[a["mechanism"] == "rffl(removal_start=1)"].reset_index(drop=True)
    ref = base.reset_index(drop=True)
    np.testing.assert_allclose(
        other["metric.d_accuracy"], other["metric.accuracy"] - ref["metric.accuracy"]
    )
    for c in ("metric.accuracy", "metric.gap_final", "metric.comm_mb"):
        assert a[c].notna().all() and np.isfinite(a[c]).all()
    assert ((a["metric.accuracy"] >= 0) & (a["metric.accuracy"] <= 1)).all()
    assert a["client_types"].iloc[0].tolist() == ["honest"] * 4 + ["free_rider"]
    # the last round's accuracy is the result's accuracy (global mechanisms)
    last = ra[(ra["round"] == 3) & (ra["mechanism"] == "fedavg")]["metric.accuracy"].to_numpy()
    np.testing.assert_allclose(last, base["metric.accuracy"].to_numpy())


SHIPPED = [
    "scenarios/federated/free_riders.yaml",
    "scenarios/papers/rffl_reputation.yaml",
    "scenarios/papers/fae_equality.yaml",
    "scenarios/papers/gtg_shapley.yaml",
    "scenarios/papers/fedce_uniformity.yaml",
]


@pytest.mark.slow
@pytest.mark.parametrize("path", SHIPPED)
def test_shipped_claims_pass(path: str, tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    root = Path(__file__).resolve().parents[2]
    cmd = [sys.executable, "-m", "fairsim.cli", "run", str(root / path), "--report"]
    t0 = time.perf_counter()
    subprocess.run([*cmd, "--out", str(tmp_path), "--workers", "2", "--no-progress"], check=True)
    assert time.perf_counter() - t0 < 120.0  # the default scenario's budget on 2 cores
    claims = pd.read_csv(tmp_path / "claims.csv")
    assert len(claims) and (claims["status"] == "PASS").all(), claims.to_string()
