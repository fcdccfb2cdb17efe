"""Location distributions for facility-location agents (the ``agents.locations`` of a scenario).

:func:`draw_locations` draws the true locations of ``n`` agents on [0, 1] from a
:data:`~fairsim.scenarios.schema.LocationSpec`. Every distribution is registered in
:mod:`fairsim.registry` as kind ``"distribution"`` under ``facility.<distribution>``; the
registered callables take ``(spec, n, rng, *, base_dir, replication)`` and trust their inputs.

The samplers are fairsim's choices [F] (no paper defines them); each consumes the Generator in a
fixed order, so a given Generator state always gives the same locations:

* ``uniform``: ``rng.uniform(low, high, n)``.
* ``beta``: ``rng.beta(a, b, n)``.
* ``clustered``: component ``k`` of each agent from ``rng.choice(len(centers), n, p=weights/sum)``
  (equal weights by default), then ``rng.normal(centers[k], spread)``, clipped to [0, 1].
* ``bimodal``: each agent at ``left`` with probability ``p_left`` (``rng.random(n) < p_left``),
  else at ``right``, plus ``rng.normal(0, spread, n)``, clipped to [0, 1].
* ``endpoints``: ``1.0`` where ``rng.random(n) < p``, else ``0.0``.
* ``csv``: a profile read from a file (see :class:`~fairsim.scenarios.schema.CsvLocations`);
  only ``sample: true`` uses the Generator (``rng.integers(0, len(values), n)``).

Then, if ``round_to`` is set, every location is rounded to the nearest multiple of
``1/round_to`` (``np.round(x * round_to) / round_to``, halves to even), which creates co-located
agents.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import TypeAdapter, ValidationError

from fairsim import registry
from fairsim._validation import check_generator, check_int
from fairsim.errors import FormatError, InputError
from fairsim.scenarios import schema

Sampler = Callable[..., np.ndarray]
_SAMPLERS: dict[str, Sampler] = {}


def _distribution(name: str, description: str) -> Callable[[Sampler], Sampler]:
    def deco(func: Sampler) -> Sampler:
        _SAMPLERS[name] = func
        return registry.register(f"facility.{name}", "distribution", description=description)(func)

    return deco


@_distribution("uniform", "Uniform on [low, high].")
def _uniform(
    spec: schema.UniformLocations, n: int, rng: np.random.Generator, **_: Any
) -> np.ndarray:
    return rng.uniform(spec.low, spec.high, n)


@_distribution("beta", "Beta(a, b) on [0, 1].")
def _beta(spec: schema.BetaLocations, n: int, rng: np.random.Generator, **_: Any) -> np.ndarray:
    return rng.beta(spec.a, spec.b, n)


@_distribution("clustered", "Mixture of normals around `centers`, clipped to [0, 1].")
def _clustered(
    spec: schema.ClusteredLocations, n: int, rng: np.random.Generator, **_: Any
) -> np.ndarray:
    centers = np.asarray(spec.centers, dtype=np.float64)
    if spec.weights is None:
        p = np.full(len(centers), 1.0 / len(centers))
    else:
        w = np.asarray(spec.weights, dtype=np.float64)
        p = w / w.sum()
    comp = rng.choice(len(centers), size=n, p=p)
    return np.clip(rng.normal(centers[comp], spec.spread), 0.0, 1.0)


@_distribution("bimodal", "Two normal clusters at `left` and `right`, clipped to [0, 1].")
def _bimodal(
    spec: schema.BimodalLocations, n: int, rng: np.random.Generator, **_: Any
) -> np.ndarray:
    at_left = rng.random(n) < spec.p_left
    centers = np.where(at_left, spec.left, spec.right)
    return np.clip(centers + rng.normal(0.0, spec.spread, n), 0.0, 1.0)


@_distribution("endpoints", "Every agent at 0 or 1; at 1 with probability p.")
def _endpoints(
    spec: schema.EndpointLocations, n: int, rng: np.random.Generator, **_: Any
) -> np.ndarray:
    return (rng.random(n) < spec.p).astype(np.float64)


@_distribution("csv", "Profiles read from a CSV file (relative to the scenario file).")
def _csv(
    spec: schema.CsvLocations,
    n: int,
    rng: np.random.Generator,
    *,
    base_dir: str | os.PathLike[str] | None = None,
    replication: int = 0,
) -> np.ndarray:
    path = Path(spec.path)
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    table = _read_table(path)
    shown = str(path)
    if spec.column is not None:
        if table.header is None:
            raise FormatError(
                f"column {spec.column!r} requested but the file has no header row", shown, 1
            )
        if spec.column not in table.header:
            raise FormatError(
                f"no column {spec.column!r}; columns: {', '.join(table.header)}", shown, 1
            )
        values = table.values[:, table.header.index(spec.column)]
    else:
        values = table.values
    if spec.sample:
        flat = values.ravel()
        return flat[rng.integers(0, flat.size, size=n)]
    if spec.column is not None:
        if values.size != n:
            raise FormatError(
                f"column {spec.column!r} holds {values.size} values but the scenario has n={n} agents",
                shown,
            )
        return values.copy()
    if values.shape[1] != n:
        raise FormatError(
            f"rows hold {values.shape[1]} locations but the scenario has n={n} agents",
            shown,
            int(table.lines[0]),
        )
    return values[replication % values.shape[0]].copy()


class _Table:
    def __init__(self, header: list[str] | None, values: np.ndarray, lines: np.ndarray):
        self.header = header
        self.values = values  # (rows, cols), read-only
        self.lines = lines  # 1-based line of each data row


def _read_table(path: Path) -> _Table:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise FormatError("location file not found", str(path)) from None
    except OSError as exc:
        raise FormatError(f"cannot read location file: {exc.strerror}", str(path)) from None
    return _parse_csv(str(path), st.st_mtime_ns, st.st_size)


def _number(cell: str) -> float | None:
    try:
        v = float(cell)
    except ValueError:
        return None
    return v


@lru_cache(maxsize=32)
def _parse_csv(path: str, _mtime: int, _size: int) -> _Table:
    """Parse a location CSV (cached per path and modification time)."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            rows: list[tuple[int, list[str]]] = []
            start = 1
            for row in reader:
                if any(c.strip() for c in row):
                    rows.append((start, [c.strip() for c in row]))
                start = reader.line_num + 1
    except UnicodeDecodeError:
        raise FormatError("location file is not UTF-8 text", path) from None
    except csv.Error as exc:
        raise FormatError(f"malformed CSV: {exc}", path) from None
    except OSError as exc:
        raise FormatError(f"cannot read location file: {exc.strerror}", path) from None
    header = None
    if rows and all(_number(c) is None for c in rows[0][1]):
        header = rows.pop(0)[1]
    if not rows:
        raise FormatError("location file has no data rows", path)
    width = len(header) if header is not None else len(rows[0][1])
    data = np.empty((len(rows), width), dtype=np.float64)
    for r, (line, cells) in enumerate(rows):
        if len(cells) != width:
            raise FormatError(f"row has {len(cells)} columns, expected {width}", path, line)
        for c, cell in enumerate(cells):
            v = _number(cell)
            if v is None or not math.isfinite(v):
                raise FormatError(f"column {c + 1}: {cell!r} is not a finite number", path, line)
            if not 0.0 <= v <= 1.0:
                raise FormatError(f"column {c + 1}: location {cell} outside [0, 1]", path, line)
            data[r, c] = v
    data.setflags(write=False)
    lines = np.array([line for line, _ in rows])
    return _Table(header, data, lines)


