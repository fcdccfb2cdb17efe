"""Test-suite setup.

Tests are collected with ``--import-mode=importlib`` (pyproject.toml) so that test files in
different folders may share a basename (tests/mechanisms/test_x.py and tests/axioms/test_x.py).
Helper modules that tests import by plain name (independent reference implementations, fixture
builders) live beside their tests; their folders are put on ``sys.path`` here.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
for _sub in sorted(p for p in _HERE.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
    if str(_sub) not in sys.path:
        sys.path.insert(0, str(_sub))
