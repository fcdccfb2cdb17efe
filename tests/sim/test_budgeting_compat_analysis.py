"""PB ``analyses:`` entries of ``type: compatibility_search``: schema, runner rows, report table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairsim.axioms._budgeting_compat import BB1_SIDES, EX_ANTE, EX_POST
from fairsim.errors import ScenarioError
from fairsim.io.pabulib import Election
from fairsim.reports._budgeting_sections import compat_table, decode_instance
from fairsim.scenarios import schema
from fairsim.scenarios.loader import load_scenario_text
from fairsim.sim import budgeting as pb
from fairsim.sim import runner

BASE = """
kind: participatory_budgeting
name: compat_pb
seed: 5
replications: 1
instances: {generator: impartial_culture, n: 4, m: 3}
mechanisms: [greedy]
utility: cardinality
axioms: [ejr]
"""

ANALYSES = """
analyses:
  - id: hard
    type: compatibility_search
    ex_post: [feasible]
    ex_ante: strong_ufs
    bb1: none
    generator: euclidean
    radius: 0.25
    n: [6]
    m: 5
    trials: 15
  - id: soft
    type: compatibility_search
    ex_post: [fjr]
    ex_ante: [strong_ufs]
    n: [3, 5]
    m: 4
    trials: 10
    expected_share: 0.0
claims:
  - id: soft_ok
    type: ratio_formula
    analysis: soft
    bound: at_most
    tol: 0.0
    text: never incompatible
"""


def test_schema_literals_match_the_oracle() -> None:
    f = schema.CompatibilitySearchAnalysis.model_fields
    assert set(f["ex_post"].annotation.__args__[0].__args__) == set(EX_POST)  # type: ignore[union-attr]
    assert set(f["ex_ante"].annotation.__args__[0].__args__) == set(EX_ANTE)  # type: ignore[union-attr]
    assert set(f["bb1"].annotation.__args__) == set(BB1_SIDES)  # type: ignore[union-attr]


def test_schema_accepts_and_defaults() -> None:
    s = load_scenario_text(BASE + ANALYSES)
    assert [a.id for a in s.analyses] == ["hard", "soft"]  # type: ignore[union-attr]
    hard = s.analyses[0]  # type: ignore[union-attr]
    assert hard.ex_ante == ["strong_ufs"] and hard.bb1 == "none"
    assert s.analyses[1].bb1 == "two" and s.analyses[1].utility == "cardinality"  # type: ignore[union-attr]
    assert load_scenario_text(BASE).analyses == []  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("entry", "needle"),
    [
        ("{id: a, type: compatibility_search, ex_post: [fjrr]}", r"ex_post\[0\]"),
        ("{id: a, type: compatibility_search, ex_ante: [ifs, gfx]}", r"ex_ante\[1\]"),
        ("{id: a, type: compatibility_search, bb1: one}", "bb1"),
        ("{id: a, type: compatibility_search, m: 11}", r"analyses\[0\]\.m"),
        ("{id: a, type: compatibility_search, trials: 0}", r"analyses\[0\]\.trials"),
        ("{id: a, type: compatibility_search, n: []}", r"analyses\[0\]\.n"),
        ("{id: a, type: compatibility_search, generator: pabulib}", r"analyses\[0\]\.generator"),
        ("{id: a, type: compatibility_search, spare: 1}", "spare"),
        ("{id: a, type: approximation_ratio}", "type"),
    ],
)
def test_schema_errors(entry: str, needle: str) -> None:
    with pytest.raises(ScenarioError, match=needle):
        load_scenario_text(BASE + f"analyses: [{entry}]\n")


def test_schema_claim_checks() -> None:
    dup = "analyses: [{id: a, type: compatibility_search}]\nclaims:\n"
    dup += "  - {id: a, type: axiom_matrix, text: t, expect: {greedy: {ejr: always}}}\n"
    with pytest.raises(ScenarioError, match="unique"):
        load_scenario_text(BASE + dup)
    unknown = "claims: [{id: c, type: ratio_formula, analysis: zz, text: t}]\n"
    with pytest.raises(ScenarioError, match="unknown analysis"):
        load_scenario_text(BASE + unknown)
    noexp = "analyses: [{id: a, type: compatibility_search}]\n"
    noexp += "claims: [{id: c, type: ratio_formula, analysis: a, text: t}]\n"
    with pytest.raises(ScenarioError, match="expected_share"):
        load_scenario_text(BASE + noexp)


def test_encode_decode_roundtrip() -> None:
    e = Election.from_sets(
        [["p0"], ["p0", "p1"], ["p0"]], [2.0, 3.5], 4.0, project_ids=["p0", "p1"]
    )
    code = pb.encode_instance(e)
    assert code == [3.0, 2.0, 4.0, 2.0, 3.5, 1, 0, 1, 1, 1, 0]
    assert decode_instance(code) == "B=4; costs p0=2 p1=3.5; ballots {p0}x2 {p0,p1}x1"
    assert decode_instance(None) == ""


def test_run_analyses_rows_and_determinism() -> None:
    s = load_scenario_text(BASE + ANALYSES)
    rows = pb.run_analyses(s, 123)
    assert [(r["analysis"], r["n"]) for r in rows] == [("hard", 6), ("soft", 3), ("soft", 5)]
    assert all("error" not in r for r in rows)
    hard, soft3, soft5 = rows
    # Strong UFS over budget-feasible sets fails on some Euclidean instances (spec §5.1)
    assert hard["ratio"] > 0 and hard["worst_profile"] is not None
    assert hard["profiles_checked"] == 15 and hard["method"] == "lp"
    assert soft3["ratio"] == 0 == soft5["ratio"] and soft3["expected"] == 0.0
    assert "worst_profile" not in soft3
    # the stored witness really is incompatible: re-run the oracle on the decoded instance
    x = np.asarray(hard["worst_profile"])
    n, m = int(x[0]), int(x[1])
    A = x[3 + m :].reshape(n, m) > 0.5
    e = Election.from_sets([np.flatnonzero(r).tolist() for r in A], x[3 : 3 + m], x[2])
    from fairsim.axioms.budgeting import compatibility

    r = compatibility(e, ex_post=("feasible",), ex_ante=("strong_ufs",), bb1="none")
    assert not r.feasible and r.certificate is not None and r.certificate["exact"]
    assert pb.run_analyses(s, 123) == rows
    t = compat_table(pd.DataFrame(rows))
    assert list(t["incompatible"])[1:] == [0, 0]
    assert list(t["smallest witness"])[1:] == ["none found", "none found"]
    assert t["incompatible"].iloc[0] == round(hard["ratio"] * 15)


def test_runner_writes_analyses_and_claim(tmp_path: Path) -> None:
    text = BASE + ANALYSES
    s = load_scenario_text(text)
    runner.run_scenario(s, tmp_path, scenario_text=text, progress=False)  # type: ignore[arg-type]
    d = pd.read_parquet(tmp_path / "analyses.parquet")
    assert list(d["analysis"]) == ["hard", "soft", "soft"]
    assert set(d["type"]) == {"compatibility_search"}
    from fairsim.reports.build import build_report

    build_report(tmp_path)
    html = (tmp_path / "report.html").read_text()
    assert "Compatibility of fairness properties" in html
    claims = pd.read_csv(tmp_path / "claims.csv")
    assert claims.set_index("id").loc["soft_ok", "status"] == "PASS"
