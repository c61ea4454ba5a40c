"""JSON as spoken on the wire: UTC timestamps as ISO 8601 with 'Z', enums as their values.

Both directions are strict, because Python's json module is not: it reads and writes NaN and
Infinity (not JSON; a stored NaN made every later answer about that record invalid JSON) and
reads `"\\ud800"` into a lone surrogate that cannot be encoded as UTF-8 again (an answer that
echoed it failed). `loads` refuses both with a ValueError that says which; `dumps` refuses
non-finite numbers instead of writing them.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from enum import Enum
from typing import Any

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
"""Only an escape can put a surrogate into a decoded string (raw text is valid Unicode)."""
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


class NotJson(ValueError):
    """Text that is not strict JSON; the message says what to fix."""


def wire_time(value: datetime) -> str:
    """A timestamp as the wire writes it: ISO 8601 in UTC with 'Z'."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return wire_time(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_COMPACT = {"separators": (",", ":")}
_ENCODER = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_default
)
"""The wire's encoder, made once: every Socket.IO packet is encoded with exactly these
options, and building a JSONEncoder per call was half the cost of a small packet's JSON."""


def dumps(value: Any, **kwargs: Any) -> str:
    if not kwargs or kwargs == _COMPACT:
        return _ENCODER.encode(value)
    kwargs.setdefault("separators", (",", ":"))
    kwargs.setdefault("ensure_ascii", False)
    kwargs["allow_nan"] = False
    return json.dumps(value, default=_default, **kwargs)


def _refuse_constant(name: str) -> Any:
    raise NotJson(f"{name} is not a JSON number; send finite numbers only")


def _finite_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise NotJson(f"{text[:20]} is too large for a JSON number here")
    return number


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)
"""Made once, like _ENCODER: json.loads builds a decoder per call when given options."""


def loads(text: str | bytes, **kwargs: Any) -> Any:
    if isinstance(text, bytes | bytearray):
        try:
            text = text.decode()
        except UnicodeDecodeError:
            raise NotJson("the JSON text is not valid UTF-8") from None
    if kwargs:
        kwargs.setdefault("parse_constant", _refuse_constant)
        kwargs.setdefault("parse_float", _finite_float)
        value = json.loads(text, **kwargs)
    elif text.startswith("\ufeff"):  # as json.loads says it
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    else:
        value = _DECODER.decode(text)
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):
        raise NotJson("a string holds a lone UTF-16 surrogate (\\ud800-\\udfff)")
    return value


def _has_lone_surrogate(value: Any) -> bool:
    """Escaped pairs decode to one character; what is left over is a lone surrogate."""
    if isinstance(value, str):
        return _LONE_SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(item) for item in value)
    return False
