"""Runner plugin of kind budget_aggregation (fairsim.sim.budget_aggregation), end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairsim.errors import ScenarioError
from fairsim.reports._aggregation_sections import manipulation_table
from fairsim.reports.build import build_report
from fairsim.reports.summary import summarize
from fairsim.scenarios.loader import load_scenario_text
from fairsim.sim import runner
from fairsim.sim.domains import get

ROOT = Path(__file__).resolve().parents[2]

SMALL = """
kind: budget_aggregation
name: ba_small
seed: 11
replications: 2
instances: {generator: dirichlet, n: 4, m: 3, alpha: 0.5}
behaviours:
  - {name: best_response, share: 0.5, params: {random: 2, passes: 2}}
  - {name: truthful, share: 0.5}
mechanisms: [independent_markets, welfare_maximizing, mean, normalized_median]
deviation: {random: 3, passes: 3}
"""


def _run(text: str, out: Path, base_dir: Path | None = None, **kw: object) -> pd.DataFrame:
    s = load_scenario_text(text, base_dir=base_dir)
    runner.run_scenario(s, out, scenario_text=text, progress=False, **kw)  # type: ignore[arg-type]
    return pd.read_parquet(out / "results.parquet")


def test_domain_plugin() -> None:
    assert get("budget_aggregation").module == "fairsim.sim.budget_aggregation"


def test_end_to_end_and_report(tmp_path: Path) -> None:
    df = _run(SMALL, tmp_path / "out")
    assert len(df) == 8 and df["error"].isna().all()
    for alloc in df["allocation"]:
        assert np.all(np.asarray(alloc) >= -1e-12) and sum(alloc) == pytest.approx(1.0)
    sp = df.groupby("mechanism")["axiom.strategyproofness"].all()
    assert sp["independent_markets"] and sp["welfare_maximizing"]
    assert not df.loc[df.mechanism == "mean", "axiom.strategyproofness"].any()
    w = json.loads(df.loc[df.mechanism == "mean", "witness.strategyproofness"].iloc[0])
    assert w["gain"] > 1e-7 and len(w["misreport"]) == 3
    # the mean's row: distance_to_mean is 0 under truthful reports only; recompute from columns
    for _, r in df.iterrows():
        a = np.asarray(r["allocation"])
        assert r["metric.mean_distance"] <= r["metric.max_distance"] + 1e-12
        assert np.isfinite(a).all()
    # the manipulability table agrees with the witnesses in the results
    t = manipulation_table(summarize(tmp_path / "out")).set_index("mechanism")
    mean_rows = df[df.mechanism == "mean"]
    gains = [json.loads(w)["gain"] for w in mean_rows["witness.strategyproofness"].dropna()]
    assert t.loc["mean", "sp_violations"] == (~mean_rows["axiom.strategyproofness"]).sum()
    assert t.loc["mean", "max_gain"] == pytest.approx(max(gains))
    assert t.loc["independent_markets", "sp_violations"] == 0
    paths = build_report(tmp_path / "out")
    html = Path(paths.html).read_text()
    assert "ba-distances" in html and "ba-manipulation" in html


def test_truthful_mean_is_the_mean(tmp_path: Path) -> None:
    text = SMALL.replace(
        "behaviours:\n  - {name: best_response, share: 0.5, params: {random: 2, passes: 2}}\n"
        "  - {name: truthful, share: 0.5}\n",
        "",
    ).replace("[independent_markets, welfare_maximizing, mean, normalized_median]", "[mean]")
    df = _run(text, tmp_path / "out")
    assert (df["metric.distance_to_mean"] < 1e-12).all()
    for _, r in df.iterrows():
        assert r["allocation"] == pytest.approx(r["truthful_allocation"])


def test_sequential_equals_two_workers(tmp_path: Path) -> None:
    a = _run(SMALL, tmp_path / "a", workers=1)
    b = _run(SMALL, tmp_path / "b", workers=2)
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ("instances: {generator: dirichlet, m: 3}", "needs 'n'"),
        ("instances: {generator: pabulib, n: 3}", "needs 'path'"),
        ("instances: {generator: dirichlet, n: 3, alpha: 0}", "alpha"),
    ],
)
def test_schema_rejects(extra: str, match: str) -> None:
    text = re.sub(r"instances: \{[^}]*\}", extra, SMALL)
    with pytest.raises(ScenarioError, match=match):
        load_scenario_text(text)


def test_unknown_mechanism_rejected() -> None:
    with pytest.raises(ScenarioError, match="nope"):
        load_scenario_text(SMALL.replace("normalized_median]", "nope]"))


def test_shipped_divisible_validates() -> None:
    path = ROOT / "scenarios/budgeting/divisible.yaml"
    s = load_scenario_text(path.read_text(), str(path), base_dir=path.parent)
    assert s.kind == "budget_aggregation"


def test_pabulib_profile_run(tmp_path: Path) -> None:
    path = ROOT / "scenarios/budgeting/divisible.yaml"
    text = re.sub(r"sweep:.*", "", path.read_text(), flags=re.S)
    text = text.replace("replications: 3", "replications: 1").replace(
        "instances: {generator: clustered, n: 6, m: 4, parties: 3, noise: 0.3}",
        "instances: {generator: pabulib, n: 5, path: "
        "data/US_Stanford_Dataset_Participatory_Budgeting_Project_PB2_2021_Ballot_vote_approvals.pb}",
    )
    text = text.replace("  - utilitarian_l1\n", "")
    df = _run(text, tmp_path / "out", base_dir=path.parent)
    assert df["error"].isna().all()
    assert df["distribution"].iloc[0].startswith("pabulib:") and (df["n"] == 5).all()


def _paper(reps: int) -> str:
    text = (ROOT / "scenarios/papers/freeman_moving_phantoms.yaml").read_text()
    return text.replace("replications: 8", f"replications: {reps}")


def test_paper_reproduction_small(tmp_path: Path) -> None:
    _run(_paper(2), tmp_path / "out")
    claims = {c.id: c.status for c in summarize(tmp_path / "out").claims}
    for cid in ("im_proportional_sp", "wm_pareto_sp", "baselines_manipulable", "mean_is_mean"):
        assert claims[cid] == "PASS", cid


@pytest.mark.slow
def test_paper_reproduction_full(tmp_path: Path) -> None:
    _run(_paper(8), tmp_path / "out")
    claims = {c.id: c.status for c in summarize(tmp_path / "out").claims}
    assert set(claims.values()) == {"PASS"}, claims
