"""Batch runner and results store: determinism, pairing, errors, manifest, interruption."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from fairsim import registry
from fairsim.scenarios.loader import load_scenario_text, scenario_hash
from fairsim.sim import runner, store
from fairsim.sim import schema as S

TINY = """\
kind: facility_location
name: tiny
seed: 5
replications: 3
agents:
  n: 3
  locations: {distribution: uniform, round_to: 6}
  behaviours: truthful
mechanisms:
  - uniform_phantom
  - average
  - random_rank
  - {name: constant, params: {c: 0.5}, label: half}
axioms: [ifs, ufs, pf, strategyproofness]
metrics: [social_welfare, max_cost]
sweep:
  grid:
    agents.n: [3, 4]
claims:
  - id: c1
    type: metric_bound
    mechanism: uniform_phantom
    metric: max_cost
    max: 1.0
    text: a claim
"""

BEST_RESPONSE = """\
kind: facility_location
name: br
seed: 11
replications: 6
agents:
  n: 4
  locations: {distribution: uniform, round_to: 3}
  behaviours: best_response
mechanisms: [average]
axioms: [ufs]
metrics: [social_welfare]
dynamics: {max_rounds: 2000, tol: 1.0e-12}
sweep:
  grid:
    agents.n: [2, 3, 5]
