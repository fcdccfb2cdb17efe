"""Expand a scenario's ``sweep:`` into design points.

A sweep has up to three blocks, each keyed by *dotted paths* into the scenario
(``agents.n``, ``agents.locations``, ``agents.locations.a``, ``mechanisms``,
``mechanisms[1].params.c`` or ``mechanisms.1.params.c``, ``dynamics.max_rounds``,
``replications``)::

    sweep:
      grid:   {agents.n: [3, 5], mechanisms: [[median], [uniform_phantom, average]]}
      zip:    {agents.locations.a: [1, 2, 5], agents.locations.b: [5, 2, 1]}
      random: {samples: 10, params: {dynamics.max_rounds: {randint: [10, 100]}}}

The design points are the product ``grid x zip x random`` [F]: the cartesian product of the grid
lists (the first key varies slowest, keys in YAML order), times the parallel (zip) lists, times the
``samples`` random draws, nested in that order (grid outermost, random innermost). The random
draws are made once, for all grid and zip combinations alike, from
``numpy.random.default_rng(SeedSequence(scenario.seed, spawn_key=(SWEEP_SPAWN_KEY,)))``, one
vectorized draw per parameter in key order: ``uniform: [lo, hi]`` (``Generator.uniform``),
``randint: [lo, hi]`` (inclusive, ``Generator.integers``), ``choice: [...]`` (an index from
``Generator.integers``). So the same scenario and seed always give the same design points, and
the runner's per-run seeds, spawned with keys ``(design point, replication)``, never coincide
with the sweep's stream.

A swept value replaces the whole value at its path; each design point is validated like a file,
and a bad value raises :class:`~fairsim.errors.ScenarioError` naming the sweep entry and its line.
A path must name an existing field (or a key of a free ``params`` mapping); one sweep key may not
be a prefix of another.
"""

from __future__ import annotations

import copy
import itertools
import re
import types
from dataclasses import dataclass
from typing import Any, Union, get_origin

import numpy as np
from pydantic import BaseModel, ValidationError

from fairsim.errors import InputError, ScenarioError
from fairsim.scenarios import schema
from fairsim.scenarios._issues import _is_model, _strip, _tag, error_items
from fairsim.scenarios._source import Source, attach, source_of
from fairsim.scenarios._yaml import Path, render_path

SWEEP_SPAWN_KEY = 0x5357_4545_50  # "SWEEP"; far from the runner's (design point, replication) keys

_TOKEN = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


@dataclass(frozen=True)
class DesignPoint:
    """One point of a sweep: its position ``index`` in :func:`expand`'s order, the swept
    ``params`` (sweep key as written -> value, for the swept fields only) and the concrete,
    validated ``scenario`` (``sweep=None``) that the runner runs ``scenario.replications`` times."""

    index: int
    params: dict[str, Any]
    scenario: Any


def parse_path(key: str) -> Path:
    """Split a sweep key ``a.b[0].c`` (or ``a.b.0.c``) into ``("a", "b", 0, "c")``."""
    if not isinstance(key, str) or not key or key.startswith(".") or key.endswith("."):
        raise InputError(f"sweep key must be a dotted path like 'agents.n'; got {key!r}")
    out: list[str | int] = []
    pos = 0
    for m in _TOKEN.finditer(key):
        gap = key[pos : m.start()]
        if gap not in ("", ".") or (gap == "" and pos > 0 and m.group(2) is not None):
            raise InputError(f"sweep key must be a dotted path like 'agents.n'; got {key!r}")
        pos = m.end()
        if m.group(1) is not None:
            out.append(int(m.group(1)))
        else:
            tok = m.group(2)
            out.append(int(tok) if tok.isdigit() else tok)
    if pos != len(key) or not out:
        raise InputError(f"sweep key must be a dotted path like 'agents.n'; got {key!r}")
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# Checking keys
# ---------------------------------------------------------------------------------------------


def _entries(sweep: schema.SweepSpec) -> list[tuple[str, str, Path]]:
    """(block, key, YAML path of the key) for every sweep key, in order."""
    out: list[tuple[str, str, Path]] = [("grid", k, ("sweep", "grid", k)) for k in sweep.grid]
    out += [("zip", k, ("sweep", "zip", k)) for k in sweep.zip]
    if sweep.random is not None:
        out += [("random", k, ("sweep", "random", "params", k)) for k in sweep.random.params]
    return out


def _union_member(tp: Any, value: Any) -> Any:
    """Resolve a union type against the value it validated (by discriminator or non-None)."""
    members = [_strip(a) for a in getattr(tp, "__args__", ()) if a is not type(None)]
    if isinstance(value, dict):
        for m in members:
            tag = _tag(m) if _is_model(m) else None
            if tag is not None and any(value.get(d) == tag for d in ("distribution", "type")):
                return m
    return members[0] if len(members) == 1 else None


