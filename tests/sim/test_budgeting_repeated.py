"""Repeated PB elections as a Mesa model (fairsim.sim.budgeting.PBElectionModel)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairsim.agents import budgeting as agents
from fairsim.mechanisms.budgeting import greedy
from fairsim.scenarios.loader import load_scenario_text
from fairsim.sim import budgeting as B
from fairsim.sim import runner
from fairsim.sim.facility import assign_behaviours, child_seed

ROOT = Path(__file__).resolve().parents[2]

BASE = """
kind: participatory_budgeting
name: rep_pb
seed: 5
replications: 2
instances: {generator: impartial_culture, n: 12, m: 6, p: 0.3, costs: {low: 1, high: 6}}
behaviours: [{name: truthful, share: 0.5}, {name: truncate, share: 0.5, params: {k: 1}}]
mechanisms: [greedy, sequential_phragmen]
utility: cost
axioms: [jr]
metrics: [welfare_cost, coverage]
elections: {years: 4, carry_over: 1.0, patience: 1, patience_k: 1}
"""


def _model(text: str, k: int = 0, dp: int = 0, rep: int = 0) -> B.PBElectionModel:
    s = load_scenario_text(text)
    return B.PBElectionModel(s, k, np.random.SeedSequence(s.seed, spawn_key=(dp, rep)))


# ----------------------------------------------------------------------------- helpers


def test_ballot_classes_cost_shares_gini_hand_worked() -> None:
    A = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1], [1, 1, 0]], dtype=bool)
    cls, w, rows = agents.ballot_classes(A)
    assert rows.tolist() == [[False, True, False], [True, False, True], [True, True, False]]
    assert cls.tolist() == [1, 0, 1, 2] and w.tolist() == [1, 2, 1]
    costs = np.array([6.0, 4.0, 5.0])
    funded = np.array([True, True, False])
    # project 0 (6) split over voters 0, 2, 3; project 1 (4) over voters 1, 3
    want = [Fraction(2), Fraction(2), Fraction(2), Fraction(2) + Fraction(2)]
    assert agents.cost_shares(A, costs, funded) == pytest.approx([float(x) for x in want])
    # Gini of (1, 3) with weights (1, 1): |1-3| * 2 / (2 * 2 * 4) = 1/4
    assert agents.weighted_gini(np.array([1.0, 3.0]), np.array([1.0, 1.0])) == 0.25
    assert agents.weighted_gini(np.zeros(3), np.ones(3)) == 0.0


# ----------------------------------------------------------------------------- one year


def test_one_year_reproduces_the_one_shot_election() -> None:
    """The model's year 0 = drawing, behaviours and greedy computed here by hand."""
    text = BASE.replace("elections: {years: 4, carry_over: 1.0, patience: 1, patience_k: 1}", "")
    s = load_scenario_text(text)
    seq = np.random.SeedSequence(s.seed, spawn_key=(0, 1))
    rows, rounds = B.run_one(s, 0, 1, s.seed)
    assert rounds == []
    e, A, U, _ = B.draw_instance(s.instances, np.random.default_rng(child_seed(seq, 0, 0)))
    which = assign_behaviours(A.shape[0], [0.5, 0.5], np.random.default_rng(child_seed(seq, 1, 0)))
    R = A.copy()
    R[which == 1] = agents.truncate(A[which == 1], U[which == 1], 1)
    e_rep = B._election(list(e.project_ids), e.costs, e.budget, R)
    sel = list(getattr(greedy(e_rep), "selected", greedy(e_rep)))
    row = rows[0]
    assert row["selected"] == [str(p) for p in sel]
    costs = dict(zip(e.project_ids, e.costs))
    assert row["cost"] == pytest.approx(sum(costs[p] for p in sel))
    e_true = B._election(list(e.project_ids), e.costs, e.budget, A)
    assert row["metric.welfare_cost"] == pytest.approx(agents.welfare_cost(e_true, sel))
    assert row["switched_share"] == 0.0


# ----------------------------------------------------------------------------- carry-over


