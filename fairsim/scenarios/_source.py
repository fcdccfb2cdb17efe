"""Where a validated scenario came from: file name, folder, text and the YAML line map.

The information is kept beside the (frozen) pydantic model rather than on it, so that two equal
scenarios compare equal whatever file they came from. Entries disappear with their model.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fairsim.scenarios._yaml import LineMap
from fairsim.scenarios._yaml import Path as ValuePath


@dataclass(frozen=True)
class Source:
    """Origin of a scenario: ``filename`` as shown in messages, ``base_dir`` for relative data
    paths (the scenario file's folder), the YAML ``text`` and the path -> line map."""

    filename: str
    base_dir: Path | None = None
    text: str | None = None
    lines: LineMap = field(default_factory=dict)

    def line(self, path: ValuePath) -> int | None:
        """Line of the deepest prefix of ``path`` present in the YAML (``None`` if none)."""
        for k in range(len(path), 0, -1):
            ln = self.lines.get(tuple(path[:k]))
            if ln is not None:
                return ln
        return 1 if self.lines else None


_SOURCES: dict[int, Source] = {}


def attach(obj: Any, source: Source | None) -> Any:
    """Remember ``source`` for ``obj`` (until ``obj`` is garbage collected); returns ``obj``."""
    if source is None:
        return obj
    key = id(obj)
    if key not in _SOURCES:
        weakref.finalize(obj, _SOURCES.pop, key, None)
    _SOURCES[key] = source
    return obj


def source_of(obj: Any) -> Source | None:
    """The :class:`Source` attached to ``obj``, or ``None``."""
    return _SOURCES.get(id(obj))