def _path_problem(model: type[BaseModel], data: dict[str, Any], path: Path) -> str | None:
    """Why ``path`` does not name a settable place in the scenario ``data`` (or ``None``)."""
    tp: Any = model
    cur: Any = data
    for depth, el in enumerate(path):
        where = render_path(path[:depth]) or "the scenario"
        tp = _strip(tp)
        if get_origin(tp) in (Union, types.UnionType):
            tp = _union_member(tp, cur)
            tp = _strip(tp) if tp is not None else None
        last = depth == len(path) - 1
        if _is_model(tp):
            if not isinstance(el, str) or el not in tp.model_fields:
                return f"{where} has no field {el!r}; fields: {', '.join(tp.model_fields)}"
            tp = tp.model_fields[el].annotation
            cur = cur.get(el) if isinstance(cur, dict) else None
            if cur is None and not last:
                return f"{render_path(path[: depth + 1])} is not set (null), so it has no {path[depth + 1]!r}"
        elif isinstance(cur, list):
            if not isinstance(el, int) or not 0 <= el < len(cur):
                return f"{where} is a list of {len(cur)}; {el!r} is not an index into it"
            args: tuple[Any, ...] = getattr(tp, "__args__", ())
            tp = args[0] if args else Any
            cur = cur[el]
        elif isinstance(cur, dict):
            el = str(el)
            args = getattr(tp, "__args__", ())
            tp = args[1] if len(args) == 2 else Any
            if el not in cur and not last:
                return f"{where} has no key {el!r}"
            cur = cur.get(el)
        else:
            return f"{where} is a {type(cur).__name__}, not a mapping or list"
    return None


def check_sweep(scenario: schema.Scenario) -> None:
    """Check the sweep keys of ``scenario`` (syntax, existence, overlaps, random choices)
    without expanding; raises :class:`ScenarioError` with the keys' lines."""
    sweep = getattr(scenario, "sweep", None)
    if sweep is None:
        return
    src = source_of(scenario) or Source(filename="<scenario>")
    base = scenario.model_dump(mode="python", exclude={"sweep"})
    issues: list[tuple[str, int | None, str, str]] = []
    seen: dict[Path, tuple[str, str]] = {}
    for block, key, ypath in _entries(sweep):
        here = (src.filename, src.line(ypath), render_path(ypath))
        try:
            path = parse_path(key)
        except InputError as exc:
            issues.append((*here, str(exc)))
            continue
        if path and path[0] == "sweep":
            issues.append((*here, "the sweep cannot sweep itself"))
            continue
        problem = _path_problem(type(scenario), base, path)
        if problem is not None:
            issues.append((*here, f"unknown path {key!r}: {problem}"))
            continue
        for other, (oblock, okey) in seen.items():
            n = min(len(other), len(path))
            if other[:n] == path[:n]:
                issues.append(
                    (*here, f"overlaps sweep key {okey!r} (in {oblock}); sweep each field once")
                )
                break
        seen[path] = (block, key)
    if issues:
        raise ScenarioError(issues)


# ---------------------------------------------------------------------------------------------
# Expansion
# ---------------------------------------------------------------------------------------------


def _random_draws(scenario: schema.Scenario) -> list[dict[str, Any]]:
    sweep = scenario.sweep
    if sweep is None or sweep.random is None:
        return [{}]
    S = sweep.random.samples
    rng = np.random.default_rng(np.random.SeedSequence(scenario.seed, spawn_key=(SWEEP_SPAWN_KEY,)))
    cols: dict[str, list[Any]] = {}
    for key, p in sweep.random.params.items():
        if p.uniform is not None:
            cols[key] = [float(v) for v in rng.uniform(p.uniform[0], p.uniform[1], size=S)]
        elif p.randint is not None:
            cols[key] = [
                int(v) for v in rng.integers(p.randint[0], p.randint[1], size=S, endpoint=True)
            ]
        else:
            choice = p.choice or []
            idx = rng.integers(0, len(choice), size=S)
            cols[key] = [choice[int(i)] for i in idx]
    return [{k: v[s] for k, v in cols.items()} for s in range(S)]


def _raw_points(scenario: schema.Scenario) -> list[tuple[dict[str, Any], dict[str, tuple]]]:
    """Param dicts in expansion order, each with the YAML path of every value's origin."""
    sweep = scenario.sweep
    if sweep is None:
        return [({}, {})]
    grid_keys = list(sweep.grid)
    grid = list(itertools.product(*(range(len(sweep.grid[k])) for k in grid_keys)))
    zlen = len(next(iter(sweep.zip.values()))) if sweep.zip else 1
    draws = _random_draws(scenario)
    out = []
    for combo in grid:
        for z in range(zlen):
            for draw in draws:
                params: dict[str, Any] = {}
                origin: dict[str, tuple] = {}
                for k, i in zip(grid_keys, combo):
                    params[k], origin[k] = sweep.grid[k][i], ("sweep", "grid", k, i)
                for k, vals in sweep.zip.items():
                    params[k], origin[k] = vals[z], ("sweep", "zip", k, z)
                for k, v in draw.items():
                    params[k], origin[k] = v, ("sweep", "random", "params", k)
                out.append((params, origin))
    return out


