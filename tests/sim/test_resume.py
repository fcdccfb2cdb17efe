"""Crash-safe chunks, the run ledger, resumption, --retry-failed, executors and queries (in-process).

Every check compares a resumed or differently executed run with a fresh uninterrupted sequential
run of the same scenario and seed: the consolidated tables must be equal (pyarrow Table.equals).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from fairsim import registry
from fairsim.errors import InputError
from fairsim.scenarios.loader import load_scenario_text
from fairsim.sim import runner, store
from fairsim.sim import schema as S

TEXT = """\
kind: facility_location
name: resume
seed: 9
replications: 5
agents:
  n: 3
  locations: {distribution: uniform, round_to: 6}
  behaviours: truthful
mechanisms: [uniform_phantom, average, random_rank]
axioms: [ufs, pf]
metrics: [social_welfare]
sweep:
  grid:
    agents.n: [3, 4]
analyses:
  - id: a
    type: approximation_ratio
    mechanisms: [uniform_phantom]
    n: [2]
    objective: sw
    method: exhaustive
    grid: 4
"""

TABLES = (S.RESULTS_FILE, S.ROUNDS_FILE, S.ANALYSES_FILE)


def go(out: Path, text: str = TEXT, **kw):
    kw.setdefault("workers", 1)
    kw.setdefault("progress", False)
    return runner.run_scenario(load_scenario_text(text), out, scenario_text=text, **kw)


def same_tables(a: Path, b: Path) -> bool:
    return all(pq.read_table(a / f).equals(pq.read_table(b / f)) for f in TABLES)


def ledger_rows(out: Path) -> list[tuple]:
    con = sqlite3.connect(out / S.LEDGER_FILE)
    try:
        return con.execute(
            "SELECT design_point, replication, status, error, chunk FROM tasks ORDER BY 1, 2"
        ).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "ref"
    summary = go(out)
    return summary, out


def test_reference_layout(reference):
    summary, out = reference
    assert summary.status == "complete" and summary.runs == 10 and summary.rows == 30
    rows = ledger_rows(out)
    assert [(d, r) for d, r, *_ in rows] == [(d, r) for d in range(2) for r in range(5)]
    assert all(s == "done" and e is None for _, _, s, e, _ in rows)
    chunks = {c for *_, c in rows}
    # 10 sequential tasks in chunks of ceil(10 / 4) = 3 tasks: 4 chunk files per table
    assert len(chunks) == 4
    for c in chunks:
        assert store.chunk_path(out, "results", c).is_file()
        assert store.chunk_path(out, "rounds", c).is_file()
    man = store.load_manifest(out)
    assert man["runs"] == 10 and man["resumed_tasks"] == 0 and man["failed_tasks"] == 0
    assert man["executor"] == "sequential"


def test_rerun_complete_dir_changes_nothing(reference, tmp_path):
    _, ref = reference
    out = tmp_path / "o"
    go(out)
    before = ledger_rows(out)
    summary = go(out)
    assert summary.status == "complete" and store.load_manifest(out)["resumed_tasks"] == 10
    assert ledger_rows(out) == before
    assert same_tables(out, ref)


def test_crash_between_chunk_and_ledger_commit(reference, tmp_path):
    """A chunk written but not committed (crash in between) is ignored and its tasks rerun."""
    _, ref = reference
    out = tmp_path / "o"
    go(out)
    con = sqlite3.connect(out / S.LEDGER_FILE)
    with con:
        last = con.execute("SELECT max(chunk) FROM tasks").fetchone()[0]
        con.execute("DELETE FROM tasks WHERE chunk = ?", (last,))
        con.execute("DELETE FROM meta WHERE key = 'analyses_done'")
    con.close()
    for f in TABLES:
        (out / f).unlink()
    summary = go(out)
    assert summary.status == "complete"
    assert store.load_manifest(out)["resumed_tasks"] == 10 - 1  # last chunk held one task
    assert same_tables(out, ref)
    # the orphan was not reused: the rerun task went into a new chunk
    assert max(c for *_, c in ledger_rows(out)) > last


def test_interrupt_then_resume(reference, tmp_path, monkeypatch):
    _, ref = reference
    out = tmp_path / "o"
    real = runner.run_one
    calls: list[int] = []

    def flaky(*args, **kw):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real(*args, **kw)

    monkeypatch.setattr(runner, "run_one", flaky)
    with pytest.raises(KeyboardInterrupt):
        go(out)
    man = store.load_manifest(out)
    assert man["status"] == "interrupted" and man["runs"] == 4
    assert len(ledger_rows(out)) == 4 and len(store.load_results(out)) == 12
    monkeypatch.setattr(runner, "run_one", real)
    summary = go(out)
    assert summary.status == "complete" and summary.runs == 10
    assert store.load_manifest(out)["resumed_tasks"] == 4
    assert same_tables(out, ref)


def test_other_scenario_or_seed_is_refused(tmp_path):
    out = tmp_path / "o"
    go(out)
    with pytest.raises(InputError, match="choose another --out"):
        go(out, seed=10)
    with pytest.raises(InputError, match="choose another --out"):
        go(out, TEXT.replace("replications: 5", "replications: 4"))


FLAKY = {"fail": True}


@registry.register("facility.test_flaky_half", "mechanism", description="raises while told to")
def _flaky_half(X, **params):
    import numpy as np

    if FLAKY["fail"]:
        raise RuntimeError("flaky")
    return np.full(np.asarray(X).shape[0], 0.5)


def test_failed_tasks_and_retry_failed(tmp_path):
    text = TEXT.replace("random_rank]", "test_flaky_half]")
    FLAKY["fail"] = False
    ref = tmp_path / "ref"
    go(ref, text)
    FLAKY["fail"] = True
    out = tmp_path / "o"
    try:
        first = go(out, text)
        assert first.failed == 10 and first.status == "complete"
        rows = ledger_rows(out)
        assert all(s == "failed" and "RuntimeError: flaky" in e for _, _, s, e, _ in rows)
        df = store.load_results(out)
        assert df.loc[df.mechanism == "test_flaky_half", "error"].notna().all()
        FLAKY["fail"] = False
        assert go(out, text).failed == 10  # a plain rerun leaves failed tasks alone
        again = go(out, text, retry_failed=True)
    finally:
        FLAKY["fail"] = False
    assert again.failed == 0 and store.load_manifest(out)["retried_tasks"] == 10
    assert all(s == "done" for _, _, s, _, _ in ledger_rows(out))
    assert same_tables(out, ref)


def test_executor_validation(tmp_path):
    with pytest.raises(InputError, match="executor"):
        go(tmp_path / "a", executor="threads")
    with pytest.raises(InputError, match="address"):
        go(tmp_path / "b", executor="local", address="tcp://127.0.0.1:8786")


def test_explicit_sequential_and_local_pool_equal(reference, tmp_path):
    _, ref = reference
    go(tmp_path / "s", executor="sequential", workers=2)
    assert same_tables(tmp_path / "s", ref)
    go(tmp_path / "p", executor="local", workers=2)
    assert store.load_manifest(tmp_path / "p")["workers"] == 2
    assert same_tables(tmp_path / "p", ref)


@pytest.mark.slow
def test_dask_local_cluster_equals_sequential(reference, tmp_path):
    pytest.importorskip("distributed")
    _, ref = reference
    summary = go(tmp_path / "d", executor="dask", workers=2)
    assert summary.workers == 2 and store.load_manifest(tmp_path / "d")["executor"] == "dask"
    assert same_tables(tmp_path / "d", ref)


@pytest.mark.slow
def test_dask_existing_scheduler_address_equals_sequential(reference, tmp_path):
    """`--address` joins a scheduler started elsewhere (here a LocalCluster of separate worker
    processes in this test) and gives the same tables as a sequential run."""
    distributed = pytest.importorskip("distributed")
    _, ref = reference
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        summary = go(tmp_path / "a", executor="dask", address=cluster.scheduler_address)
    assert summary.status == "complete"
    assert store.load_manifest(tmp_path / "a")["executor"] == "dask"
    assert same_tables(tmp_path / "a", ref)


def test_dask_missing_gives_install_hint(monkeypatch, tmp_path):
    import builtins

    from fairsim.errors import FairsimError

    real_import = builtins.__import__

    def no_distributed(name, *a, **kw):
        if name == "distributed" or name.startswith("distributed."):
            raise ImportError("no distributed")
        return real_import(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", no_distributed)
    with pytest.raises(FairsimError, match=r"pip install 'fairsim\[dask\]'"):
        go(tmp_path / "x", executor="dask", workers=2)


def test_load_and_query(reference):
    import fairsim.sim as sim
    from fairsim.sim.query import query

    pytest.importorskip("duckdb")
    _, out = reference
    df = sim.load(out)
    assert df.equals(pq.read_table(out / S.RESULTS_FILE).to_pandas()) and len(df) == 30
    assert len(sim.load(out, table="analyses")) == 1
    q = query(out, 'SELECT mechanism, avg("metric.social_welfare") AS sw FROM results GROUP BY 1')
    expected = df.groupby("mechanism")["metric.social_welfare"].mean()
    assert dict(zip(q.mechanism, q.sw)) == pytest.approx(expected.to_dict(), abs=1e-12)
    n_rounds = query(out, "SELECT count(*) AS k FROM rounds").k.iloc[0]
    assert n_rounds == len(sim.load(out, table="rounds"))
    with pytest.raises(InputError, match="table"):
        sim.load(out, table="nope")
    with pytest.raises(InputError, match="sql failed"):
        query(out, "SELECT missing_column FROM results")
