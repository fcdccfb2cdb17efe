"""Fixtures of the report tests (builder in report_fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_fixtures import XSS, build_results, standard_results


@pytest.fixture(scope="session")
def xss_report(tmp_path_factory: pytest.TempPathFactory):
    """A report (built once per session) whose second mechanism label is an HTML injection."""
    from fairsim.reports import build_report

    root = build_results(
        tmp_path_factory.mktemp("xss") / "res",
        mechanisms=("uniform_phantom", XSS, "cost$x$"),
        error_runs={XSS: ["1-3"]},
        ufs_fail={XSS: {"0-1"}},
    )
    return root, build_report(root)


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    return standard_results(tmp_path / "res")
