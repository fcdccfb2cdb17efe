"""Load scenario files: safe YAML, pydantic validation, ``file:line: field.path: message`` errors.

**The YAML format.** A scenario file holds one YAML mapping. Its ``kind:`` key picks the model
(:data:`fairsim.scenarios.schema.KINDS`: ``facility_location`` or ``participatory_budgeting``)
and the other keys are that model's fields, for example::

    kind: facility_location
    name: quick                       # shown in reports
    seed: 7                           # root of every run's SeedSequence
    replications: 100                 # runs per design point
    agents:
      n: 5
      locations: {distribution: beta, a: 2, b: 5, round_to: 10}
      behaviours: truthful            # or a list of {name, share, params}
    mechanisms: [uniform_phantom, median, {name: constant, params: {c: 0.5}}]
    axioms: [ifs, ufs, strategyproofness]        # default: all facility axioms
    metrics: [social_welfare, sw_ratio]          # default: all facility metrics
    sweep:                            # optional; see fairsim.scenarios.sweeps
      grid: {agents.n: [3, 5, 7]}
      zip: {agents.locations.a: [1, 2], agents.locations.b: [2, 1]}
      random: {samples: 4, params: {dynamics.max_rounds: {randint: [10, 100]}}}

Unknown keys are errors everywhere; mechanism, axiom, metric, behaviour and formula names are
checked against :mod:`fairsim.registry`. Only the YAML core schema is read (no Python tags, no
custom tags; anchors, aliases and ``<<`` merge keys work); duplicate keys are errors. Every
problem is reported as a :class:`~fairsim.errors.ScenarioError` whose ``str()`` has one line per
issue, ``file:line: field.path: message``, e.g.
``quick.yaml:12: agents.locations.a: Input should be greater than 0``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from fairsim.errors import InputError, ScenarioError
from fairsim.scenarios import schema
from fairsim.scenarios._issues import error_items
from fairsim.scenarios._source import Source, attach, source_of
from fairsim.scenarios._yaml import parse_yaml, render_path

Scenario = schema.Scenario


def read_text(path: str | Path) -> str:
    """The text of a scenario file (UTF-8). Missing, unreadable or non-UTF-8 files raise
    :class:`ScenarioError` naming the file (and the line of the first bad byte)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ScenarioError([(str(path), None, "", "file not found")]) from None
    except IsADirectoryError:
        raise ScenarioError(
            [(str(path), None, "", "is a directory, not a scenario file")]
        ) from None
    except OSError as exc:
        raise ScenarioError([(str(path), None, "", f"cannot read file: {exc.strerror}")]) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScenarioError([(str(path), line, "", "file is not valid UTF-8 text")]) from None


def load_scenario(path: str | Path, *, seed: int | None = None) -> Scenario:
    """Read and validate the scenario file at ``path``.

    ``seed`` (an integer >= 0) overrides the file's ``seed:``. Relative data paths in the scenario
    (CSV location profiles) are resolved against the file's folder; see :func:`scenario_base_dir`.
    Raises :class:`ScenarioError` with one ``file:line: field.path: message`` issue per problem.
    """
    p = Path(path)
    text = read_text(p)
    return load_scenario_text(text, filename=str(path), seed=seed, base_dir=p.resolve().parent)


