"""`fairsim run` killed with SIGKILL at several moments, then rerun: the consolidated tables equal
those of an uninterrupted run (nothing lost, nothing twice). Also `fairsim query` and the flags."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

SLOW = """\
kind: facility_location
name: killme
seed: 7
replications: 4
agents:
  n: 12
  locations: {distribution: uniform, round_to: 3}
  behaviours: best_response
mechanisms: [average, uniform_phantom]
axioms: [ufs]
metrics: [social_welfare]
dynamics: {max_rounds: 200, tol: 1.0e-12}
sweep:
  grid:
    agents.n: [8, 12]
"""
TABLES = ("results.parquet", "rounds.parquet", "analyses.parquet")


def cmd(scenario: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "fairsim", "run", str(scenario), "--out", str(out),
            "--workers", "1", "--no-progress", *extra]  # fmt: skip


def fairsim(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fairsim", *args], capture_output=True, text=True, timeout=600
    )


def committed(out: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{out / 'ledger.sqlite'}?mode=ro", uri=True, timeout=0.1)
        try:
            return int(con.execute("SELECT count(DISTINCT chunk) FROM tasks").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def kill_after(scenario: Path, out: Path, chunks: int, delay: float = 0.0) -> int:
    """Start `fairsim run`, SIGKILL it once ``chunks`` chunks are committed (plus ``delay`` s)."""
    proc = subprocess.Popen(
        cmd(scenario, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 300
    while committed(out) < chunks and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(delay)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    return proc.wait()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    root = tmp_path_factory.mktemp("killref")
    scenario = root / "slow.yaml"
    scenario.write_text(SLOW)
    out = root / "ref"
    t0 = time.monotonic()
    res = subprocess.run(cmd(scenario, out), capture_output=True, text=True, timeout=600)
    REF_SECONDS.append(time.monotonic() - t0)
    assert res.returncode == 0, res.stderr
    return scenario, out


# wall time of the uninterrupted reference run: kill delays are fractions of it, so the kills land
# inside the run on a fast idle machine and on a slow loaded one alike
REF_SECONDS: list[float] = []


def check_resume(reference, tmp_path: Path, chunks: int, delay: float = 0.0) -> None:
    scenario, ref = reference
    out = tmp_path / f"k{chunks}"
    rc = kill_after(scenario, out, chunks, delay)
    assert rc == -signal.SIGKILL, "the run finished before it could be killed"
    assert committed(out) >= chunks
    res = subprocess.run(cmd(scenario, out), capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    for f in TABLES:
        assert pq.read_table(out / f).equals(pq.read_table(ref / f)), f


def test_sigkill_mid_run_then_resume(reference, tmp_path):
    check_resume(reference, tmp_path, chunks=1)


@pytest.mark.slow
@pytest.mark.parametrize(("chunks", "fraction"), [(0, 0.15), (0, 0.5), (3, 0.0), (3, 0.05)])
def test_sigkill_at_several_moments_then_resume(reference, tmp_path, chunks, fraction):
    # 8 tasks in chunks of 2: killed before any chunk (during start-up or the first chunk),
    # and after most chunks (right at a commit, or during the last chunk); the delay after the
    # commit count is reached is a fraction of the reference run's wall time
    check_resume(reference, tmp_path, chunks, fraction * REF_SECONDS[0])


def test_other_seed_on_same_out_is_refused(reference, tmp_path):
    scenario, ref = reference
    res = fairsim("run", str(scenario), "--out", str(ref), "--seed", "8", "--no-progress")
    assert res.returncode == 2
    assert "choose another --out" in res.stderr and "Traceback" not in res.stderr


def test_query_command(reference):
    _, ref = reference
    sql = 'SELECT mechanism, count(*) AS k, max("metric.social_welfare") AS m FROM results ' \
        "GROUP BY mechanism ORDER BY mechanism"  # fmt: skip
    res = fairsim("query", str(ref), sql, "--csv")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    assert lines[0] == "mechanism,k,m"
    df = pq.read_table(ref / "results.parquet").to_pandas()
    for line, (name, g) in zip(lines[1:], sorted(df.groupby("mechanism"))):
        m, k, best = line.split(",")
        assert m == name and int(k) == len(g) == 8
        assert float(best) == g["metric.social_welfare"].max()
    table = fairsim("query", str(ref), "SELECT count(*) AS runs FROM rounds")
    assert table.returncode == 0 and "runs" in table.stdout
    bad = fairsim("query", str(ref), "SELECT nope FROM results")
    assert bad.returncode == 2 and "sql failed" in bad.stderr and "Traceback" not in bad.stderr


def test_run_flags_in_help():
    res = fairsim("run", "--help")
    for flag in ("--retry-failed", "--executor", "--address"):
        assert flag in res.stdout