def test_carry_over_accounting() -> None:
    m = _model(BASE)
    m.step()
    unfunded = [p for p, f in zip(m.project_ids, m.funded) if not f]
    costs0 = dict(zip(m.project_ids, m.project_costs))
    assert all(p.startswith("y0.") for p in m.project_ids)
    assert [c[1] for c in m.carried] == unfunded
    m.step()
    # carry_over = 1: every unfunded project is resubmitted into its own slot, with its cost
    slots0 = {p: j for j, p in enumerate(costs0)}
    for j, p in enumerate(m.project_ids):
        if p in costs0:
            assert p in unfunded and slots0[p] == j and m.project_costs[j] == costs0[p]
        else:
            assert p.startswith("y1.") and f"y0.{p[3:]}" not in unfunded
    assert {p for p in m.project_ids if p.startswith("y0.")} == set(unfunded)
    # spending accounting: class spending sums to the cost of the funded, approved projects
    assert m.class_spent.sum() <= float(m.project_costs[m.funded].sum()) + 1e-9


def test_resubmission_replaces_its_fresh_copy_on_a_fixed_file() -> None:
    # the same .pb file every year: a resubmitted project takes its own fresh copy's slot, so
    # no project appears twice (once under its old id, once under the new year's)
    text = BASE.replace(
        "instances: {generator: impartial_culture, n: 12, m: 6, p: 0.3, costs: {low: 1, high: 6}}",
        "instances: {generator: pabulib, path: "
        + str(
            ROOT
            / "tests/data/pabulib/US_Stanford_Dataset_Participatory_Budgeting_Project_PB2_2021_Ballot_vote_approvals.pb"
        )
        + "}",
    )
    m = _model(text)
    for year in range(3):
        m.step()
        base = [p.split(".", 1)[1] for p in m.project_ids]
        assert len(set(base)) == len(base), (year, m.project_ids)
        if year:
            assert any(not p.startswith(f"y{year}.") for p in m.project_ids)


def test_no_carry_over_keeps_plain_ids() -> None:
    m = _model(BASE.replace("carry_over: 1.0", "carry_over: 0.0"))
    m.step()
    assert m.project_ids == [f"p{j}" for j in range(6)]


def test_patience_switches_starved_classes() -> None:
    m = _model(BASE)
    m.step()
    for a in m.class_agents:
        assert a.switched == (a.satisfaction[0] == 0.0)
        assert a.weight == a.members.size
    n = sum(a.weight for a in m.class_agents)
    assert n == 12
    want = sum(a.weight for a in m.class_agents if a.switched) / n
    assert m.year_stats["switched_share"] == pytest.approx(want)
    # switched classes' voters approve at most patience_k = 1 project in their reports
    e, A, U, _, which = m._instance()
    R = m._reports(A, U, which)
    for a in m.class_agents:
        if a.switched:
            assert (R[a.members].sum(axis=1) <= 1).all()


def test_min_share_ratio_recomputed() -> None:
    m = _model(BASE)
    for _ in range(3):
        m.step()
    w = np.array([a.weight for a in m.class_agents], dtype=float)
    spent = np.array([a.spent for a in m.class_agents])
    want = np.min((spent / spent.sum()) / (w / w.sum()))
    assert m.year_stats["min_share_ratio"] == pytest.approx(want)


# ----------------------------------------------------------------------------- end to end


def test_sequential_equals_two_workers_with_dynamics(tmp_path: Path) -> None:
    out = []
    for name, workers in (("a", 1), ("b", 2)):
        s = load_scenario_text(BASE)
        runner.run_scenario(s, tmp_path / name, scenario_text=BASE, progress=False, workers=workers)
        out.append(
            (
                pd.read_parquet(tmp_path / name / "results.parquet"),
                pd.read_parquet(tmp_path / name / "rounds.parquet"),
            )
        )
    pd.testing.assert_frame_equal(out[0][0], out[1][0])
    pd.testing.assert_frame_equal(out[0][1], out[1][1])
    res, rounds = out[0]
    assert res["error"].isna().all() and len(rounds) == 2 * 2 * 4
    assert rounds["switched_share"].between(0, 1).all()
    last = rounds[rounds["round"] == 3].set_index(["run_id", "mechanism"])["switched_share"]
    assert res.set_index(["run_id", "mechanism"])["switched_share"].to_dict() == last.to_dict()


def test_shipped_repeated_runs(tmp_path: Path) -> None:
    path = ROOT / "scenarios/budgeting/repeated.yaml"
    text = path.read_text().replace("replications: 2", "replications: 1")
    text = text.replace("years: 8", "years: 3")
    s = load_scenario_text(text, str(path), base_dir=path.parent)
    runner.run_scenario(s, tmp_path / "o", scenario_text=text, progress=False)
    df = pd.read_parquet(tmp_path / "o" / "results.parquet")
    assert df["error"].isna().all() and (df["years"] == 3).all()
