"""Typed wire messages: one frozen dataclass per payload, checked on the way in.

`parse(Kind, payload)` rejects non-objects, unknown keys, missing keys, wrong types and
out-of-range values with an InvalidPayload that names the field, so a client author reads
what to fix. Limits ride on each field's metadata: max_len, min, max, max_items, min_items, pattern.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from enum import Enum
from functools import cache
from typing import Any, TypeVar, cast

from signaling.errors import InvalidPayload

T = TypeVar("T")
MISSING = dataclasses.MISSING


BLANK = r"\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
"""What counts as blank around a text (min_len counts what is left), as a character class that
Python's re and JSON Schema's (ECMAScript) regexes read alike: the union of what each calls
whitespace, so the OpenAPI document and this check agree on every character."""
_TRIM = re.compile(f"^[{BLANK}]+|[{BLANK}]+$")


_EDGE = re.compile(f"[{BLANK}]")


def trimmed_length(value: str) -> int:
    if value and not _EDGE.match(value[0]) and not _EDGE.match(value[-1]):
        return len(value)  # nothing to trim (most texts): no substitution
    return len(_TRIM.sub("", value))


def limit(**constraints: Any) -> dict[str, Any]:
    """Field metadata helper: `x: str = field(metadata=limit(max_len=64))`."""
    return constraints


@dataclasses.dataclass(frozen=True)
class _Field:
    kind: Any
    meta: typing.Mapping[str, Any]
    required: bool


@cache
def _fields(kind: Any) -> dict[str, _Field]:
    """A payload dataclass's fields with their resolved types, worked out once per class
    (every Socket.IO event is parsed here, so this was a per-message cost)."""
    hints = typing.get_type_hints(kind)
    return {
        f.name: _Field(
            hints[f.name], f.metadata, f.default is MISSING and f.default_factory is MISSING
        )
        for f in dataclasses.fields(kind)
    }


def parse(kind: type[T], payload: Any) -> T:
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise InvalidPayload(f"payload must be a JSON object, got {type(payload).__name__}")
    fields = _fields(cast(Any, kind))
    if any(k not in fields for k in payload):
        unknown = sorted(str(k) for k in payload if k not in fields)
        raise InvalidPayload(f"unknown field(s): {', '.join(unknown)}", details={"fields": unknown})
    values: dict[str, Any] = {}
    for name, spec in fields.items():
        if name not in payload:
            if spec.required:
                raise InvalidPayload(f"missing field: {name}", details={"field": name})
            continue
        values[name] = _check(payload[name], spec.kind, name, spec.meta)
    return kind(**values)


def _check(value: Any, kind: Any, name: str, meta: typing.Mapping[str, Any]) -> Any:
    if kind is str:
        return _check_str(value, name, meta)
    if kind is int:
        return _check_int(value, name, meta)
    origin = typing.get_origin(kind)
    if origin in (types.UnionType, typing.Union):
        options = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        if value is None:
            return None
        return _check(value, options[0], name, meta)
    if origin is list:
        (item_kind,) = typing.get_args(kind)
        if not isinstance(value, list):
            raise InvalidPayload(f"{name} must be a list", details={"field": name})
        max_items = meta.get("max_items")
        if max_items is not None and len(value) > max_items:
            raise InvalidPayload(f"{name} has more than {max_items} items", details={"field": name})
        min_items = meta.get("min_items")
        if min_items is not None and len(value) < min_items:
            raise InvalidPayload(
                f"{name} needs at least {min_items} items", details={"field": name}
            )
        item_meta = {**meta, "max_items": None, "min_items": None}
        return [_check(item, item_kind, name, item_meta) for item in value]
    if origin is dict:
        if not isinstance(value, dict):
            raise InvalidPayload(f"{name} must be an object", details={"field": name})
        return value
    if isinstance(kind, type) and issubclass(kind, Enum):
        try:
            return kind(value)
        except ValueError:
            allowed = ", ".join(str(m.value) for m in kind)
            raise InvalidPayload(
                f"{name} must be one of: {allowed}", details={"field": name}
            ) from None
    if kind is bool:
        if not isinstance(value, bool):
            raise InvalidPayload(f"{name} must be true or false", details={"field": name})
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidPayload(f"{name} must be a number", details={"field": name})
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise InvalidPayload(f"{name} must be a finite number", details={"field": name})
        _range(number, name, meta)
        return number
    if kind is Any:
        return value
    raise TypeError(f"unsupported wire type {kind!r} for {name}")  # pragma: no cover


def _check_int(value: Any, name: str, meta: typing.Mapping[str, Any]) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidPayload(f"{name} must be an integer", details={"field": name})
    _range(value, name, meta)
    return value


def _check_str(value: Any, name: str, meta: typing.Mapping[str, Any]) -> str:
    if not isinstance(value, str):
        raise InvalidPayload(f"{name} must be a string", details={"field": name})
    max_len = meta.get("max_len", 1000)
    if len(value) > max_len:
        raise InvalidPayload(f"{name} is longer than {max_len} characters", details={"field": name})
    if meta.get("min_len") and trimmed_length(value) < meta["min_len"]:
        raise InvalidPayload(f"{name} must not be empty", details={"field": name})
    pattern = meta.get("pattern")
    if pattern and not _pattern(pattern).fullmatch(value):
        raise InvalidPayload(f"{name} has an invalid format", details={"field": name})
    return value


@cache
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _range(value: float, name: str, meta: typing.Mapping[str, Any]) -> None:
    low, high = meta.get("min"), meta.get("max")
    if low is not None and value < low:
        raise InvalidPayload(f"{name} must be at least {low}", details={"field": name})
    if high is not None and value > high:
        raise InvalidPayload(f"{name} must be at most {high}", details={"field": name})
