"""Evaluate a scenario's ``claims:`` against its results (PASS / FAIL / NOT-EVALUATED).

Claim models: :mod:`fairsim.scenarios.schema` (``AxiomMatrixClaim``, ``RatioFormulaClaim``,
``MetricBoundClaim``); the runner copies them into ``manifest.json`` under ``"claims"``.

Rules [F: fairsim's reading of the claim types]:

- ``axiom_matrix``: a cell ``always`` passes when the axiom held on every evaluated run (at least
  one) of that mechanism; ``violated`` passes when it failed on at least one run (the witness of
  the first failing run is quoted). A mechanism label or axiom absent from the results makes the
  cell NOT-EVALUATED. The claim FAILs if any cell fails, else is NOT-EVALUATED if any cell could
  not be evaluated, else PASSes.
- ``ratio_formula``: every row of ``analyses.parquet`` for the analysis with a non-null
  ``expected`` must satisfy ``|ratio - expected| <= tol`` (``bound: equal``), ``ratio <=
  expected + tol`` (``at_most``) or ``ratio >= expected - tol`` (``at_least``); a NaN ratio
  fails; a row whose ``error`` is set is NOT-EVALUATED. No such row: NOT-EVALUATED.
- ``metric_bound``: every run of the mechanism (errored runs and NaN values count as not
  satisfying) has ``min <= metric <= max``, and, with ``require_converged``, converged.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fairsim.reports.data import ResultsData, fmt_num, ok_rows
from fairsim.sim import schema as S

PASS, FAIL, NOT_EVALUATED = "PASS", "FAIL", "NOT-EVALUATED"


@dataclass
class ClaimResult:
    """The outcome of one claim: ``status`` and the measurement in words (``measured``), with one
    line per checked cell or row in ``details``."""

    id: str
    type: str
    text: str
    status: str
    measured: str
    details: list[str] = field(default_factory=list)


@dataclass
class AxiomCell:
    """Counts for one (mechanism, axiom) cell and the first failing run, if any."""

    holds: int
    evaluated: int
    witness: dict[str, Any] | None = None


def _combine(statuses: list[str]) -> str:
    if not statuses:
        return NOT_EVALUATED
    if FAIL in statuses:
        return FAIL
    if NOT_EVALUATED in statuses:
        return NOT_EVALUATED
    return PASS


def _short_witness(w: dict[str, Any] | None, limit: int = 300) -> str:
    if not w:
        return ""
    s = f"witness {w.get('witness', 'null')} (run {w.get('run_id')})"
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _axiom_matrix(claim: Any, cells: dict[tuple[str, str], AxiomCell], mechs: list[str]) -> tuple:
    details, statuses = [], []
    for mech, row in claim.expect.items():
        for axiom, want in row.items():
            cell = cells.get((mech, axiom))
            if mech not in mechs:
                statuses.append(NOT_EVALUATED)
                details.append(f"{mech}: no runs of this mechanism in the results")
                continue
            if cell is None or cell.evaluated == 0:
                statuses.append(NOT_EVALUATED)
                details.append(f"{mech}: {axiom} was not evaluated (no axiom.{axiom} values)")
                continue
            k, n = cell.holds, cell.evaluated
            fails = n - k
            if fails == 0:
                line = f"{mech}: {axiom} held on {k}/{n} runs"
            else:
                line = (
                    f"{mech}: {axiom} violated on {fails}/{n} runs, {_short_witness(cell.witness)}"
                )
            ok = fails == 0 if want == "always" else fails > 0
            statuses.append(PASS if ok else FAIL)
            details.append(f"{line} (expected {want})")
    return _combine(statuses), list(dict.fromkeys(details))


def _ratio_formula(claim: Any, analyses: pd.DataFrame) -> tuple:
    if len(analyses) == 0 or "analysis" not in analyses.columns:
        return NOT_EVALUATED, ["no analyses.parquet rows"]
    rows = analyses[analyses["analysis"] == claim.analysis]
    if len(rows) == 0:
        return NOT_EVALUATED, [f"analysis {claim.analysis!r} has no rows in analyses.parquet"]
    details, statuses = [], []
    for _, r in rows.iterrows():
        ratio = float(r["ratio"]) if r["ratio"] is not None else math.nan
        exp = r["expected"]
        head = f"{r['mechanism']} n={fmt_num(r['n'])}"
        err = r.get("error")
        if isinstance(err, str) and err:
            statuses.append(NOT_EVALUATED)
            details.append(f"{head}: the analysis raised: {err}")
            continue
        if exp is None or (isinstance(exp, float) and math.isnan(exp)):
            details.append(f"{head}: measured {fmt_num(ratio)}, no expected value (skipped)")
            continue
        exp = float(exp)
        diff = abs(ratio - exp)
        bound = getattr(claim, "bound", "equal")
        if bound == "at_most":
            ok = bool(ratio <= exp + claim.tol)
            rel = "<="
        elif bound == "at_least":
            ok = bool(ratio >= exp - claim.tol)
            rel = ">="
        else:
            ok = bool(np.isfinite(diff) and diff <= claim.tol) or (ratio == exp)
            rel = "vs"
        statuses.append(PASS if ok else FAIL)
        details.append(
            f"{head}: measured {fmt_num(ratio)} {rel} expected {fmt_num(exp)} "
            f"(|diff| {fmt_num(diff, 3)}, tol {fmt_num(claim.tol, 3)})"
        )
    if not statuses:
        return NOT_EVALUATED, details
    return _combine(statuses), details


def _resolve_mechanism(name: str, df: pd.DataFrame) -> str | None:
    labels = set(map(str, df["mechanism"].unique()))
    if name in labels:
        return name
    if "mechanism_name" in df.columns:
        hit = df.loc[df["mechanism_name"] == name, "mechanism"].unique()
        if len(hit) == 1:
            return str(hit[0])
    return None


def _metric_bound(claim: Any, df: pd.DataFrame) -> tuple:
    mech = _resolve_mechanism(claim.mechanism, df)
    if mech is None:
        return NOT_EVALUATED, [f"{claim.mechanism}: no runs of this mechanism in the results"]
    col = S.METRIC_PREFIX + claim.metric
    if col not in df.columns:
        return NOT_EVALUATED, [f"{mech}: metric {claim.metric!r} is not in results.parquet"]
    sub = df[df["mechanism"] == mech]
    good = ok_rows(sub)
    vals = pd.to_numeric(sub[col], errors="coerce").to_numpy(dtype=np.float64)
    lo = -np.inf if claim.min is None else claim.min
    hi = np.inf if claim.max is None else claim.max
    with np.errstate(invalid="ignore"):
        inside = good.to_numpy() & ~np.isnan(vals) & (vals >= lo) & (vals <= hi)
    n = len(sub)
    k = int(inside.sum())
    bound = f"[{fmt_num(claim.min) if claim.min is not None else '-inf'}, "
    bound += f"{fmt_num(claim.max) if claim.max is not None else 'inf'}]"
    fin = vals[~np.isnan(vals) & good.to_numpy()]
    rng = (
        f"observed range [{fmt_num(fin.min())}, {fmt_num(fin.max())}]" if fin.size else "no values"
    )
    details = [f"{mech}: {claim.metric} in {bound} on {k}/{n} runs ({rng})"]
    missing = int((~good.to_numpy() | np.isnan(vals)).sum())
    if missing:
        details.append(f"{mech}: {missing} run(s) have no {claim.metric} value (error or NaN)")
    ok = n > 0 and k == n
    if claim.require_converged:
        if "converged" not in sub.columns:
            return NOT_EVALUATED, [*details, "no converged column in results.parquet"]
        conv = int(sub["converged"].fillna(False).astype(bool).sum())
        details.append(f"{mech}: converged on {conv}/{n} runs")
        ok = ok and conv == n
    return (PASS if ok else FAIL), details


def _parse(raw: Any) -> Any:
    from pydantic import TypeAdapter

    from fairsim.scenarios.schema import ClaimSpec

    return TypeAdapter(ClaimSpec).validate_python(raw)


def load_claims(data: ResultsData) -> list[Any]:
    """The raw claim dicts: ``manifest["claims"]``, else the ``claims:`` of ``scenario.yaml``."""
    claims = data.manifest.get("claims")
    if claims is None and data.scenario_text:
        try:
            import yaml

            doc = yaml.safe_load(data.scenario_text)
            claims = doc.get("claims") if isinstance(doc, dict) else None
        except Exception:
            claims = None
    return list(claims or [])


def evaluate_claims(
    data: ResultsData, cells: dict[tuple[str, str], AxiomCell]
) -> list[ClaimResult]:
    """Evaluate every claim of the scenario (rules in the module docstring)."""
    out = []
    mechs = data.mechanisms
    for raw in load_claims(data):
        cid = str(raw.get("id", "?")) if isinstance(raw, dict) else "?"
        ctype = str(raw.get("type", "?")) if isinstance(raw, dict) else "?"
        text = str(raw.get("text", "")) if isinstance(raw, dict) else json.dumps(raw, default=str)
        try:
            claim = _parse(raw)
        except Exception as exc:
            msg = f"invalid claim: {str(exc).splitlines()[0]}"
            out.append(ClaimResult(cid, ctype, text, NOT_EVALUATED, msg, [str(exc)]))
            continue
        if claim.type == "axiom_matrix":
            status, details = _axiom_matrix(claim, cells, mechs)
        elif claim.type == "ratio_formula":
            status, details = _ratio_formula(claim, data.analyses)
        else:
            status, details = _metric_bound(claim, data.results)
        measured = "; ".join(details)
        out.append(ClaimResult(claim.id, claim.type, claim.text, status, measured, details))
    return out


def claims_frame(results: list[ClaimResult]) -> pd.DataFrame:
    """``claims.csv`` as a table: ``id, type, status, text, measured``."""
    return pd.DataFrame(
        [(c.id, c.type, c.status, c.text, c.measured) for c in results],
        columns=["id", "type", "status", "text", "measured"],
    )
