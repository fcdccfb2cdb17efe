"""Comparative fairness reports from a results directory (HTML + CSV).

``build_report(results_dir)`` writes ``report.html``, ``summary.csv`` and ``claims.csv``;
``summarize(results_dir)`` returns the statistics as tables. Submodules (pandas, jinja2,
matplotlib) are imported on first use so that ``import fairsim.reports`` stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ReportPaths", "Summary", "build_report", "load_results", "summarize"]

_WHERE = {
    "ReportPaths": "fairsim.reports.build",
    "build_report": "fairsim.reports.build",
    "Summary": "fairsim.reports.summary",
    "summarize": "fairsim.reports.summary",
    "load_results": "fairsim.reports.data",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'fairsim.reports' has no attribute {name!r}")
