"""The results store: Parquet tables, ``manifest.json`` and ``scenario.yaml`` (layout and columns:
:mod:`fairsim.sim.schema`).

Every file is written atomically (a temporary file in the same directory, then ``os.replace``), so
a reader never sees a half-written table, and an interrupted batch leaves complete files behind.
Schemas are explicit (:func:`results_schema`, :func:`rounds_schema`, :func:`analyses_schema`): the
column types do not depend on which rows happen to be present (an all-null column keeps its type).
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from fairsim.errors import InputError
from fairsim.sim import schema as S

LIST_F64 = pa.list_(pa.float64())

_RESULTS_HEAD: list[tuple[str, pa.DataType]] = [
    ("run_id", pa.string()),
    ("design_point", pa.int64()),
    ("replication", pa.int64()),
    ("mechanism", pa.string()),
    ("mechanism_name", pa.string()),
    ("mechanism_order", pa.int64()),
    ("randomized", pa.bool_()),
    ("domain", pa.string()),
    ("n", pa.int64()),
    ("distribution", pa.string()),
    ("behaviour", pa.string()),
    ("seed", pa.string()),
]
_RESULTS_MID: list[tuple[str, pa.DataType]] = [
    ("locations", LIST_F64),
    ("reports", LIST_F64),
    ("outcome", pa.float64()),
    ("truthful_outcome", pa.float64()),
    ("rounds", pa.int64()),
    ("converged", pa.bool_()),
]
ROUNDS_KEY: list[tuple[str, pa.DataType]] = [
    ("run_id", pa.string()),
    ("design_point", pa.int64()),
    ("replication", pa.int64()),
    ("mechanism", pa.string()),
    ("round", pa.int64()),
]
"""Leading columns of every domain's ``rounds.parquet`` (a round row's key)."""
_ROUNDS_HEAD: list[tuple[str, pa.DataType]] = [
    *ROUNDS_KEY,
    ("outcome", pa.float64()),
    ("reports", LIST_F64),
    ("max_change", pa.float64()),
    ("metric.social_welfare", pa.float64()),
]
_ANALYSES: list[tuple[str, pa.DataType]] = [
    ("analysis", pa.string()),
    ("type", pa.string()),
    ("mechanism", pa.string()),
    ("n", pa.int64()),
    ("objective", pa.string()),
    ("method", pa.string()),
    ("ratio", pa.float64()),
    ("expected", pa.float64()),
    ("worst_profile", LIST_F64),
    ("profiles_checked", pa.int64()),
    ("error", pa.string()),
]

PARAM_TYPES = {"int": pa.int64(), "float": pa.float64(), "json": pa.string()}


COMMON_HEAD: list[tuple[str, pa.DataType]] = _RESULTS_HEAD[:9]
"""Leading columns every domain has (``run_id`` ... ``n``); ``seed`` follows the domain's head."""
FACILITY_HEAD: list[tuple[str, pa.DataType]] = _RESULTS_HEAD[9:11]
FACILITY_MID: list[tuple[str, pa.DataType]] = _RESULTS_MID


def results_schema(
    params: Sequence[tuple[str, str]],
    metrics: Sequence[str],
    axioms: Sequence[str],
    *,
    head: Sequence[tuple[str, pa.DataType]] | None = None,
    mid: Sequence[tuple[str, pa.DataType]] | None = None,
) -> pa.Schema:
    """Schema of ``results.parquet``.

    ``params`` are ``(dotted path, "int" | "float" | "json")`` of the swept parameters, ``metrics``
    and ``axioms`` the short registry names scored by the scenario. ``head`` (between ``n`` and
    ``seed``) and ``mid`` (between the ``param.*`` and ``metric.*`` columns) are the domain's own
    columns (default: facility location's).
    """
    fields = list(COMMON_HEAD)
    fields += list(FACILITY_HEAD if head is None else head)
    fields += [("seed", pa.string())]
    fields += [(S.PARAM_PREFIX + p, PARAM_TYPES[t]) for p, t in params]
    fields += list(FACILITY_MID if mid is None else mid)
    fields += [(S.METRIC_PREFIX + m, pa.float64()) for m in metrics]
    fields += [(S.AXIOM_PREFIX + a, pa.bool_()) for a in axioms]
    fields += [(S.SLACK_PREFIX + a, pa.float64()) for a in axioms]
    fields += [(S.WITNESS_PREFIX + a, pa.string()) for a in axioms]
    fields += [("error", pa.string())]
    return pa.schema(fields)


