"""Scenario files: pydantic schema, YAML loader with ``file:line`` errors, sweep expansion."""

from fairsim.scenarios.loader import (
    load_scenario,
    load_scenario_text,
    read_text,
    scenario_base_dir,
    scenario_hash,
    scenario_source,
)
from fairsim.scenarios.schema import KINDS, Scenario
from fairsim.scenarios.sweeps import DesignPoint, count_design_points, count_runs, expand

__all__ = [
    "KINDS",
    "DesignPoint",
    "Scenario",
    "count_design_points",
    "count_runs",
    "expand",
    "load_scenario",
    "load_scenario_text",
    "read_text",
    "scenario_base_dir",
    "scenario_hash",
    "scenario_source",
]
