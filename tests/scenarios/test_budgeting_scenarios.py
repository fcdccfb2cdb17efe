"""Shipped participatory-budgeting scenarios: they validate, run, and show the claimed matrix."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from fairsim.scenarios.loader import load_scenario
from fairsim.scenarios.sweeps import expand
from fairsim.sim import runner

ROOT = Path(__file__).resolve().parents[2] / "scenarios"
COMPARE = ROOT / "budgeting" / "compare_rules.yaml"
AZIZ = ROOT / "papers" / "aziz_fair_lotteries.yaml"


@pytest.mark.parametrize("path", [COMPARE, AZIZ])
def test_shipped_scenarios_validate(path: Path) -> None:
    s = load_scenario(path)
    assert s.kind == "participatory_budgeting"
    points = expand(s)
    assert len(points) == (8 if path == COMPARE else 2)
    for dp in points:
        inst = dp.scenario.instances
        if inst.generator == "pabulib":
            assert (path.parent / str(inst.path)).is_file()


def _run(path: Path, out: Path, workers: int) -> pd.DataFrame:
    runner.run_scenario(
        load_scenario(path), out, scenario_path=path, progress=False, workers=workers
    )
    return pd.read_parquet(out / "results.parquet")


def test_aziz_fair_lotteries_claims(tmp_path: Path) -> None:
    df = _run(AZIZ, tmp_path / "aziz", workers=2)
    assert df["error"].isna().all() and len(df) == 2 * 60 * 3
    lot = df[df["mechanism"] == "fair_lottery"]
    for a in ("strong_ufs", "ufs", "fjr", "bb1"):
        assert lot[f"axiom.{a}"].all(), a
    greedy = df[df["mechanism"] == "greedy"]
    bad = greedy[~greedy["axiom.ejr"]]
    assert len(bad) > 0 and bad["witness.ejr"].notna().all()
    assert (~df[df["mechanism"] == "mes_add1"]["axiom.strong_ufs"]).any()


@pytest.mark.slow
def test_compare_rules_runs(tmp_path: Path) -> None:
    df = _run(COMPARE, tmp_path / "cmp", workers=2)
    assert df["error"].isna().all() and len(df) == 8 * 3 * 5
    assert df["distribution"].nunique() == 4
    det = df[~df["randomized"]]
    assert (det["cost"] <= det["budget"] + 1e-9).all()
    assert det[det["mechanism_name"] == "greedy"]["axiom.exhaustive"].all()
