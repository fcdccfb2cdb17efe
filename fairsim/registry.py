"""One registry for mechanisms, axioms, metrics, behaviours and distributions.

Entries are registered by dotted name (``"facility.uniform_phantom"``) with metadata. YAML scenarios
and the CLI resolve names here, so adding a mechanism never means editing an if/elif chain.

Domain modules register their entries when imported; :func:`get` and :func:`entries` import the
known domain modules lazily (:data:`_PROVIDERS`) so that ``import fairsim`` stays cheap.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fairsim.errors import InputError

KINDS = ("mechanism", "axiom", "metric", "behaviour", "distribution", "formula")

# Modules that register entries on import. Later domains append their modules here.
_PROVIDERS: tuple[str, ...] = (
    "fairsim.mechanisms.facility",
    "fairsim.mechanisms.budget_aggregation",
    "fairsim.mechanisms._aggregation_baselines",
    "fairsim.axioms.budget_aggregation",
    "fairsim.agents.budget_aggregation",
    "fairsim.axioms.facility",
    "fairsim.agents.facility",
    "fairsim.agents.locations",
    "fairsim.mechanisms.budgeting",
    "fairsim.axioms.budgeting",
    "fairsim.agents.budgeting",
    "fairsim.mechanisms.valuation",
    "fairsim.axioms.valuation",
    "fairsim.mechanisms.rewards",
    "fairsim.mechanisms.division",
    "fairsim.axioms.division",
    "fairsim.agents.division",
    "fairsim.sim.data_sharing",
    "fairsim.mechanisms.federated",
    "fairsim.axioms.federated",
    "fairsim.agents.federated",
)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Entry:
    """A registered callable and its metadata.

    ``claims`` lists the axioms the entry is proven to satisfy (used by tests and reports);
    ``violates`` lists axioms it is known to fail for some input; ``params`` documents keyword
    parameters a scenario may pass.
    """

    name: str
    kind: str
    func: Callable[..., Any]
    domain: str
    description: str = ""
    randomized: bool = False
    claims: tuple[str, ...] = ()
    violates: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def short_name(self) -> str:
        return self.name.split(".", 1)[1] if "." in self.name else self.name


_REGISTRY: dict[str, Entry] = {}
_loaded = False


def register(
    name: str,
    kind: str,
    *,
    description: str | None = None,
    randomized: bool = False,
    claims: tuple[str, ...] | list[str] = (),
    violates: tuple[str, ...] | list[str] = (),
    params: dict[str, Any] | None = None,
    **extra: Any,
) -> Callable[[F], F]:
    """Decorator registering ``func`` under ``name`` (``"<domain>.<name>"``)."""
    if kind not in KINDS:
        raise InputError(f"registry kind must be one of {KINDS}; got {kind!r}")
    if "." not in name:
        raise InputError(f"registry names are dotted '<domain>.<name>'; got {name!r}")

    def deco(func: F) -> F:
        doc = description
        if doc is None:
            doc = (func.__doc__ or "").strip().splitlines()[0] if func.__doc__ else ""
        entry = Entry(
            name=name,
            kind=kind,
            func=func,
            domain=name.split(".", 1)[0],
            description=doc,
            randomized=randomized,
            claims=tuple(claims),
            violates=tuple(violates),
            params=dict(params or {}),
            extra=dict(extra),
        )
        key = f"{kind}:{name}"
        old = _REGISTRY.get(key)
        if old is not None and old.func is not func and _qualname(old.func) != _qualname(func):
            raise InputError(f"{kind} {name!r} is already registered by {_qualname(old.func)}")
        _REGISTRY[key] = entry
        return func

    return deco


def _qualname(func: Callable[..., Any]) -> str:
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}"


def load_all() -> None:
    """Import every provider module so that all entries are registered."""
    global _loaded
    if _loaded:
        return
    for mod in _PROVIDERS:
        importlib.import_module(mod)
    _loaded = True


def get(name: str, kind: str, *, domain: str | None = None) -> Entry:
    """Look up an entry by dotted name; a bare name is qualified with ``domain``.

    Raises :class:`InputError` listing the available names when nothing matches.
    """
    load_all()
    full = name if "." in name or domain is None else f"{domain}.{name}"
    entry = _REGISTRY.get(f"{kind}:{full}")
    if entry is None:
        avail = ", ".join(e.short_name if domain else e.name for e in entries(kind, domain=domain))
        raise InputError(f"unknown {kind} {name!r}; available: {avail}")
    return entry


def entries(kind: str | None = None, *, domain: str | None = None) -> list[Entry]:
    """All entries, optionally filtered by kind and domain, sorted by name."""
    load_all()
    out = [
        e
        for e in _REGISTRY.values()
        if (kind is None or e.kind == kind) and (domain is None or e.domain == domain)
    ]
    return sorted(out, key=lambda e: (e.kind, e.name))


__all__ = ["Entry", "KINDS", "entries", "get", "load_all", "register"]