def registered_names(points: Sequence[Any], attr: str, kind: str, domain: str) -> list[str]:
    """Short registry names of the ``attr`` list (``"axioms"``, ``"metrics"``) over all design
    ``points``, in first-seen order without repeats (the scored columns of a domain plugin)."""
    from fairsim import registry

    return unique(
        registry.get(x, kind, domain=domain).short_name
        for dp in points
        for x in getattr(dp.scenario, attr)
    )


def scored_rounds_schema(
    head: Sequence[tuple[str, pa.DataType]], metrics: Sequence[str], axioms: Sequence[str]
) -> pa.Schema:
    """A ``rounds.parquet`` schema: the plugin's ``head`` columns, then one float64 column per
    metric and one bool column per axiom."""
    return pa.schema(
        list(head)
        + [(S.METRIC_PREFIX + m, pa.float64()) for m in metrics]
        + [(S.AXIOM_PREFIX + a, pa.bool_()) for a in axioms]
    )


def rounds_schema(outcome_axioms: Sequence[str]) -> pa.Schema:
    """Schema of ``rounds.parquet`` (``outcome_axioms``: short names of the outcome axioms)."""
    return pa.schema(_ROUNDS_HEAD + [(S.AXIOM_PREFIX + a, pa.bool_()) for a in outcome_axioms])


def analyses_schema() -> pa.Schema:
    """Schema of ``analyses.parquet``."""
    return pa.schema(_ANALYSES)


