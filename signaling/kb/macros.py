"""Canned replies' placeholders: which exist, and filling them from a chat.

A placeholder is a name in braces; `{{` and `}}` are literal braces. The names are what a chat
really has: the customer's name, the agent's (the one inserting it), the ticket's number and
the chat's topic. A macro naming anything else is refused when it is saved, not when an agent
is halfway through a reply."""

from __future__ import annotations

import re
from collections.abc import Mapping

from signaling.errors import Unprocessable

PLACEHOLDERS = ("customer_name", "agent_name", "ticket_id", "topic")
_FIELD = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


def placeholders_in(body: str) -> list[str]:
    return [m.group(1) for m in _FIELD.finditer(body) if m.group(1) is not None]


def check_placeholders(body: str) -> None:
    unknown = sorted({name for name in placeholders_in(body) if name not in PLACEHOLDERS})
    if unknown:
        names = ", ".join("{" + name + "}" for name in unknown)
        known = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
        raise Unprocessable(
            f"unknown placeholder {names}; use {known} (write {{{{ and }}}} for braces)",
            details={"field": "body"},
        )


def fill(body: str, values: Mapping[str, str]) -> str:
    """The body with each placeholder replaced (an unknown one is kept as written)."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return match.group(0)[0]
        return values.get(name, match.group(0))

    return _FIELD.sub(one, body)
