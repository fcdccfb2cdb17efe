"""Domain plugins of the batch runner: scenario ``kind`` -> the module that runs its tasks [F].

A plugin module (named by :class:`Domain`) provides

* ``run_one(scenario, dp, rep, root_seed, base_dir) -> (result rows, round rows)``: every
  mechanism of one design point x replication (never raises; failures go into ``error``);
* ``schemas(points, param_kinds) -> (results schema, rounds schema)``: the pyarrow schemas, built
  with :func:`fairsim.sim.store.results_schema` from the common columns (:mod:`fairsim.sim.schema`)
  plus the domain's own ``head`` / ``mid`` columns;
* ``run_analyses(scenario, root_seed) -> rows`` of ``analyses.parquet`` (may be empty).

The runner (:mod:`fairsim.sim.runner`) is domain-agnostic: it expands sweeps, chunks tasks,
writes the ledger and tables, and dispatches through :func:`get`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from fairsim.errors import InputError


@dataclass(frozen=True)
class Domain:
    """One scenario kind: its plugin ``module``, registry ``prefix`` and forkserver ``preload``."""

    kind: str
    prefix: str
    module: str
    preload: tuple[str, ...] = ()

    def load(self) -> ModuleType:
        """Import and return the plugin module."""
        return importlib.import_module(self.module)


DOMAINS: dict[str, Domain] = {
    "facility_location": Domain(
        kind="facility_location",
        prefix="facility",
        module="fairsim.sim.facility_task",
        preload=("fairsim.sim.facility", "fairsim.sim.facility_task"),
    ),
    "participatory_budgeting": Domain(
        kind="participatory_budgeting",
        prefix="budgeting",
        module="fairsim.sim.budgeting",
        preload=("fairsim.sim.budgeting",),
    ),
    "fair_division": Domain(
        kind="fair_division",
        prefix="division",
        module="fairsim.sim.division",
        preload=("fairsim.sim.division",),
    ),
    "data_sharing": Domain(
        kind="data_sharing",
        prefix="data_sharing",
        module="fairsim.sim.data_sharing",
        preload=("fairsim.sim.data_sharing",),
    ),
    "federated": Domain(
        kind="federated",
        prefix="federated",
        module="fairsim.sim.federated_task",
        preload=("fairsim.sim.federated_task",),
    ),
    "budget_aggregation": Domain(
        kind="budget_aggregation",
        prefix="budget_aggregation",
        module="fairsim.sim.budget_aggregation",
        preload=("fairsim.sim.budget_aggregation",),
    ),
}


def get(kind: str) -> Domain:
    """The plugin of scenario kind ``kind``; :class:`InputError` for an unknown kind."""
    try:
        return DOMAINS[kind]
    except KeyError:
        raise InputError(
            f"kind must be one of {sorted(DOMAINS)}; got {kind!r} (no runner plugin)"
        ) from None


def preload_modules() -> list[str]:
    """Every plugin's forkserver preload modules (in plugin order, without repeats)."""
    out: list[str] = []
    for d in DOMAINS.values():
        out.extend(m for m in d.preload if m not in out)
    return out


__all__ = ["DOMAINS", "Domain", "get", "preload_modules"]
