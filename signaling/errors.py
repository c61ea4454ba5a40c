"""One exception tree: every error carries a client-facing code, an HTTP status and a message."""

from __future__ import annotations

from typing import Any


class LiveAssistError(Exception):
    """Base of every error a client may see; `code` is stable and documented in docs/protocol.md."""

    code = "internal"
    status = 500

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def to_wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(code={self.code!r}, status={self.status}, message={self.message!r})"


class InvalidPayload(LiveAssistError):
    code = "invalid_payload"
    status = 400


class PayloadTooLarge(LiveAssistError):
    code = "payload_too_large"
    status = 413


class UnsupportedMediaType(LiveAssistError):
    code = "unsupported_media_type"
    status = 415


class Unauthenticated(LiveAssistError):
    code = "unauthenticated"
    status = 401


class TokenExpired(Unauthenticated):
    code = "token_expired"


class Forbidden(LiveAssistError):
    code = "forbidden"
    status = 403


class OriginNotAllowed(Forbidden):
    code = "origin_not_allowed"


class UrlNotAllowed(Forbidden):
    """A well-formed webhook URL this server will not send to (its configuration, SSRF)."""

    code = "url_not_allowed"


class HostNotAllowed(LiveAssistError):
    """The request named a Host that is not this server (a DNS-rebinding page, a stray proxy):
    421 Misdirected Request, whatever the route."""

    code = "host_not_allowed"
    status = 421


class NotFound(LiveAssistError):
    code = "not_found"
    status = 404


class Conflict(LiveAssistError):
    code = "conflict"
    status = 409


class Unprocessable(LiveAssistError):
    """Well-formed input that cannot be used as it is (a macro naming an unknown placeholder)."""

    code = "unprocessable"
    status = 422


class RateLimited(LiveAssistError):
    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, details={"retry_after": round(retry_after, 2)})
        self.retry_after = retry_after


class RangeNotSatisfiable(LiveAssistError):
    """A Range request beyond the end of a recording's file."""

    code = "range_not_satisfiable"
    status = 416


class Unavailable(LiveAssistError):
    """With several signaling processes: no process holds the primary role right now (one
    just stopped; another takes over within seconds). Retry."""

    code = "unavailable"
    status = 503


class UnknownEvent(LiveAssistError):
    code = "unknown_event"
    status = 400


class ConfigError(Exception):
    """Configuration that cannot be used; raised at start, before anything listens."""