"""


def up_exact(x) -> Fraction:
    """Uniform Phantom by definition: median of x and the phantoms k/n (exact rationals)."""
    n = len(x)
    pts = sorted([Fraction(float(v)) for v in x] + [Fraction(k, n) for k in range(n + 1)])
    return pts[n]


def run(tmp_path: Path, text: str, name: str, **kw):
    scenario = load_scenario_text(text)
    kw.setdefault("workers", 1)
    kw.setdefault("progress", False)
    summary = runner.run_scenario(scenario, tmp_path / name, scenario_text=text, **kw)
    return summary, tmp_path / name


def tables(out: Path):
    return [pq.read_table(out / f) for f in (S.RESULTS_FILE, S.ROUNDS_FILE, S.ANALYSES_FILE)]


@pytest.fixture(scope="module")
def tiny_seq(tmp_path_factory):
    return run(tmp_path_factory.mktemp("seq"), TINY, "seq")


def test_results_layout(tiny_seq):
    summary, out = tiny_seq
    df = store.load_results(out)
    # 2 design points x 3 replications x 4 mechanisms
    assert len(df) == 24 and summary.rows == 24 and summary.failed == 0
    assert summary.status == "complete" and summary.runs == 6 and summary.design_points == 2
    keys = list(zip(df.design_point, df.replication, df.mechanism_order))
    assert keys == sorted(keys)
    assert df.run_id.tolist() == [f"{d}-{r}" for d, r, _ in keys]
    assert df.seed.tolist() == [f"5/{d}/{r}" for d, r, _ in keys]
    assert set(df.mechanism) == {"uniform_phantom", "average", "random_rank", "half"}
    assert df.loc[df.mechanism == "half", "mechanism_name"].unique().tolist() == ["constant"]
    assert df.loc[df.mechanism == "random_rank", "randomized"].all()
    assert not df.loc[df.mechanism == "average", "randomized"].any()
    assert (df.domain == "facility_location").all()
    assert (df.distribution == "uniform").all() and (df.behaviour == "truthful").all()
    assert df["param.agents.n"].tolist() == df.n.tolist()
    assert sorted(set(df.n)) == [3, 4]
    assert all(len(loc) == n for loc, n in zip(df.locations, df.n))
    for col in ("metric.social_welfare", "metric.max_cost", "axiom.ufs", "slack.ufs", "witness.pf"):
        assert col in df.columns
    assert df.error.isna().all()
    # truthful runs: one round each, reports are the true locations
    assert (df.rounds == 1).all() and df.converged.all()
    assert all(np.array_equal(r, loc) for r, loc in zip(df.reports, df.locations))
    sch = pq.read_schema(out / S.RESULTS_FILE)
    assert str(sch.field("locations").type) == "list<element: double>"
    assert str(sch.field("axiom.ufs").type) == "bool"
    assert str(sch.field("param.agents.n").type) == "int64"


def test_paired_instances(tiny_seq):
    df = store.load_results(tiny_seq[1])
    for _, g in df.groupby("run_id"):
        first = np.asarray(g.locations.iloc[0])
        assert all(np.array_equal(np.asarray(v), first) for v in g.locations)
    # different replications draw different instances
    locs = {tuple(v) for v in df.loc[df.mechanism_order == 0, "locations"]}
    assert len(locs) > 1


def test_truthful_uniform_phantom_rows(tiny_seq):
    df = store.load_results(tiny_seq[1])
    up = df[df.mechanism == "uniform_phantom"]
    assert up["axiom.ufs"].all() and up["axiom.pf"].all() and up["axiom.ifs"].all()
    assert up["axiom.strategyproofness"].all()
    assert up["witness.ufs"].isna().all()
    for x, y, yt in zip(up.locations, up.outcome, up.truthful_outcome):
        assert abs(Fraction(y) - up_exact(x)) <= Fraction(1, 10**12)
        assert y == yt
    sw = [sum(1 - abs(y - v) for v in x) for x, y in zip(up.locations, up.outcome)]
    assert np.allclose(up["metric.social_welfare"], sw, atol=1e-12)
    half = df[df.mechanism == "half"]
    assert (half.outcome == 0.5).all()


def test_rounds_table(tiny_seq):
    df = store.load_results(tiny_seq[1], "rounds")
    assert len(df) == 24  # one round (round 0) per truthful run
    assert (df["round"] == 0).all() and df.max_change.isna().all()
    assert "axiom.ufs" in df.columns and "axiom.strategyproofness" not in df.columns


def test_parallel_equals_sequential(tiny_seq, tmp_path):
    _, out_seq = tiny_seq
    summary, out_par = run(tmp_path, TINY, "par", workers=2)
    assert summary.workers == 2
    for a, b in zip(tables(out_seq), tables(out_par)):
        assert a.schema == b.schema
        assert a.equals(b)


def test_same_seed_identical_different_seed_differs(tiny_seq, tmp_path):
    _, out = tiny_seq
    _, again = run(tmp_path, TINY, "again")
    assert all(a.equals(b) for a, b in zip(tables(out), tables(again)))
    _, other = run(tmp_path, TINY, "other", seed=6)
    a, b = store.load_results(out), store.load_results(other)
    assert not all(np.array_equal(u, v) for u, v in zip(a.locations, b.locations))
    assert (b.seed.str.startswith("6/")).all()
    assert store.load_manifest(other)["seed"] == 6


def test_manifest_and_scenario_copy(tiny_seq):
    summary, out = tiny_seq
    man = json.loads((out / S.MANIFEST_FILE).read_text())
    assert man["name"] == "tiny" and man["kind"] == "facility_location"
    assert man["scenario_hash"] == scenario_hash(load_scenario_text(TINY))
    assert len(man["scenario_hash"]) == 64
    assert man["seed"] == 5 and man["status"] == "complete" and man["workers"] == 1
    assert man["rows"] == {"results": 24, "rounds": 24, "analyses": 0}
    assert man["scenario_text"] == TINY
    assert man["claims"][0]["id"] == "c1" and man["claims"][0]["type"] == "metric_bound"
    for pkg in ("fairsim", "numpy", "numba", "mesa", "pyarrow", "python"):
        assert man["versions"][pkg]
    assert man["started_utc"] <= man["finished_utc"]
    assert (out / S.SCENARIO_FILE).read_text() == TINY
    assert not list(out.glob(".*tmp"))  # atomic writes leave no temp files


def test_failing_mechanism_gives_error_row(tmp_path):
    @registry.register("facility.test_always_raises", "mechanism", description="raises")
    def _raises(X, **params):
        raise RuntimeError("boom")

    text = TINY.replace("  - random_rank\n", "  - test_always_raises\n")
    summary, out = run(tmp_path, text, "err")
    df = store.load_results(out)
    bad = df[df.mechanism == "test_always_raises"]
    good = df[df.mechanism != "test_always_raises"]
    assert len(bad) == 6 and summary.failed == 6 and len(df) == 24
    assert bad.error.str.contains("RuntimeError").all() and bad.error.str.contains("boom").all()
    assert bad.outcome.isna().all() and bad["axiom.ufs"].isna().all()
    assert bad.locations.notna().all()
    assert good.error.isna().all() and good["axiom.ufs"].notna().all()


def test_invalid_param_gives_error_row(tmp_path):
    text = TINY.replace("params: {c: 0.5}", "params: {c: 5.0}")
    summary, out = run(tmp_path, text, "bad_param")
    df = store.load_results(out)
    bad = df[df.mechanism == "half"]
    assert bad.error.notna().all() and summary.failed == len(bad) == 6
    assert df[df.mechanism != "half"].error.isna().all()


def test_interrupt_writes_partial_results(tmp_path, monkeypatch):
    real = runner.run_one
    calls = []

    def flaky(*args, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kw)

    monkeypatch.setattr(runner, "run_one", flaky)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, TINY, "intr")
    out = tmp_path / "intr"
    man = store.load_manifest(out)
    assert man["status"] == "interrupted"
    df = store.load_results(out)
    assert len(df) == 8 and man["rows"]["results"] == 8  # two completed runs x 4 mechanisms
    assert sorted(set(df.run_id)) == ["0-0", "0-1"]


def test_best_response_dynamics_reach_uniform_phantom(tmp_path):
    summary, out = run(tmp_path, BEST_RESPONSE, "br")
    df = store.load_results(out)
    assert len(df) == 18 and df.converged.all() and df.error.isna().all()
    for x, y in zip(df.locations, df.outcome):
        assert abs(Fraction(y) - up_exact(x)) <= Fraction(1, 10**9)
    assert (df.behaviour == "best_response").all()
    rounds = store.load_results(out, "rounds")
    assert rounds.groupby("run_id").size().to_dict() == df.set_index("run_id").rounds.to_dict()


def test_workers_validation(tmp_path):
    with pytest.raises(ValueError, match="workers"):
        run(tmp_path, TINY, "w", workers=0)


def test_profiles_checked_formula():
    assert runner.profiles_checked(True, 3, "exhaustive", 4, None) == 35  # C(7, 3)
    assert runner.profiles_checked(False, 2, "exhaustive", 4, None) == 25
    assert runner.profiles_checked(True, 2, "exhaustive", None, None) == 91  # G=12: C(14, 2)
    assert runner.profiles_checked(True, 4, "random", None, 50) == 55


ANALYSIS = """\
kind: facility_location
name: ana
seed: 3
agents: {n: 3}
mechanisms: [uniform_phantom]
axioms: [ufs]
metrics: [social_welfare]
analyses:
  - id: up_sw
    type: approximation_ratio
    mechanisms: [uniform_phantom]
    n: [3, 4]
    objective: sw
    method: exhaustive
    expected: ufs_price_sw