_SPEC_ADAPTER: TypeAdapter[Any] | None = None


def _as_spec(spec: Any) -> Any:
    global _SPEC_ADAPTER
    if isinstance(spec, schema._LocBase):
        return spec
    if _SPEC_ADAPTER is None:
        _SPEC_ADAPTER = TypeAdapter(schema.LocationSpec)
    if isinstance(spec, dict) and "distribution" not in spec:
        spec = {"distribution": "uniform", **spec}
    try:
        return _SPEC_ADAPTER.validate_python(spec)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputError(
            f"spec is not a valid location distribution ({where}: {first['msg']}); got {spec!r}"
        ) from None


def draw_locations(
    spec: Any,
    n: int,
    rng: np.random.Generator,
    *,
    base_dir: str | os.PathLike[str] | None = None,
    replication: int = 0,
) -> np.ndarray:
    """Draw the true locations of ``n`` agents, an array of shape ``(n,)`` in [0, 1].

    ``spec`` is a location model of :mod:`fairsim.scenarios.schema` (or a mapping validated as
    one, ``{"distribution": "beta", "a": 2, "b": 5}``). ``rng`` must be a
    ``numpy.random.Generator``. ``base_dir`` is the folder relative CSV paths are resolved
    against (the scenario file's folder); ``replication`` picks the CSV row
    (``replication % rows``). The samplers are fairsim's own definitions [F], listed in the module
    docstring. Invalid arguments raise :class:`~fairsim.errors.InputError`; a missing or malformed
    CSV file raises :class:`~fairsim.errors.FormatError` naming the file and line.
    """
    spec = _as_spec(spec)
    n = check_int(n, "n", 1, 100_000_000)
    rng = check_generator(rng)
    replication = check_int(replication, "replication", 0, 2**62)
    x = _SAMPLERS[spec.distribution](spec, n, rng, base_dir=base_dir, replication=replication)
    x = np.asarray(x, dtype=np.float64)
    if spec.round_to is not None:
        x = np.round(x * spec.round_to) / spec.round_to
    return x


__all__ = ["draw_locations"]