def load_scenario_text(
    text: str,
    filename: str = "<string>",
    *,
    seed: int | None = None,
    base_dir: str | Path | None = None,
) -> Scenario:
    """Validate scenario YAML given as text; ``filename`` is used in messages.

    ``base_dir`` is the folder relative data paths are resolved against (default: the current
    directory at draw time). See the module docstring for the format.
    """
    if not isinstance(text, str):
        raise InputError(f"text must be a str; got {type(text).__name__}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise InputError(f"seed must be an integer >= 0; got {seed!r}")
    data, lines = parse_yaml(text, filename)
    source = Source(
        filename=filename,
        base_dir=Path(base_dir) if base_dir is not None else None,
        text=text,
        lines=lines,
    )
    if data is None:
        raise ScenarioError([(filename, None, "", "empty scenario file")])
    if not isinstance(data, dict):
        raise ScenarioError(
            [(filename, 1, "", f"the top level must be a mapping of keys; got a {_kind_of(data)}")]
        )
    kinds = ", ".join(sorted(schema.KINDS))
    if "kind" not in data:
        raise ScenarioError(
            [(filename, 1, "kind", f"missing; the top-level 'kind:' key must be one of: {kinds}")]
        )
    kind = data["kind"]
    model = schema.KINDS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise ScenarioError(
            [(filename, lines.get(("kind",)), "kind", f"unknown kind {kind!r}; available: {kinds}")]
        )
    if seed is not None:
        data["seed"] = seed
    scenario = validate(model, data, source)
    from fairsim.scenarios.sweeps import check_sweep, parse_path  # sweeps imports this module

    check_sweep(scenario)
    swept = [parse_path(k) for k in _sweep_keys(scenario)]
    if not any(p[:2] in (("agents",), ("agents", "n"), ("agents", "locations")) for p in swept):
        check_data_files(scenario)  # swept data are checked per design point by expand()
    return scenario


def _sweep_keys(scenario: Any) -> list[str]:
    sweep = getattr(scenario, "sweep", None)
    if sweep is None:
        return []
    keys = list(sweep.grid) + list(sweep.zip)
    return keys + (list(sweep.random.params) if sweep.random is not None else [])


def check_data_files(scenario: Any) -> None:
    """Read the data files a scenario refers to (CSV location profiles) so that a missing or
    malformed file is reported at load time, located at the scenario line naming it."""
    inst = getattr(scenario, "instances", None)
    if inst is not None and getattr(inst, "generator", None) == "pabulib":
        src = source_of(scenario) or Source(filename="<scenario>")
        file = Path(str(inst.path))
        if not file.is_absolute() and src.base_dir is not None:
            file = Path(src.base_dir) / file
        if not file.is_file():
            where = ("instances", "path")
            raise ScenarioError(
                [(src.filename, src.line(where), render_path(where), f"no such file: {file}")]
            )
        return
    agents = getattr(scenario, "agents", None)
    spec = getattr(agents, "locations", None)
    if agents is None or not isinstance(spec, schema.CsvLocations):
        return
    import numpy as np

    from fairsim.agents.locations import draw_locations
    from fairsim.errors import FormatError

    src = source_of(scenario) or Source(filename="<scenario>")
    path = ("agents", "locations", "path")
    try:
        draw_locations(spec, agents.n, np.random.default_rng(0), base_dir=src.base_dir)
    except FormatError as exc:
        raise ScenarioError([(src.filename, src.line(path), render_path(path), str(exc))]) from None


def validate(model: type[BaseModel], data: Any, source: Source) -> Any:
    """``model.model_validate(data)`` with errors turned into a :class:`ScenarioError` located
    through ``source``'s line map; the returned model carries ``source``."""
    try:
        obj = model.model_validate(data)
    except ValidationError as exc:
        issues = [
            (source.filename, source.line(path), render_path(path), msg)
            for path, msg in error_items(exc, data, model)
        ]
        issues.sort(key=lambda i: (i[1] is None, i[1] or 0))  # in file order
        raise ScenarioError(issues) from None
    return attach(obj, source)


def _kind_of(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    return "string" if isinstance(value, str) else type(value).__name__


def scenario_source(scenario: BaseModel) -> Source | None:
    """File name, folder, text and line map of a loaded scenario (``None`` if built in code)."""
    return source_of(scenario)


def scenario_base_dir(scenario: BaseModel) -> Path | None:
    """Folder that relative data paths of ``scenario`` are resolved against (``None``: cwd)."""
    src = source_of(scenario)
    return src.base_dir if src is not None else None


def scenario_hash(scenario: BaseModel) -> str:
    """SHA-256 (hex) of the scenario's canonical JSON: all fields with defaults filled in, keys
    sorted, no whitespace. Equal scenarios hash equally whatever their YAML spelling."""
    if not isinstance(scenario, BaseModel):
        raise InputError(
            f"scenario must be a validated scenario model; got {type(scenario).__name__}"
        )
    canon = json.dumps(
        scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=True
    )
    return hashlib.sha256(canon.encode("ascii")).hexdigest()


__all__ = [
    "Scenario",
    "load_scenario",
    "load_scenario_text",
    "read_text",
    "check_data_files",
    "scenario_base_dir",
    "scenario_hash",
    "scenario_source",
]
