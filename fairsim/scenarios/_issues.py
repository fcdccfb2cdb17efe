"""Turn pydantic validation errors into ``file:line: field.path: message`` issues."""

from __future__ import annotations

import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from fairsim.scenarios._yaml import Path

_DISCRIMINATORS = ("distribution", "type")


def _strip(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _tag(model: type[BaseModel]) -> Any:
    for name in _DISCRIMINATORS:
        f = model.model_fields.get(name)
        if f is not None and get_origin(f.annotation) is Literal:
            return get_args(f.annotation)[0]
    return None


def type_at(tp: Any, loc: tuple[Any, ...] | list[Any]) -> Any:
    """The declared type reached by following ``loc`` (a pydantic error location, union tags
    included) from ``tp``; ``None`` when the location leaves the schema."""
    i = 0
    loc = list(loc)
    while i <= len(loc):
        tp = _strip(tp)
        origin = get_origin(tp)
        if origin in (Union, types.UnionType):
            members = [_strip(a) for a in get_args(tp) if a is not type(None)]
            if i < len(loc):
                tagged = [m for m in members if _is_model(m) and _tag(m) == loc[i]]
                if tagged:
                    tp, i = tagged[0], i + 1
                    continue
            if len(members) == 1:
                tp = members[0]
                continue
            return tp if i == len(loc) else None
        if i == len(loc):
            return tp
        el = loc[i]
        i += 1
        if _is_model(tp):
            field = tp.model_fields.get(el) if isinstance(el, str) else None
            if field is None:
                return None
            tp = field.annotation
        elif origin in (list, tuple) and isinstance(el, int):
            args = get_args(tp)
            tp = (
                args[0]
                if origin is list or (len(args) == 2 and args[1] is Ellipsis)
                else (args[el] if el < len(args) else None)
            )
        elif origin is dict:
            tp = get_args(tp)[1]
        else:
            return None
    return tp


def real_path(data: Any, loc: tuple[Any, ...]) -> tuple[Path, bool]:
    """Follow a pydantic ``loc`` through the input ``data``, dropping union tags.

    Returns the value path (keys and indices as in the YAML) and whether the whole path exists
    in ``data`` (it does not for a missing key or one inside a shorthand string).
    """
    out: list[str | int] = []
    cur = data
    exists = True
    for el in loc:
        if exists and isinstance(cur, dict) and el in cur:
            cur = cur[el]
        elif exists and isinstance(cur, list) and isinstance(el, int) and 0 <= el < len(cur):
            cur = cur[el]
        elif exists and isinstance(cur, dict) and any(cur.get(d) == el for d in _DISCRIMINATORS):
            continue  # the tag of a discriminated union, not a key
        elif exists and not isinstance(cur, (dict, list)):
            break  # inside a shorthand scalar (``mechanisms: [median]``): point at the scalar
        else:
            exists = False
        out.append(el)
    return tuple(out), exists


def error_items(exc: ValidationError, data: Any, model: type[BaseModel]) -> list[tuple[Path, str]]:
    """One ``(value path, message)`` per error of ``exc`` raised validating ``data`` as ``model``.

    Messages are pydantic's, except: unknown keys list the allowed ones, missing keys say so,
    ``Value error, `` prefixes from validators are dropped, and bad union tags name the tags.
    """
    items: list[tuple[Path, str]] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        path, _ = real_path(data, loc)
        kind = err["type"]
        msg = str(err["msg"])
        ctx = err.get("ctx") or {}
        if kind == "extra_forbidden":
            parent = type_at(model, loc[:-1])
            msg = f"unknown key {loc[-1]!r}"
            if _is_model(parent):
                msg += f"; allowed keys: {', '.join(parent.model_fields)}"
        elif kind == "missing":
            msg = "required key is missing"
        elif kind == "value_error":
            msg = msg.removeprefix("Value error, ")
        elif kind == "assertion_error":
            msg = msg.removeprefix("Assertion failed, ")
        elif kind == "union_tag_invalid":
            disc = str(ctx.get("discriminator", "")).strip("'\"")
            if disc:
                path = (*path, disc)
                msg = f"unknown {disc} {ctx.get('tag')!r}; expected one of: {ctx.get('expected_tags')}"
        elif kind == "union_tag_not_found":
            disc = str(ctx.get("discriminator", "")).strip("'\"")
            msg = f"needs a {disc!r} key"
        items.append((path, msg))
    return items
