"""Every HTTP answer: errors as JSON with a code, foreign hosts and origins refused."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web

from signaling.errors import HostNotAllowed, LiveAssistError, OriginNotAllowed
from signaling.http.api import json_response
from signaling.http.hosts import HostPolicy
from signaling.http.origins import OriginPolicy

log = logging.getLogger(__name__)
HandlerFn = Callable[[web.Request], Awaitable[web.StreamResponse]]

CORS_HEADERS = "Authorization, Content-Type"
CORS_METHODS = "GET, POST, PATCH, OPTIONS"


def error_middleware() -> web.middleware:  # type: ignore[valid-type]
    @web.middleware
    async def handle(request: web.Request, handler: HandlerFn) -> web.StreamResponse:
        try:
            return await handler(request)
        except LiveAssistError as exc:
            response = json_response({"error": exc.to_wire()}, status=exc.status)
            retry = exc.details.get("retry_after")
            if retry is not None:
                response.headers["Retry-After"] = str(max(1, round(retry)))
            return response
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
                exc.status, "http_error"
            )
            return json_response(
                {"error": {"code": code, "message": exc.reason}}, status=exc.status
            )
        except Exception:
            log.exception("%s %s failed", request.method, request.path)
            return json_response(
                {"error": {"code": "internal", "message": "internal error; it was logged"}},
                status=500,
            )

    return handle


def host_middleware(policy: HostPolicy, any_host_paths: frozenset[str]) -> web.middleware:  # type: ignore[valid-type]
    """Requests naming another Host (DNS rebinding) are refused before any route runs, except
    on routes declared `any_host` (the health probe: probes address a process by its IP, and
    it shows nothing private)."""

    @web.middleware
    async def handle(request: web.Request, handler: HandlerFn) -> web.StreamResponse:
        host = request.headers.get(hdrs.HOST)
        default_port = 443 if request.scheme == "https" else 80
        if request.path not in any_host_paths and not policy.allows(host, default_port):
            raise HostNotAllowed(
                f"this server does not answer for Host {host!r}; "
                "add it to server.allowed_hosts if a proxy uses that name"
            )
        return await handler(request)

    return handle


def origin_middleware(policy: OriginPolicy) -> web.middleware:  # type: ignore[valid-type]
    """Browsers from origins we do not know get nothing; known ones get CORS headers."""

    @web.middleware
    async def handle(request: web.Request, handler: HandlerFn) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if request.path.startswith("/socket.io/"):
            return await handler(request)  # Engine.IO applies the same policy itself
        own = f"{request.scheme}://{request.host}"
        if not policy.allows(origin, own):
            raise OriginNotAllowed(
                f"origin {origin} is not allowed; add it to server.allowed_origins"
            )
        if request.method == "OPTIONS" and origin:
            response: web.StreamResponse = web.Response(status=204)
        else:
            response = await handler(request)
        if origin and origin != own:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
            response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
            response.headers["Vary"] = "Origin"
        return response

    return handle
