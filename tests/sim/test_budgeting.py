"""The participatory-budgeting domain of the runner: end to end, pairing, real files, schema."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from fairsim.errors import ScenarioError
from fairsim.scenarios.loader import load_scenario, load_scenario_text
from fairsim.sim import runner
from fairsim.sim.domains import DOMAINS, get

DATA = Path(__file__).resolve().parents[1] / "data" / "pabulib"
STANFORD = "US_Stanford_Dataset_Participatory_Budgeting_Project_PB2_2021_Ballot_vote_approvals.pb"

TINY = """
kind: participatory_budgeting
name: tiny_pb
seed: 11
replications: 4
instances: {generator: impartial_culture, n: 8, m: 5, p: 0.4, costs: {low: 1, high: 5}}
behaviours: [{name: truthful, share: 0.5}, {name: truncate, share: 0.5, params: {k: 1}}]
mechanisms: [greedy, fair_lottery, {name: method_of_equal_shares, params: {completion: add1}}]
utility: cardinality
axioms: [jr, ejr, fjr, strong_ufs, bb1]
elections: {years: 2}
"""


def _run(text: str, out: Path, **kw: object) -> pd.DataFrame:
    s = load_scenario_text(text)
    runner.run_scenario(s, out, scenario_text=text, progress=False, **kw)  # type: ignore[arg-type]
    return pd.read_parquet(out / "results.parquet")


def test_domain_registry() -> None:
    assert get("participatory_budgeting").prefix == "budgeting"
    assert get("facility_location").prefix == "facility"
    assert {"facility_location", "participatory_budgeting"} <= set(DOMAINS)
    with pytest.raises(ValueError, match="kind"):
        get("voting")


def test_sequential_equals_two_workers(tmp_path: Path) -> None:
    a = _run(TINY, tmp_path / "a", workers=1)
    b = _run(TINY, tmp_path / "b", workers=2)
    pd.testing.assert_frame_equal(a, b)
    ra = pd.read_parquet(tmp_path / "a" / "rounds.parquet")
    rb = pd.read_parquet(tmp_path / "b" / "rounds.parquet")
    pd.testing.assert_frame_equal(ra, rb)
    assert len(a) == 4 * 3 and a["error"].isna().all()
    assert len(ra) == 4 * 3 * 2  # one rounds row per year
    # the fair lottery's claimed properties on every draw (truthful reports are not required
    # for ex-ante Strong UFS of the marginals and BB1 of the support)
    lot = a[a["mechanism"] == "fair_lottery"]
    assert lot["axiom.bb1"].all()
    assert (ra["selected"].map(len) == ra["metric.num_projects"]).all()
    assert sorted(ra["round"].unique().tolist()) == [0, 1]


def test_paired_instances_across_rules(tmp_path: Path) -> None:
    df = _run(TINY.replace("elections: {years: 2}", ""), tmp_path / "p", workers=1)
    for _, g in df.groupby("run_id"):
        assert g["budget"].nunique() == 1 and g["n"].nunique() == 1 and g["m"].nunique() == 1
    # the last year's selected set: cost column equals its summed cost; spend <= budget for
    # deterministic rules
    det = df[~df["randomized"]]
    assert (det["cost"] <= det["budget"] + 1e-9).all()
    assert (df["metric.spend_share"] - df["cost"] / df["budget"]).abs().max() < 1e-12


def test_truthful_lottery_is_fjr_and_strong_ufs(tmp_path: Path) -> None:
    text = TINY.replace(
        "behaviours: [{name: truthful, share: 0.5}, {name: truncate, share: 0.5, params: {k: 1}}]",
        "behaviours: truthful",
    ).replace("behaviours: truthful", "behaviours: [truthful]")
    df = _run(text, tmp_path / "t", workers=1)
    lot = df[df["mechanism"] == "fair_lottery"]
    assert lot["axiom.fjr"].all() and lot["axiom.strong_ufs"].all() and lot["axiom.bb1"].all()


def test_truncation_changes_reports_only(tmp_path: Path) -> None:
    """Truncating voters change the outcome of some rule on some instance, scored on true ballots."""
    base = TINY.replace("replications: 4", "replications: 6").replace("elections: {years: 2}", "")
    t = base.replace(
        "behaviours: [{name: truthful, share: 0.5}, {name: truncate, share: 0.5, params: {k: 1}}]",
        "behaviours: [truthful]",
    )
    s = base.replace(
        "behaviours: [{name: truthful, share: 0.5}, {name: truncate, share: 0.5, params: {k: 1}}]",
        "behaviours: [{name: truncate, params: {k: 1}}]",
    )
    a = _run(t, tmp_path / "t", workers=1)
    b = _run(s, tmp_path / "s", workers=1)
    assert (a["budget"].to_numpy() == b["budget"].to_numpy()).all()  # same instances
    assert (a["selected"].map(tuple) != b["selected"].map(tuple)).any()


def test_real_pb_file_instance(tmp_path: Path) -> None:
    shutil.copy(DATA / STANFORD, tmp_path / STANFORD)
    text = f"""
kind: participatory_budgeting
name: real
instances: {{generator: pabulib, path: {STANFORD}}}
mechanisms: [greedy, max_welfare]
axioms: [jr, exhaustive]
"""
    path = tmp_path / "real.yaml"
    path.write_text(text)
    s = load_scenario(path)
    runner.run_scenario(s, tmp_path / "out", scenario_path=path, progress=False, workers=1)
    df = pd.read_parquet(tmp_path / "out" / "results.parquet")
    assert df["error"].isna().all()
    assert (df["budget"] == 26000.0).all() and (df["m"] == 12).all()
    assert (df["n"] == 129).all()  # voters in the file's VOTES section
    assert df["distribution"].iloc[0] == "pabulib:" + STANFORD[:-3]
    assert df["axiom.exhaustive"].all()  # both rules are exhaustive (spec §6 guarantees)


def test_missing_pb_file_reported_at_load(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(
        "kind: participatory_budgeting\nname: x\n"
        "instances: {generator: pabulib, path: nope.pb}\nmechanisms: [greedy]\n"
    )
    with pytest.raises(ScenarioError, match=r"x.yaml:3: instances.path: no such file"):
        load_scenario(path)


def test_schema_rejects_bad_pb_scenarios() -> None:
    with pytest.raises(ScenarioError, match="needs 'path'"):
        load_scenario_text(
            "kind: participatory_budgeting\nname: x\ninstances: {generator: pabulib}\n"
            "mechanisms: [greedy]\n"
        )
    with pytest.raises(ScenarioError, match="needs 'n'"):
        load_scenario_text(
            "kind: participatory_budgeting\nname: x\ninstances: {generator: euclidean}\n"
            "mechanisms: [greedy]\n"
        )
    with pytest.raises(ScenarioError):
        load_scenario_text(
            "kind: participatory_budgeting\nname: x\n"
            "instances: {generator: impartial_culture, n: 3}\nmechanisms: [median]\n"
        )