"""


def ufs_price_sw(n: int) -> Fraction:
    """Spec §8.2: max_k kn / (k^2 + (n-k)^2), exact."""
    return max(Fraction(k * n, k * k + (n - k) ** 2) for k in range(n + 1))


def test_analyses_table(tmp_path):
    summary, out = run(tmp_path, ANALYSIS, "ana")
    df = store.load_results(out, "analyses")
    assert summary.analyses_rows == 2 and len(df) == 2
    assert df.analysis.tolist() == ["up_sw", "up_sw"] and df.n.tolist() == [3, 4]
    assert (df.type == "approximation_ratio").all() and (df.mechanism == "uniform_phantom").all()
    assert (df.objective == "sw").all() and (df.method == "exhaustive").all()
    assert df.error.isna().all(), df.error.tolist()
    for n, ratio, expected, worst, checked in zip(
        df.n, df.ratio, df.expected, df.worst_profile, df.profiles_checked
    ):
        assert expected == pytest.approx(float(ufs_price_sw(n)), abs=1e-12)
        assert ratio == pytest.approx(float(ufs_price_sw(n)), abs=1e-9)
        assert len(worst) == n
        # uniform_phantom is anonymous: C(G + n, n) multisets with G = 12 for n = 3, 4
        assert checked == {3: 455, 4: 1820}[n]
    assert store.load_manifest(out)["rows"]["analyses"] == 2
