"""The batch runner: expand a scenario, run every (design point, replication, mechanism), store.

Seeds (DESIGN.md "Seeds"): run ``(dp, rep)`` uses ``SeedSequence(root_seed, spawn_key=(dp, rep))``
and its children ``(0,)`` for the instance draw, ``(1,)`` for the behaviour assignment and the
agents' own RNGs, ``(2, k)`` for mechanism number ``k`` (its position in the scenario's list).
One instance is drawn per ``(dp, rep)`` and every mechanism runs on it (paired comparison).
Analyses use ``SeedSequence(root_seed, spawn_key=(ANALYSIS_KEY, analysis, mechanism, n))``.

Execution (:mod:`fairsim.sim.executors`): ``"sequential"``, ``"local"`` (a process pool of
``workers`` processes, default ``os.cpu_count()``; ``workers=1`` runs in-process) or ``"dask"``
(a ``LocalCluster`` or an existing scheduler), over chunks of consecutive tasks, so each worker is
reused and numba compiles (or loads its cache) once per worker. Rows are sorted by (design_point,
replication, mechanism_order), so the tables are identical whatever the executor.

Crash safety and resumption [F]: each completed chunk of tasks is written atomically to
``OUT/chunks/{results,rounds}/part-XXXXX.parquet``, then its tasks are committed to the run ledger
``OUT/ledger.sqlite`` (:mod:`fairsim.sim.ledger`). Running the same scenario and seed on the same
``out_dir`` again runs only the tasks the ledger lacks (``retry_failed=True``: also the failed
ones), so after a crash at any moment (SIGKILL included) the final tables equal those of an
uninterrupted run. The consolidated ``results.parquet`` / ``rounds.parquet`` are rebuilt from the
chunks at the end of every invocation. Another scenario or seed on a used ``out_dir`` is refused.

A run that raises becomes a row with ``error`` (``"<ExceptionType>: <message>"``) and null scores,
and its task is recorded as failed; the batch goes on. On ``KeyboardInterrupt`` or a failure of the
executor itself, what has completed is written with manifest status ``"interrupted"`` and the
exception is re-raised.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401 - pa.compute
import pyarrow.parquet as pq

from fairsim.errors import InputError
from fairsim.sim import domains, store
from fairsim.sim import schema as S
from fairsim.sim.executors import ChunkFailure, check_executor, execute
from fairsim.sim.ledger import FAILED, Ledger, check_same_run

ANALYSIS_KEY = 0xA7A1
"""First spawn-key word of the analyses' seeds (design points use ``(dp, rep)``)."""


