"""The data-sharing plugin: end to end, determinism, incentives and the shipped scenarios."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairsim.errors import ScenarioError
from fairsim.mechanisms.games import TableGame
from fairsim.scenarios.loader import load_scenario, load_scenario_text
from fairsim.sim import data_sharing as D
from fairsim.sim import runner
from fairsim.sim.domains import get

ROOT = Path(__file__).resolve().parents[2]

TEXT = """
kind: data_sharing
name: ds_small
seed: 3
replications: 2
rounds: 2
free_disposal: true
data: {n_features: 3, n_classes: 2, class_sep: 1.0, n_val: 200}
parties:
  - {size: 120}
  - {size: 60}
  - {size: 50, behaviour: free_rider}
  - {size: 40, behaviour: late_joiner}
model: {epochs: 40, metric: neg_log_loss}
mechanisms:
  - proportional
  - {name: rho_shapley, params: {stability: false}, label: rho_ir}
axioms: [non_negativity, feasibility, individual_rationality, uselessness]
metrics: [accuracy, evaluations, estimator_error, free_rider_lowest]
"""


def _run(text: str, out: Path, **kw: object) -> pd.DataFrame:
    s = load_scenario_text(text)
    runner.run_scenario(s, out, scenario_text=text, progress=False, **kw)  # type: ignore[arg-type]
    return pd.read_parquet(out / "results.parquet")


def test_domain_registered() -> None:
    assert get("data_sharing").module == "fairsim.sim.data_sharing"


def test_end_to_end_sequential_equals_two_workers(tmp_path: Path) -> None:
    a = _run(TEXT, tmp_path / "a", workers=1)
    b = _run(TEXT, tmp_path / "b", workers=2)
    assert a["error"].isna().all()
    assert len(a) == 4 and set(a["mechanism"]) == {"proportional", "rho_ir"}
    cols = [
        c for c in a.columns if c.startswith(("metric.", "axiom.")) or c in ("rewards", "values")
    ]
    pd.testing.assert_frame_equal(a[cols].reset_index(drop=True), b[cols].reset_index(drop=True))
    r = a.iloc[1]
    assert len(r["rewards"]) == 4 and len(r["values"]) == 4
    assert r["axiom.individual_rationality"] and r["axiom.uselessness"]
    assert r["metric.free_rider_lowest"] == 1.0 and r["rewards"][2] == 0.0
    assert a["metric.estimator_error"].eq(0.0).all()
    rounds = pd.read_parquet(tmp_path / "a" / "rounds.parquet")
    assert len(rounds) == 2 * 2 * 2
    # round 1: the late joiner (party 3) is absent
    first = rounds[rounds["round"] == 1].iloc[0]
    assert np.isnan(first["values"][3])


def test_free_disposal_is_superset_max() -> None:
    vals = np.array([0.0, 0.5, 0.2, 0.4, 0.1, 0.3, 0.6, 0.45])  # n=3, bitmask order
    fd = D.FreeDisposalGame(TableGame(vals))
    rows = (np.arange(8)[:, None] >> np.arange(3)) & 1 == 1
    got = fd.value(rows)
    ref = [max(vals[t] for t in range(8) if t & s == t) for s in range(8)]
    np.testing.assert_allclose(got, ref)


def test_axioms_catch_violations() -> None:
    # v(S) = |S| on 3 players, phi = (1, 1, 1), v(N) = 3
    g = TableGame(np.array([bin(s).count("1") for s in range(8)], dtype=float))
    ctx = D.Context(g, np.ones(3), np.ones(3, dtype=np.int64), ["honest"] * 3)
    r = np.array([1.0, 0.5, 3.0])
    assert not D.individual_rationality(ctx, r).holds
    assert D.individual_rationality(ctx, r).witness["player"] == 1
    assert not D.symmetry(ctx, r).holds
    assert D.weak_efficiency(ctx, r).holds
    assert not D.weak_efficiency(ctx, np.ones(3)).holds
    assert not D.feasibility(ctx, np.array([1.0, 1.0, 3.5])).holds
    assert not D.non_negativity(ctx, np.array([-0.1, 1.0, 1.0])).holds


def test_uselessness_detects_null_party() -> None:
    # player 2 is null: v(S) = |S cap {0, 1}|
    g = TableGame(np.array([bin(s & 3).count("1") for s in range(8)], dtype=float))
    ctx = D.Context(g, np.array([1.0, 1.0, 0.0]), np.ones(3, dtype=np.int64), ["honest"] * 3)
    assert D.uselessness(ctx, np.array([2.0, 2.0, 0.0])).holds
    v = D.uselessness(ctx, np.array([2.0, 2.0, 0.1]))
    assert not v.holds and v.witness["party"] == 2


def test_schema_rejects_unknown_behaviour_and_too_many_parties() -> None:
    with pytest.raises(ScenarioError, match="behaviour"):
        load_scenario_text(TEXT.replace("behaviour: late_joiner", "behaviour: liar"))
    many = TEXT.replace("  - {size: 120}", "  - {size: 10, copies: 12}")
    with pytest.raises(ScenarioError, match="12"):
        load_scenario_text(many)


@pytest.mark.parametrize(
    "path",
    ["scenarios/data_sharing/compare_rewards.yaml", "scenarios/papers/rho_shapley_incentives.yaml"],
)
def test_shipped_scenarios_validate(path: str) -> None:
    s = load_scenario(ROOT / path)
    assert s.kind == "data_sharing"


@pytest.mark.slow
@pytest.mark.parametrize(
    "path",
    ["scenarios/data_sharing/compare_rewards.yaml", "scenarios/papers/rho_shapley_incentives.yaml"],
)
def test_shipped_claims_pass(path: str, tmp_path: Path) -> None:
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "fairsim.cli", "run", str(ROOT / path), "--report"]
    subprocess.run([*cmd, "--out", str(tmp_path), "--workers", "2", "--no-progress"], check=True)
    claims = pd.read_csv(tmp_path / "claims.csv")
    assert (claims["status"] == "PASS").all(), claims.to_string()
