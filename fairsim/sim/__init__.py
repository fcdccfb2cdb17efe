"""fairsim.sim: Mesa models per domain, the batch runner and the results store.

* :mod:`fairsim.sim.facility`: ``FacilityModel`` (one run) and ``simulate_facility``.
* :mod:`fairsim.sim.runner`: ``run_scenario`` (a whole scenario, sequential or process pool).
* :mod:`fairsim.sim.store`: Parquet tables and manifest; ``load_results``.
* :mod:`fairsim.sim.schema`: the results-directory layout (the contract with the reports).
* :mod:`fairsim.sim.query`: ``load`` (a table as pandas; re-exported here) and ``query``
  (SQL through DuckDB).

``run_scenario`` and ``load_results`` are re-exported here lazily (Mesa loads on first use).
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "run_scenario": "fairsim.sim.runner",
    "load_results": "fairsim.sim.store",
    "load": "fairsim.sim.query",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["load", "load_results", "run_scenario"]  # noqa: F822 - lazy, see __getattr__
