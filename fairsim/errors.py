"""Exception hierarchy.

``FairsimError`` is the root. ``InputError`` subclasses ``ValueError`` so callers that catch
``ValueError`` (the convention of numpy and scikit-learn) also catch fairsim's validation errors.
"""

from __future__ import annotations


class FairsimError(Exception):
    """Base class of every error fairsim raises on purpose."""


class InputError(FairsimError, ValueError):
    """A function argument is invalid (wrong shape, NaN, out of range, bad option)."""


class FormatError(FairsimError, ValueError):
    """A data file is malformed. ``path`` and ``line`` locate the problem when known."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        self.path = path
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(f"{where}{message}")


class ScenarioError(FairsimError):
    """A scenario file is invalid.

    ``issues`` is a list of ``(file, line, field_path, message)`` tuples; ``str(err)`` renders one
    ``file:line: field.path: message`` line per issue, which the CLI prints without a traceback.
    """

    def __init__(self, issues: list[tuple[str, int | None, str, str]] | str):
        if isinstance(issues, str):
            issues = [("<scenario>", None, "", issues)]
        self.issues = list(issues)
        super().__init__("\n".join(self.format_issue(*i) for i in self.issues))

    @staticmethod
    def format_issue(file: str, line: int | None, path: str, message: str) -> str:
        loc = f"{file}:{line}" if line is not None else file
        return f"{loc}: {path}: {message}" if path else f"{loc}: {message}"


class RunError(FairsimError):
    """A simulation run failed; carries the design point and replication it belongs to."""
