"""The run ledger: ``OUT/ledger.sqlite``, one row per (design point, replication) task.

A task's row is committed only after the chunk files holding its rows are in place
(:func:`fairsim.sim.store.write_chunk`), so after a crash at any moment (SIGKILL included) the
ledger names exactly the tasks whose rows are on disk. Chunk files that no ledger row names
(written just before a crash) are ignored and later overwritten. This is fairsim's own layout
[F]; SQLite gives the atomic commit (https://www.sqlite.org/atomiccommit.html).

Tables::

    meta(key TEXT PRIMARY KEY, value TEXT)        scenario_hash, seed, analyses_done
    tasks(design_point, replication, status, error, chunk)
        status: "done" (no row of the task has an error) or "failed"
        error:  the first error of the task's rows (null when done)
        chunk:  the chunk name ("part-00012"); null when the task left no rows
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from fairsim.errors import InputError

LEDGER_FILE = "ledger.sqlite"

DONE = "done"
FAILED = "failed"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
    design_point INTEGER NOT NULL,
    replication INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
    error TEXT,
    chunk TEXT,
    PRIMARY KEY (design_point, replication)
);
"""


class Ledger:
    """The SQLite ledger of one results directory (see the module docstring)."""

    def __init__(self, out_dir: str | Path) -> None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.path = out / LEDGER_FILE
        self._con = sqlite3.connect(self.path, isolation_level=None)
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute("PRAGMA synchronous=FULL")
        self._con.executescript(_SCHEMA)

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- meta ----------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self._con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._con.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def bind(self, scenario_hash: str, seed: int, out_dir: Path) -> None:
        """Record the scenario hash and seed, or check them against the recorded ones.

        Raises :class:`InputError` when the directory belongs to another scenario or seed.
        """
        old_hash, old_seed = self.get_meta("scenario_hash"), self.get_meta("seed")
        if old_hash is None:
            self._con.execute("BEGIN IMMEDIATE")
            self.set_meta("scenario_hash", scenario_hash)
            self.set_meta("seed", str(int(seed)))
            self._con.execute("COMMIT")
            return
        check_same_run(out_dir, old_hash, int(old_seed or -1), scenario_hash, seed)

    # -- tasks ---------------------------------------------------------------------------
    def record(self, chunk: str | None, entries: Iterable[tuple[int, int, str | None]]) -> None:
        """Commit ``(design_point, replication, error)`` entries (error None = done) at once."""
        rows = [
            (int(dp), int(rep), DONE if err is None else FAILED, err, chunk)
            for dp, rep, err in entries
        ]
        self._con.execute("BEGIN IMMEDIATE")
        try:
            self._con.executemany(
                "INSERT INTO tasks(design_point, replication, status, error, chunk) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(design_point, replication) DO UPDATE SET "
                "status = excluded.status, error = excluded.error, chunk = excluded.chunk",
                rows,
            )
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        self._con.execute("COMMIT")

    def tasks(self) -> dict[tuple[int, int], tuple[str, str | None, str | None]]:
        """All recorded tasks: ``(dp, rep) -> (status, error, chunk)``."""
        cur = self._con.execute("SELECT design_point, replication, status, error, chunk FROM tasks")
        return {(int(d), int(r)): (s, e, c) for d, r, s, e, c in cur}


def check_same_run(
    out_dir: Path, old_hash: str, old_seed: int, new_hash: str, new_seed: int
) -> None:
    """Raise :class:`InputError` unless the hash and seed match those already in ``out_dir``."""
    if old_hash != new_hash or int(old_seed) != int(new_seed):
        raise InputError(
            f"out_dir {str(out_dir)!r} holds results of another run (scenario hash "
            f"{old_hash[:12]}…, seed {old_seed}; this run: hash {new_hash[:12]}…, seed "
            f"{new_seed}); choose another --out, or delete that directory to start over"
        )


__all__ = ["DONE", "FAILED", "LEDGER_FILE", "Ledger", "check_same_run"]
