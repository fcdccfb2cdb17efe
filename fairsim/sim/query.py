"""Query a results directory: ``load`` (one table as pandas) and ``query`` (SQL via DuckDB).

The layout is documented in :mod:`fairsim.sim.schema` and ``docs/results.md``. ``query`` registers
the views ``results``, ``rounds`` and ``analyses`` over the directory's consolidated Parquet files
(those present) and runs one SQL statement on them with DuckDB (https://duckdb.org/docs/
data/parquet/overview). DuckDB is imported lazily.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fairsim.errors import FairsimError, InputError
from fairsim.sim import schema as S

TABLES = {"results": S.RESULTS_FILE, "rounds": S.ROUNDS_FILE, "analyses": S.ANALYSES_FILE}


def _dir(results_dir: str | Path) -> Path:
    root = Path(results_dir)
    if not (root / S.RESULTS_FILE).is_file():
        raise InputError(
            f"results_dir {str(root)!r}: no {S.RESULTS_FILE} here; "
            "is it a results directory of `fairsim run`?"
        )
    return root


def load(results_dir: str | Path, table: str = "results") -> Any:
    """One table of a results directory as a pandas DataFrame.

    ``table`` is ``"results"``, ``"rounds"`` or ``"analyses"`` (columns:
    :mod:`fairsim.sim.schema`).
    """
    if table not in TABLES:
        raise InputError(f"table must be one of {tuple(TABLES)}; got {table!r}")
    import pyarrow.parquet as pq

    path = _dir(results_dir) / TABLES[table]
    if not path.is_file():
        raise InputError(f"results_dir {str(results_dir)!r} has no {TABLES[table]}")
    return pq.read_table(path).to_pandas()


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError as exc:
        raise FairsimError(
            "fairsim query needs DuckDB, which is not installed; install it with: "
            "pip install duckdb"
        ) from exc
    return duckdb


def query(results_dir: str | Path, sql: str) -> Any:
    """Run the SQL statement ``sql`` over the directory's tables; the answer as a DataFrame.

    Views ``results``, ``rounds`` and ``analyses`` (for the Parquet files present) are defined in a
    fresh in-memory DuckDB connection, e.g.
    ``query(out, "SELECT mechanism, avg(\\"metric.max_cost\\") FROM results GROUP BY 1")``.
    Column names with dots need double quotes. A SQL error raises :class:`InputError`.
    """
    if not isinstance(sql, str) or not sql.strip():
        raise InputError(f"sql must be a non-empty SQL statement; got {sql!r}")
    root = _dir(results_dir)
    duckdb = _duckdb()
    con = duckdb.connect(":memory:")
    try:
        for name, file in TABLES.items():
            path = root / file
            if path.is_file():
                literal = str(path.resolve()).replace("'", "''")
                con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{literal}')")
        try:
            return con.execute(sql).df()
        except duckdb.Error as exc:
            raise InputError(f"sql failed: {exc}") from exc
    finally:
        con.close()


__all__ = ["TABLES", "load", "query"]
