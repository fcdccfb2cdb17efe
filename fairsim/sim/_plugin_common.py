"""Helpers shared by the batch runner's domain plugins (:mod:`fairsim.sim.domains`) [F].

``error_text`` is the text of a row's ``error`` column; :func:`task_row` and :func:`mechanism_row` start a mechanism's
result row and :func:`record_error` turns a half-scored row into an error row; :func:`read_pb` reads a Pabulib
``.pb`` file (once per process and path) into approval ballots with multiplicities, and
:func:`sample_ballots` draws a profile of ``n`` voters from them (or expands the multiplicities).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from fairsim import registry


def error_text(exc: BaseException) -> str:
    """``"<ExceptionType>: <message>"``: the ``error`` column of a failed row."""
    return f"{type(exc).__name__}: {exc}"


def task_row(scenario: Any, dp: int, rep: int, root_seed: int, **extra: Any) -> dict[str, Any]:
    """The columns every result row of task ``(dp, rep)`` shares: ``run_id``, ``design_point``,
    ``replication``, ``domain`` (the scenario's kind), ``seed`` and the domain's ``extra``."""
    return {
        "run_id": f"{dp}-{rep}",
        "design_point": dp,
        "replication": rep,
        "domain": scenario.kind,
        "seed": f"{root_seed}/{dp}/{rep}",
        **extra,
    }


def mechanism_row(
    base: dict[str, Any], k: int, mspec: Any, domain: str, setup_error: str | None
) -> tuple[dict[str, Any], Any]:
    """``(row, registry entry)`` of the scenario's ``k``-th mechanism ``mspec``.

    The entry is None, and the row's ``error`` set, when the name does not resolve in ``domain``
    (the row keeps ``mspec.name``, ``randomized=False``) or when the task's setup failed
    (``setup_error``).
    """
    row = dict(base, mechanism=mspec.display, mechanism_order=k)
    try:
        entry = registry.get(mspec.name, "mechanism", domain=domain)
        row.update(mechanism_name=entry.short_name, randomized=bool(entry.randomized))
    except Exception as exc:  # noqa: BLE001 - recorded in the error column
        row.update(mechanism_name=mspec.name, randomized=False, error=error_text(exc))
        return row, None
    if setup_error is not None:
        row["error"] = setup_error
        return row, None
    return row, entry


def record_error(row: dict[str, Any], exc: BaseException, outputs: tuple[str, ...]) -> None:
    """Drop ``row``'s scored columns (``metric.*`` ... ``witness.*``) and ``outputs``, then set
    its ``error``."""
    for key in list(row):
        if key.startswith(("metric.", "axiom.", "slack.", "witness.")) or key in outputs:
            row.pop(key)
    row["error"] = error_text(exc)


def resolve_path(path: str | Path, base_dir: str | Path | None) -> Path:
    """``path``, relative to ``base_dir`` (the scenario file's folder) when relative and given."""
    p = Path(path)
    if not p.is_absolute() and base_dir is not None:
        p = Path(base_dir) / p
    return p


@lru_cache(maxsize=16)
def read_pb(path: str) -> Any:
    """The :class:`fairsim.io.pabulib.Election` of a ``.pb`` file (warnings silenced; cached)."""
    import warnings

    from fairsim.io.pabulib import PabulibWarning, read

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PabulibWarning)
        return read(path)


def sample_ballots(
    A: np.ndarray, w: np.ndarray, n: int | None, rng: np.random.Generator
) -> np.ndarray:
    """``n`` ballots drawn with replacement in proportion to ``w``; every ballot ``w`` times when
    ``n`` is None."""
    if n is not None:
        return A[rng.choice(A.shape[0], size=int(n), replace=True, p=w / w.sum())]
    return np.repeat(A, w, axis=0)
