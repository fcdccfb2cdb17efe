"""Read a results directory (layout: :mod:`fairsim.sim.schema`) into memory, with clear errors.

Only ``results.parquet`` is mandatory. ``rounds.parquet`` and ``analyses.parquet`` may be absent
or empty (zero rows, possibly zero columns); ``manifest.json`` and ``scenario.yaml`` may be absent
(the report then has less provenance).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from fairsim.errors import FormatError, InputError
from fairsim.sim import schema as S

#: Columns ``results.parquet`` must have for a report to be built.
REQUIRED_RESULTS = (*S.KEY_COLUMNS, "n")
#: Columns a non-empty ``rounds.parquet`` must have.
REQUIRED_ROUNDS = ("run_id", "mechanism", "round", "outcome")
#: Columns a non-empty ``analyses.parquet`` must have.
REQUIRED_ANALYSES = ("analysis", "mechanism", "n", "ratio", "expected")


@dataclass
class ResultsData:
    """The tables and metadata of one results directory."""

    path: Path
    results: pd.DataFrame
    rounds: pd.DataFrame
    analyses: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)
    scenario_text: str | None = None

    @property
    def mechanisms(self) -> list[str]:
        """Mechanism labels in scenario order (``mechanism_order``, else first appearance)."""
        df = self.results
        if len(df) == 0:
            return []
        if "mechanism_order" in df.columns:
            order = df.groupby("mechanism", sort=False)["mechanism_order"].min()
            return [str(m) for m in order.sort_values(kind="stable").index]
        return [str(m) for m in pd.unique(df["mechanism"])]

    def columns_with(self, prefix: str) -> list[str]:
        """Names (prefix removed) of ``results`` columns starting with ``prefix``."""
        return [c[len(prefix) :] for c in self.results.columns if c.startswith(prefix)]


def _read_parquet(path: Path, required: tuple[str, ...], *, mandatory: bool) -> pd.DataFrame:
    if not path.is_file():
        if mandatory:
            raise FormatError(
                f"missing {path.name}: this directory does not hold fairsim results "
                "(write them with `fairsim run SCENARIO --out DIR`)",
                path=str(path),
            )
        return pd.DataFrame()
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types
        raise FormatError(f"cannot read as Parquet: {exc}", path=str(path)) from exc
    if len(df) == 0 and not mandatory:
        return df
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise FormatError(
            f"wrong schema: missing column(s) {', '.join(missing)} "
            f"(see fairsim.sim.schema); found {', '.join(map(str, df.columns)) or 'none'}",
            path=str(path),
        )
    return df


def _read_manifest(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FormatError(f"invalid JSON: {exc}", path=str(path)) from exc
    if not isinstance(data, dict):
        raise FormatError(
            f"expected a JSON object at the top level; got {type(data).__name__}", path=str(path)
        )
    return data


def load_results(results_dir: str | Path) -> ResultsData:
    """Load the results directory written by ``fairsim run`` (layout: :mod:`fairsim.sim.schema`).

    Raises :class:`InputError` when ``results_dir`` is not a directory and :class:`FormatError`
    (naming the file and the missing columns) when ``results.parquet`` is absent, unreadable or
    lacks one of :data:`REQUIRED_RESULTS`.
    """
    try:
        root = Path(results_dir)
    except TypeError:
        raise InputError(
            f"results_dir must be a path to a results directory; got {results_dir!r}"
        ) from None
    if not root.is_dir():
        raise InputError(
            f"results_dir={str(root)!r} is not a directory; give the folder written by `fairsim run`"
        )
    results = _read_parquet(root / S.RESULTS_FILE, REQUIRED_RESULTS, mandatory=True)
    rounds = _read_parquet(root / S.ROUNDS_FILE, REQUIRED_ROUNDS, mandatory=False)
    analyses = _read_parquet(root / S.ANALYSES_FILE, REQUIRED_ANALYSES, mandatory=False)
    manifest = _read_manifest(root / S.MANIFEST_FILE)
    scen = root / S.SCENARIO_FILE
    text = scen.read_text(encoding="utf-8", errors="replace") if scen.is_file() else None
    if "error" not in results.columns:
        results = results.assign(error=pd.Series([None] * len(results), dtype=object))
    return ResultsData(root, results, rounds, analyses, manifest, text)


def ok_rows(df: pd.DataFrame) -> pd.Series:
    """Boolean mask of rows whose run did not raise (``error`` is null or empty)."""
    err = df["error"]
    return err.isna() | (err.astype(str) == "")


def fmt_num(x: Any, digits: int = 10) -> str:
    """Format a number for a sentence: integers plainly, floats with ``digits`` significant
    digits, NaN as ``nan``."""
    if x is None:
        return "null"
    try:
        f = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(f):
        return "nan"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    if f == int(f) and abs(f) < 1e15:
        return str(int(f))
    return f"{f:.{digits}g}"
