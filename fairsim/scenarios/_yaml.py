"""Safe YAML parsing that keeps line numbers.

The text is *composed* into a node graph with PyYAML's safe composer, then turned into plain
``dict`` / ``list`` / scalar values here, node by node. No tag ever constructs a Python object:
only the core schema tags (map, seq, str, int, float, bool, null, timestamp-as-text and the merge
key ``<<``) are accepted; anything else (``!!python/object``, ``!custom``, ``!!binary``, ``!!set``)
is an error with its file and line. Duplicate keys are errors too.

While building, every value's path (a tuple of mapping keys and list indices) is mapped to the
1-based line where it appears: for a mapping entry the line of its key, for a list item the line
of the item. :mod:`fairsim.scenarios.loader` uses this map to put a line on every validation error.

Two conveniences depart from PyYAML's YAML 1.1 resolver [F]: mapping keys are always the key's
source text (``on:`` stays ``"on"``, ``1:`` becomes ``"1"``), and a plain (unquoted) scalar in
exponent notation without a dot (``1e-12``) is read as a float, as YAML 1.2 does.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from fairsim.errors import ScenarioError

Path = tuple[str | int, ...]
LineMap = dict[Path, int]

_CORE = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (_CORE + t for t in ("str", "int", "float", "bool", "null"))
_TIMESTAMP, _MAP, _SEQ, _MERGE = (_CORE + t for t in ("timestamp", "map", "seq", "merge"))
_FLOAT_EXP = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$")
_MAX_VALUES = 1_000_000  # guards against alias expansion bombs

_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def render_path(path: Path | list[Any]) -> str:
    """Render a value path as ``agents.locations.a``, ``mechanisms[0].name``,
    ``sweep.grid["agents.n"][1]``."""
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", str(p)):
            out += f".{p}" if out else str(p)
        else:
            out += f'["{p}"]'
    return out


def parse_yaml(text: str, filename: str) -> tuple[Any, LineMap]:
    """Parse one YAML document into plain Python values and a path -> line map.

    Raises :class:`ScenarioError` for syntax errors (with the line of the YAML mark), for more
    than one document, for unsupported tags, non-scalar or duplicate keys and recursive aliases.
    An empty document gives ``(None, {})``.
    """
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or str(exc)
        if exc.context:
            problem = f"{exc.context}; {problem}"
        raise ScenarioError([(filename, line, "", f"YAML syntax error: {problem}")]) from None
    except yaml.YAMLError as exc:  # reader errors (control characters) carry no mark
        raise ScenarioError([(filename, None, "", f"YAML error: {exc}")]) from None
    if node is None:
        return None, {}
    builder = _Builder(filename)
    value = builder.build(node, ())
    return value, builder.lines


class _Builder:
    def __init__(self, filename: str):
        self.filename = filename
        self.lines: LineMap = {}
        self.count = 0
        self.active: set[int] = set()
        self.scalars = yaml.constructor.SafeConstructor()

    def fail(self, node: yaml.Node, path: Path, message: str) -> ScenarioError:
        return ScenarioError(
            [(self.filename, node.start_mark.line + 1, render_path(path), message)]
        )

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.count += 1
        if self.count > _MAX_VALUES:
            raise self.fail(node, path, f"document expands to more than {_MAX_VALUES} values")
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if id(node) in self.active:
            raise self.fail(node, path, "recursive alias (a node that contains itself)")
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                if node.tag != _SEQ:
                    raise self.fail(node, path, f"unsupported YAML tag {node.tag!r}")
                out = []
                for i, item in enumerate(node.value):
                    self.lines[(*path, i)] = item.start_mark.line + 1
                    out.append(self.build(item, (*path, i)))
                return out
            if node.tag != _MAP:
                raise self.fail(node, path, f"unsupported YAML tag {node.tag!r}")
            return self.mapping(node, path)
        finally:
            self.active.discard(id(node))

    def mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merges.append(value_node)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, path, "mapping keys must be plain scalars")
            if key_node.tag not in (_STR, _INT, _FLOAT, _BOOL, _NULL, _TIMESTAMP):
                raise self.fail(key_node, path, f"unsupported YAML tag {key_node.tag!r}")
            key = str(key_node.value)
            if key in out:
                first = self.lines.get((*path, key))
                raise self.fail(
                    key_node, (*path, key), f"duplicate key {key!r} (first defined on line {first})"
                )
            self.lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = self.build(value_node, (*path, key))
        # Merge keys (``<<: *base`` or ``<<: [*a, *b]``): explicit keys win, earlier merges win.
        for merge in merges:
            sources = merge.value if isinstance(merge, yaml.SequenceNode) else [merge]
            for src in sources:
                if not isinstance(src, yaml.MappingNode) or src.tag != _MAP:
                    raise self.fail(
                        merge, path, "a merge key '<<' needs a mapping or a list of them"
                    )
                saved, self.lines = self.lines, {}
                merged = self.build(src, path)
                sub, self.lines = self.lines, saved
                for k, v in merged.items():
                    if k not in out:
                        out[k] = v
                        n = len(path)
                        self.lines.update((p, ln) for p, ln in sub.items() if p[n] == k)
        return out

    def scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        tag = node.tag
        try:
            if tag == _STR:
                if node.style is None and _FLOAT_EXP.match(node.value):
                    return float(node.value.replace("_", ""))
                return node.value
            if tag == _INT:
                return self.scalars.construct_yaml_int(node)
            if tag == _FLOAT:
                return self.scalars.construct_yaml_float(node)
            if tag == _BOOL:
                return self.scalars.construct_yaml_bool(node)
            if tag == _NULL:
                return None
            if tag == _TIMESTAMP:
                return node.value  # dates stay text: no datetime objects in scenarios
        except (ValueError, yaml.YAMLError) as exc:
            msg = f"invalid {tag.rsplit(':', 1)[-1]} {node.value!r}: {exc}"
            raise self.fail(node, path, msg) from None
        raise self.fail(node, path, f"unsupported YAML tag {tag!r}")
