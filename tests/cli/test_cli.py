"""The `fairsim` command end to end (subprocesses, as a user runs it)."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
QUICK = ROOT / "scenarios" / "facility" / "quick.yaml"


def fairsim(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fairsim", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
    )


def up_exact(x: list[float]) -> Fraction:
    """Uniform Phantom from its definition: median of x and the phantoms 1/n..(n-1)/n."""
    n = len(x)
    pts = sorted([Fraction(v) for v in x] + [Fraction(k, n) for k in range(1, n)])
    return pts[n - 1]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("quick")
    res = fairsim(
        "run", str(QUICK), "--out", str(out), "--workers", "1", "--no-progress", "--report"
    )
    assert res.returncode == 0, res.stderr + res.stdout
    return out


def test_run_writes_results_manifest_and_report(quick_run):
    out = quick_run
    df = pd.read_parquet(out / "results.parquet")
    # quick.yaml: n in {3, 5} x 12 replications x 5 mechanisms
    assert len(df) == 2 * 12 * 5
    assert set(df["mechanism"]) == {
        "uniform_phantom",
        "median",
        "average",
        "midpoint",
        "random_rank",
    }
    assert df["error"].isna().all()
    # Every Uniform Phantom outcome equals the exact definition on the stored true locations.
    up = df[df["mechanism"] == "uniform_phantom"]
    for locs, y in zip(up["locations"], up["outcome"]):
        assert abs(float(up_exact(list(locs))) - y) <= 1e-12
    assert up["axiom.ufs"].all() and up["axiom.pf"].all() and up["axiom.strategyproofness"].all()
    # paired instances: every mechanism of a run saw the same locations
    for _, g in df.groupby("run_id"):
        first = list(g["locations"].iloc[0])
        assert all(list(v) == first for v in g["locations"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 20261122
    assert len(manifest["scenario_hash"]) == 64
    html = (out / "report.html").read_text()
    assert "<svg" in html and "uniform_phantom" in html
    assert (out / "summary.csv").is_file()


def test_same_seed_same_rows_sequential_and_parallel(quick_run, tmp_path):
    res = fairsim(
        "run", str(QUICK), "--out", str(tmp_path / "par"), "--workers", "2", "--no-progress"
    )
    assert res.returncode == 0, res.stderr
    a = pd.read_parquet(quick_run / "results.parquet")
    b = pd.read_parquet(tmp_path / "par" / "results.parquet")
    pd.testing.assert_frame_equal(a, b)


def test_seed_override_changes_instances(quick_run, tmp_path):
    res = fairsim(
        "run",
        str(QUICK),
        "--out",
        str(tmp_path / "s"),
        "--workers",
        "1",
        "--seed",
        "1",
        "--no-progress",
    )
    assert res.returncode == 0, res.stderr
    a = pd.read_parquet(quick_run / "results.parquet")
    b = pd.read_parquet(tmp_path / "s" / "results.parquet")
    assert list(a["locations"].iloc[0]) != list(b["locations"].iloc[0])
    assert json.loads((tmp_path / "s" / "manifest.json").read_text())["seed"] == 1


def test_report_command(quick_run, tmp_path):
    target = tmp_path / "r.html"
    res = fairsim("report", str(quick_run), "--out", str(target))
    assert res.returncode == 0, res.stderr
    assert target.read_text().lstrip().lower().startswith("<!doctype html")


def test_bad_yaml_reports_file_line_field_without_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "kind: facility_location\nname: bad\nagents:\n  n: 0\nmechanisms: [uniform_phantom]\n"
    )
    res = fairsim("validate", str(bad))
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert f"{bad}:4: agents.n:" in res.stderr
    res = fairsim("run", str(bad), "--out", str(tmp_path / "o"))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert f"{bad}:4: agents.n:" in res.stderr


def test_unknown_mechanism_lists_available(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "kind: facility_location\nname: bad\nagents: {n: 3}\nmechanisms: [uniform_phantomm]\n"
    )
    res = fairsim("validate", str(bad))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert f"{bad}:4" in res.stderr and "uniform_phantom" in res.stderr


def test_python_tags_rejected(tmp_path):
    bad = tmp_path / "evil.yaml"
    marker = tmp_path / "pwned"
    bad.write_text(
        "kind: facility_location\nname: !!python/object/apply:os.system "
        f"['touch {marker}']\nagents: {{n: 3}}\nmechanisms: [median]\n"
    )
    res = fairsim("validate", str(bad))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert f"{bad}:2" in res.stderr
    assert not marker.exists()


def test_list_and_validate_shipped():
    res = fairsim("list")
    assert res.returncode == 0
    for name in (
        "facility.uniform_phantom",
        "facility.ufs",
        "facility.strategyproofness",
        "facility.best_response",
        "budget_aggregation.independent_markets",
    ):
        assert name in res.stdout
    shipped = sorted((ROOT / "scenarios").rglob("*.yaml"))
    assert len(shipped) >= 3
    res = fairsim("validate", *map(str, shipped))
    assert res.returncode == 0, res.stderr
    assert res.stdout.count(": ok") == len(shipped)


def test_report_on_missing_dir_is_clear(tmp_path):
    res = fairsim("report", str(tmp_path / "nope"))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "nope" in res.stderr


def test_result_files_get_ordinary_permissions(quick_run):
    import os
    import stat

    mask = os.umask(0)
    os.umask(mask)
    for name in ("results.parquet", "manifest.json", "scenario.yaml"):
        mode = stat.S_IMODE((quick_run / name).stat().st_mode)
        assert mode == 0o666 & ~mask, (name, oct(mode))
