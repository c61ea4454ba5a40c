"""Which browser origins may talk to us: our own, plus the configured host sites."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class OriginPolicy:
    def __init__(self, allowed: Iterable[str]) -> None:
        self._allowed = frozenset(origin.rstrip("/") for origin in allowed)

    def allows(self, origin: str | None, own_origin: str) -> bool:
        """No Origin header means not a browser cross-site request; tokens still apply."""
        return origin is None or origin == own_origin or origin in self._allowed

    def for_socketio(self, origin: str | None, environ: dict[str, Any]) -> bool:
        scheme = environ.get("wsgi.url_scheme", "http")
        own = f"{scheme}://{environ.get('HTTP_HOST', '')}"
        return self.allows(origin, own)