@dataclass(frozen=True)
class RunSummary:
    """What :func:`run_scenario` did. ``rows`` result rows, of which ``failed`` have an error."""

    out_dir: Path
    scenario: str
    seed: int
    status: str
    design_points: int
    runs: int
    rows: int
    failed: int
    rounds_rows: int
    analyses_rows: int
    workers: int
    wall_time_s: float


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def run_one(
    scenario: Any, dp: int, rep: int, root_seed: int, base_dir: str | Path | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """All mechanisms of design point ``dp``, replication ``rep``: (result rows, round rows).

    Dispatches to the plugin of ``scenario.kind`` (:mod:`fairsim.sim.domains`). ``scenario`` is
    the design point's scenario. Result rows lack the ``param.*`` columns (the runner adds them).
    Never raises for a failing run: the failure goes into the ``error`` column.
    """
    return domains.get(scenario.kind).load().run_one(scenario, dp, rep, root_seed, base_dir)


def profiles_checked(
    anonymous: bool, n: int, method: str, grid: int | None, samples: int | None
) -> int:
    """Number of profiles ``approximation_ratio`` examines (spec §8.1); see
    :func:`fairsim.sim.facility_task.profiles_checked`."""
    from fairsim.sim.facility_task import profiles_checked as f

    return f(anonymous, n, method, grid, samples)


def run_analyses(
    scenario: Any, root_seed: int, rows: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Rows of ``analyses.parquet`` of the scenario's domain (appended to ``rows``)."""
    rows = [] if rows is None else rows
    rows.extend(domains.get(scenario.kind).load().run_analyses(scenario, root_seed))
    return rows


# ------------------------------------------------------------------------------------------
# Driver
# ------------------------------------------------------------------------------------------


def _param_kinds(points: Sequence[Any]) -> list[tuple[str, str]]:
    """Swept parameter paths and their column kind ("int", "float" or "json")."""
    paths = store.unique(p for dp in points for p in dp.params)
    out = []
    for p in paths:
        vals = [dp.params.get(p) for dp in points if p in dp.params]
        nums = [v for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(nums) == len(vals):
            out.append((p, "int" if all(isinstance(v, int) for v in vals) else "float"))
        else:
            out.append((p, "json"))
    return out


def _param_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "json":
        return json.dumps(_plain(value), sort_keys=True)
    return int(value) if kind == "int" else float(value)


def _plain(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _scenario_text(
    scenario: Any, scenario_path: Any, scenario_text: str | None, source: Any
) -> str:
    if scenario_text is not None:
        return scenario_text
    if scenario_path is not None:
        return Path(scenario_path).read_text(encoding="utf-8")
    if source is not None and source.text is not None:
        return str(source.text)
    import yaml

    return yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False)


def _check_workers(workers: int | None) -> int:
    if workers is None:
        return max(1, os.cpu_count() or 1)
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise InputError(
            f"workers must be an integer >= 1 (or None for all cores); got {workers!r}"
        )
    return int(workers)


def _progress(enabled: bool, total: int) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    prog = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
        disable=not (enabled and sys.stderr.isatty()),
    )
    return prog


CHUNK_MAX = 256
"""Most tasks per chunk file (a crash loses at most the chunks in flight) [F]."""


def _chunk_size(n_tasks: int, workers: int) -> int:
    return max(1, min(CHUNK_MAX, math.ceil(n_tasks / (max(1, workers) * 4))))


@dataclass
class _Plan:
    """What one invocation needs beyond the scenario: schemas, parameter columns, names."""

    kinds: list[tuple[str, str]]
    params_of: dict[int, dict[str, Any]]
    results_schema: Any
    rounds_schema: Any


def _plan(points: Sequence[Any]) -> _Plan:
    kinds = _param_kinds(points)
    plugin = domains.get(points[0].scenario.kind).load()
    results_schema, rounds_schema = plugin.schemas(points, kinds)
    return _Plan(
        kinds=kinds,
        params_of={int(dp.index): dp.params for dp in points},
        results_schema=results_schema,
        rounds_schema=rounds_schema,
    )


class _Sink:
    """Buffers completed tasks and commits them as chunks (chunk files first, then the ledger)."""

    def __init__(self, out: Path, plan: _Plan, led: Ledger, size: int) -> None:
        self.out, self.plan, self.led, self.size = out, plan, led, size
        self.buffer: list[tuple[int, int, list, list]] = []
        self.next_no = store.next_chunk_number(out)

    def add(self, items: Sequence[tuple[int, int, list, list]]) -> None:
        self.buffer.extend(items)
        if len(self.buffer) >= self.size:
            self.flush()

    def fail(self, tasks: Sequence[tuple[int, int]], error: str) -> None:
        self.led.record(None, [(dp, rep, error) for dp, rep in tasks])

    def flush(self) -> None:
        if not self.buffer:
            return
        results: list[dict[str, Any]] = []
        rounds: list[dict[str, Any]] = []
        entries: list[tuple[int, int, str | None]] = []
        for dp, rep, rows, rrows in self.buffer:
            p = self.plan.params_of.get(dp, {})
            err = None
            for row in sorted(rows, key=lambda r: r["mechanism_order"]):
                for path, kind in self.plan.kinds:
                    row[S.PARAM_PREFIX + path] = _param_value(p.get(path), kind)
                if err is None and row.get("error") is not None:
                    err = str(row["error"])
                results.append(row)
            rounds.extend(rrows)
            entries.append((dp, rep, err))
        name = f"part-{self.next_no:05d}"
        store.write_chunk(
            self.out,
            name,
            store.table_from_rows(results, self.plan.results_schema),
            store.table_from_rows(rounds, self.plan.rounds_schema),
        )
        self.led.record(name, entries)
        self.next_no += 1
        self.buffer.clear()


def run_scenario(
    scenario: Any,
    out_dir: str | Path,
    *,
    workers: int | None = None,
    seed: int | None = None,
    progress: bool = True,
    scenario_path: str | Path | None = None,
    scenario_text: str | None = None,
    executor: str = "local",
    address: str | None = None,
    retry_failed: bool = False,
) -> RunSummary:
    """Run a validated scenario as a batch and write (or continue) the results directory.

    Parameters
    ----------
    scenario:
        A validated scenario model (``fairsim.scenarios.load_scenario``).
    out_dir:
        Results directory (created); layout in :mod:`fairsim.sim.schema`. If it holds a partial
        run of the same scenario and seed, only the missing tasks run (see the module docstring);
        a directory of another scenario or seed raises :class:`InputError`.
    workers:
        Worker processes (default ``os.cpu_count()``); 1 runs sequentially in this process
        (``executor="local"``). The tables do not depend on it.
    seed:
        Root seed; overrides ``scenario.seed`` when given.
    progress:
        Show a transient rich progress bar (only on a terminal).
    scenario_path, scenario_text:
        The scenario file and its text, copied to ``scenario.yaml`` and the manifest (without
        them the scenario is dumped as YAML). Relative data paths resolve against the file's folder.
    executor:
        ``"local"`` (process pool; default), ``"sequential"`` or ``"dask"``
        (:mod:`fairsim.sim.executors`).
    address:
        Dask scheduler address (``tcp://host:port``) to join instead of starting a LocalCluster.
    retry_failed:
        Also rerun the tasks the ledger records as failed.
    """
    from fairsim.scenarios._source import attach
    from fairsim.scenarios.loader import scenario_hash, scenario_source
    from fairsim.scenarios.sweeps import expand

    n_workers = _check_workers(workers)
    executor = check_executor(executor, address)
    source = scenario_source(scenario)
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise InputError(f"seed must be an integer >= 0; got {seed!r}")
        if int(seed) != scenario.seed:
            scenario = attach(scenario.model_copy(update={"seed": int(seed)}), source)
    root = int(scenario.seed)
    text = _scenario_text(scenario, scenario_path, scenario_text, source)
    if scenario_path is not None:
        base_dir: str | None = str(Path(scenario_path).resolve().parent)
    elif source is not None and source.base_dir is not None:
        base_dir = str(source.base_dir)
    else:
        base_dir = None
    out = Path(out_dir)
    started = datetime.now(UTC)
    t0 = time.perf_counter()

    points = expand(scenario)
    plan = _plan(points)
    by_index = {int(dp.index): dp.scenario for dp in points}
    tasks = [(int(dp.index), rep) for dp in points for rep in range(int(dp.scenario.replications))]
    digest = scenario_hash(scenario)
    had_ledger = (out / S.LEDGER_FILE).is_file()
    if not had_ledger and (out / S.MANIFEST_FILE).is_file():
        old = store.load_manifest(out)
        check_same_run(out, str(old.get("scenario_hash")), int(old.get("seed", -1)), digest, root)
    with Ledger(out) as led:
        led.bind(digest, root, out)
        recorded = led.tasks()
        todo = [
            t for t in tasks if t not in recorded or (retry_failed and recorded[t][0] == FAILED)
        ]
        if executor == "local" and (n_workers <= 1 or len(todo) <= 1):
            executor = "sequential"
        workers_used = 1 if executor == "sequential" else max(1, min(n_workers, len(todo)))
        size = _chunk_size(len(todo), workers_used)
        sink = _Sink(out, plan, led, size)
        chunks = [todo[i : i + size] for i in range(0, len(todo), size)]
        meta = {
            "executor": executor,
            "workers": workers_used,
            "resumed_tasks": len(recorded),
            "retried_tasks": sum(1 for t in todo if t in recorded),
        }

        def finish(status: str) -> RunSummary:
            return _write(out, scenario, points, plan, led, text, root, meta, started, t0, status)

        try:
            with _progress(progress, len(todo)) as prog:
                bar = prog.add_task("runs", total=len(todo))
                for res in execute(
                    executor, chunks, by_index, root, base_dir, workers_used, address
                ):
                    if isinstance(res, ChunkFailure):
                        sink.fail(res.tasks, res.error)
                        prog.advance(bar, len(res.tasks))
                        continue
                    sink.add(res)
                    prog.advance(bar, len(res))
            sink.flush()
            if led.get_meta("analyses_done") != "1":
                analyses = run_analyses(scenario, root)
                store.write_table(
                    store.chunk_path(out, "analyses", "analyses"),
                    store.table_from_rows(analyses, store.analyses_schema()),
                    durable=True,
                )
                led.set_meta("analyses_done", "1")
        except BaseException:
            try:
                sink.flush()
                finish("interrupted")
            except Exception as exc:  # noqa: BLE001 - keep the original exception
                print(f"fairsim: could not write partial results: {exc}", file=sys.stderr)
            raise
        return finish("complete")


def _write(
    out: Path,
    scenario: Any,
    points: Sequence[Any],
    plan: _Plan,
    led: Ledger,
    text: str,
    root: int,
    meta: dict[str, Any],
    started: datetime,
    t0: float,
    status: str,
) -> RunSummary:
    """Rebuild the consolidated tables from the chunks and write the manifest."""
    from fairsim.scenarios.loader import scenario_hash

    recorded = led.tasks()
    owner = {k: v[2] for k, v in recorded.items()}
    res_t = store.consolidate_chunks(
        out,
        owner,
        "results",
        plan.results_schema,
        ("design_point", "replication", "mechanism_order"),
    )
    rnd_t = store.consolidate_chunks(
        out, owner, "rounds", plan.rounds_schema, ("design_point", "replication")
    )
    ana_path = store.chunk_path(out, "analyses", "analyses")
    if led.get_meta("analyses_done") == "1" and ana_path.is_file():
        ana_t = pq.read_table(ana_path).cast(store.analyses_schema())
    else:
        ana_t = store.analyses_schema().empty_table()
        status = "interrupted"
    n_tasks = sum(int(dp.scenario.replications) for dp in points)
    if len(recorded) < n_tasks:
        status = "interrupted"
    errors = res_t.column("error").is_valid()
    failed = int(pa.compute.sum(errors).as_py() or 0) if res_t.num_rows else 0
    wall = time.perf_counter() - t0
    manifest = {
        "name": scenario.name,
        "kind": scenario.kind,
        "scenario_hash": scenario_hash(scenario),
        "seed": root,
        "status": status,
        "workers": meta["workers"],
        "executor": meta["executor"],
        "started_utc": started.isoformat(),
        "finished_utc": datetime.now(UTC).isoformat(),
        "wall_time_s": wall,
        "design_points": len(points),
        "runs": len(recorded),
        "resumed_tasks": meta["resumed_tasks"],
        "retried_tasks": meta["retried_tasks"],
        "failed_tasks": sum(1 for v in recorded.values() if v[0] == FAILED),
        "rows": {"results": res_t.num_rows, "rounds": rnd_t.num_rows, "analyses": ana_t.num_rows},
        "failed": failed,
        "versions": store.package_versions(),
        "claims": [c.model_dump(mode="json") for c in scenario.claims],
        "scenario_text": text,
    }
    store.write_results_dir(
        out, results=res_t, rounds=rnd_t, analyses=ana_t, manifest=manifest, scenario_text=text
    )
    return RunSummary(
        out_dir=out,
        scenario=scenario.name,
        seed=root,
        status=status,
        design_points=len(points),
        runs=len(recorded),
        rows=res_t.num_rows,
        failed=failed,
        rounds_rows=rnd_t.num_rows,
        analyses_rows=ana_t.num_rows,
        workers=meta["workers"],
        wall_time_s=wall,
    )


__all__ = ["RunSummary", "profiles_checked", "run_analyses", "run_one", "run_scenario"]