def _with(data: Any, path: Path, value: Any) -> Any:
    """A copy of ``data`` with ``value`` at ``path``; only the containers on the path are copied
    (validation never mutates its input, so the rest can be shared)."""
    if not path:
        return value
    el, rest = path[0], path[1:]
    if isinstance(data, list):
        out_list = list(data)
        out_list[int(el)] = _with(data[int(el)], rest, value)
        return out_list
    out = dict(data)
    key = str(el)
    out[key] = _with(data.get(key), rest, value)
    return out


def _check_model(scenario: Any) -> None:
    if not isinstance(scenario, BaseModel) or type(scenario) not in schema.KINDS.values():
        raise InputError(
            f"scenario must be a validated scenario model (see fairsim.scenarios.load_scenario); "
            f"got {type(scenario).__name__}"
        )


def expand(scenario: schema.Scenario) -> list[DesignPoint]:
    """The design points of ``scenario`` in order (see the module docstring).

    Without a sweep there is one point, ``DesignPoint(0, {}, scenario-with-sweep=None)``. Each
    point's scenario is validated; errors name the sweep entry and its line.
    """
    _check_model(scenario)
    check_sweep(scenario)
    src = source_of(scenario) or Source(filename="<scenario>")
    model = type(scenario)
    base = scenario.model_dump(mode="python", exclude={"sweep"})
    points: list[DesignPoint] = []
    checked_data: set[str] = set()
    paths = {k: parse_path(k) for k in _keys(scenario.sweep)} if scenario.sweep else {}
    for index, (params, origin) in enumerate(_raw_points(scenario)):
        data = base
        for k, v in params.items():
            data = _with(data, paths[k], copy.deepcopy(v))
        try:
            concrete = model.model_validate(data)
        except ValidationError as exc:
            issues = []
            for epath, msg in error_items(exc, data, model):
                n = len(epath)
                blamed = [k for k in params if paths[k][:n] == epath[: len(paths[k])][:n]]
                for k in blamed or list(params):
                    issues.append(
                        (
                            src.filename,
                            src.line(origin[k]),
                            render_path(origin[k]),
                            f"value {params[k]!r} for {k}: {render_path(epath) or 'scenario'}: {msg}",
                        )
                    )
            raise ScenarioError(issues) from None
        attach(concrete, src)
        _check_point_data(concrete, src, params, origin, checked_data)
        points.append(DesignPoint(index=index, params=params, scenario=concrete))
    return points


def _check_point_data(
    concrete: Any, src: Source, params: dict[str, Any], origin: dict[str, tuple], seen: set[str]
) -> None:
    """Read CSV location files once per (spec, n) so format errors surface before any run."""
    from fairsim.scenarios.loader import check_data_files

    agents = getattr(concrete, "agents", None)
    if agents is None or not isinstance(agents.locations, schema.CsvLocations):
        return
    sig = f"{agents.locations!r}|{agents.n}"
    if sig in seen:
        return
    seen.add(sig)
    keys = [k for k in params if k.startswith("agents")]
    try:
        check_data_files(concrete)
    except ScenarioError as exc:
        if not keys:
            raise
        raise ScenarioError(
            [
                (
                    src.filename,
                    src.line(origin[k]),
                    render_path(origin[k]),
                    f"value {params[k]!r} for {k}: {i[3]}",
                )
                for i in exc.issues
                for k in keys
            ]
        ) from None


def count_design_points(scenario: schema.Scenario) -> int:
    """Number of design points of ``scenario`` (1 without a sweep), computed without expanding."""
    _check_model(scenario)
    sweep = scenario.sweep
    if sweep is None:
        return 1
    total = 1
    for vals in sweep.grid.values():
        total *= len(vals)
    if sweep.zip:
        total *= len(next(iter(sweep.zip.values())))
    if sweep.random is not None:
        total *= sweep.random.samples
    return total


def count_runs(scenario: schema.Scenario) -> int:
    """Number of runs, i.e. ``(design point, replication)`` pairs (the results' ``run_id``s):
    the sum over design points of their ``replications``. Does not validate the points."""
    _check_model(scenario)
    sweep = scenario.sweep
    if sweep is None or not any(parse_path(k)[:1] == ("replications",) for k in _keys(sweep)):
        return count_design_points(scenario) * scenario.replications
    total = 0
    for params, _ in _raw_points(scenario):
        reps = params.get("replications", scenario.replications)
        total += int(reps) if isinstance(reps, int) and not isinstance(reps, bool) else 0
    return total


def _keys(sweep: schema.SweepSpec) -> list[str]:
    return [k for _, k, _ in _entries(sweep)]


__all__ = [
    "SWEEP_SPAWN_KEY",
    "DesignPoint",
    "check_sweep",
    "count_design_points",
    "count_runs",
    "expand",
    "parse_path",
]