def table_from_rows(rows: Sequence[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """A table with exactly ``schema``'s columns; missing keys become nulls."""
    columns = {name: [row.get(name) for row in rows] for name in schema.names}
    return pa.Table.from_pydict(columns, schema=schema)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def _atomic_write(path: Path, write: Callable[[str], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; results are ordinary files
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_table(path: Path, table: pa.Table, *, durable: bool = False) -> None:
    """Write a Parquet table atomically (``durable``: fsync the file before it is renamed)."""

    def w(tmp: str) -> None:
        pq.write_table(table, tmp)
        if durable:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    _atomic_write(path, w)


# ------------------------------------------------------------------------------------------
# Chunks: OUT/chunks/results/part-XXXXX.parquet and OUT/chunks/rounds/part-XXXXX.parquet
# ------------------------------------------------------------------------------------------


def chunk_path(out_dir: str | Path, table: str, chunk: str) -> Path:
    """Path of chunk ``chunk`` (``"part-00012"``) of ``table`` (``"results"``/``"rounds"``)."""
    return Path(out_dir) / S.CHUNKS_DIR / table / f"{chunk}.parquet"


def next_chunk_number(out_dir: str | Path) -> int:
    """One more than the largest chunk number present (0 for none)."""
    folder = Path(out_dir) / S.CHUNKS_DIR / "results"
    best = -1
    if folder.is_dir():
        for p in folder.glob("part-*.parquet"):
            try:
                best = max(best, int(p.stem.split("-", 1)[1]))
            except ValueError:
                continue
    return best + 1


def write_chunk(out_dir: str | Path, chunk: str, results: pa.Table, rounds: pa.Table) -> None:
    """Write one chunk's results and rounds tables atomically and durably (rounds first)."""
    write_table(chunk_path(out_dir, "rounds", chunk), rounds, durable=True)
    write_table(chunk_path(out_dir, "results", chunk), results, durable=True)


def _task_keys(table: pa.Table) -> Any:
    import numpy as np

    dp = table.column("design_point").to_numpy(zero_copy_only=False).astype(np.int64)
    rep = table.column("replication").to_numpy(zero_copy_only=False).astype(np.int64)
    return dp, rep


def consolidate_chunks(
    out_dir: str | Path,
    owner: dict[tuple[int, int], str | None],
    table: str,
    schema: pa.Schema,
    order: Sequence[str],
) -> pa.Table:
    """The rows of ``table`` that the ledger assigns to each chunk, sorted [F].

    ``owner`` maps each recorded task ``(dp, rep)`` to its chunk (rows of a task found in any
    other chunk, e.g. an earlier attempt before ``--retry-failed``, are dropped). Rows are sorted
    stably by ``order`` (column names); within a task they keep the order they were written in.
    """
    import numpy as np

    by_chunk: dict[str, set[tuple[int, int]]] = {}
    for key, chunk in owner.items():
        if chunk is not None:
            by_chunk.setdefault(chunk, set()).add(key)
    parts = []
    for chunk in sorted(by_chunk):
        t = pq.read_table(chunk_path(out_dir, table, chunk)).cast(schema)
        if t.num_rows == 0:
            continue
        dp, rep = _task_keys(t)
        wanted = by_chunk[chunk]
        mask = np.fromiter(
            ((int(d), int(r)) in wanted for d, r in zip(dp, rep)), dtype=bool, count=len(dp)
        )
        parts.append(t.filter(pa.array(mask)) if not mask.all() else t)
    if not parts:
        return schema.empty_table()
    full = pa.concat_tables(parts)
    # stable lexicographic sort: np.lexsort sorts by the last key first
    cols = [full.column(c).to_numpy(zero_copy_only=False) for c in reversed(order)]
    idx = np.lexsort([np.arange(full.num_rows), *cols])
    return full.take(pa.array(idx))


def write_text(path: Path, text: str) -> None:
    """Write a UTF-8 text file atomically."""

    def w(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)

    _atomic_write(path, w)


def write_json(path: Path, obj: Any) -> None:
    """Write JSON (indented, keys in insertion order) atomically."""
    write_text(path, json.dumps(obj, indent=2, default=str) + "\n")


def package_versions() -> dict[str, str]:
    """Versions recorded in the manifest (fairsim, numpy, numba, mesa, pyarrow, python)."""
    import importlib.metadata as md

    import fairsim

    out = {"fairsim": fairsim.__version__, "python": platform.python_version()}
    for pkg in ("numpy", "numba", "mesa", "pyarrow", "pandas", "scipy"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def write_results_dir(
    out_dir: str | Path,
    *,
    results: pa.Table,
    rounds: pa.Table,
    analyses: pa.Table,
    manifest: dict[str, Any],
    scenario_text: str,
) -> None:
    """Write the whole results directory (tables first, the manifest last)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / S.SCENARIO_FILE, scenario_text)
    write_table(out / S.RESULTS_FILE, results)
    write_table(out / S.ROUNDS_FILE, rounds)
    write_table(out / S.ANALYSES_FILE, analyses)
    write_json(out / S.MANIFEST_FILE, manifest)


def _results_path(results_dir: str | Path, name: str) -> Path:
    root = Path(results_dir)
    path = root / name
    if not path.is_file():
        raise InputError(f"{root}: no {name} here; is it a results directory of `fairsim run`?")
    return path


def load_results(results_dir: str | Path, table: str = "results") -> Any:
    """``results.parquet`` (or ``table="rounds"`` / ``"analyses"``) as a pandas DataFrame."""
    files = {"results": S.RESULTS_FILE, "rounds": S.ROUNDS_FILE, "analyses": S.ANALYSES_FILE}
    if table not in files:
        raise InputError(f"table must be one of {tuple(files)}; got {table!r}")
    return pq.read_table(_results_path(results_dir, files[table])).to_pandas()


def load_manifest(results_dir: str | Path) -> dict[str, Any]:
    """The parsed ``manifest.json`` of a results directory."""
    with open(_results_path(results_dir, S.MANIFEST_FILE), encoding="utf-8") as fh:
        return json.load(fh)  # type: ignore[no-any-return]


def unique(items: Iterable[str]) -> list[str]:
    """Items in first-seen order without duplicates."""
    seen: dict[str, None] = {}
    for it in items:
        seen.setdefault(it, None)
    return list(seen)


__all__ = [
    "analyses_schema",
    "chunk_path",
    "consolidate_chunks",
    "next_chunk_number",
    "write_chunk",
    "load_manifest",
    "load_results",
    "package_versions",
    "results_schema",
    "rounds_schema",
    "table_from_rows",
    "write_json",
    "write_results_dir",
    "write_table",
    "write_text",
]
