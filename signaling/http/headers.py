"""Security headers: those every response carries (errors included, whoever produced them),
and each page's Content-Security-Policy, framing and Permissions-Policy from what the page
declares it needs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import web

# JSON and files from the API are never documents to render, frame or run scripts in.
API_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"
MEDIA_FEATURES = ("camera", "microphone", "display-capture")


@dataclass(frozen=True)
class PagePolicy:
    """What one page needs from the browser."""

    media: bool = False  # camera, microphone and screen capture (the call pages)
    embeddable: bool = False  # may be framed by the host sites of server.allowed_origins


def page_headers(policy: PagePolicy, allowed_origins: Iterable[str]) -> dict[str, str]:
    """Scripts, styles and connections from this server only (the pages have no inline
    script or style), blob: for attachments shown inline, framing by ourselves only unless the
    page is embeddable, and devices only where a call can happen."""
    ancestors = ["'self'", *(allowed_origins if policy.embeddable else ())]
    csp = "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            "media-src 'self' blob:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {' '.join(ancestors)}",
        ]
    )
    allow = "(self)" if policy.media else "()"
    headers = {
        "Content-Security-Policy": csp,
        "Permissions-Policy": ", ".join(f"{feature}={allow}" for feature in MEDIA_FEATURES),
    }
    if not policy.embeddable:
        headers["X-Frame-Options"] = "SAMEORIGIN"  # for browsers without frame-ancestors
    return headers


def is_api(path: str) -> bool:
    return path.startswith("/api/") or path == "/healthz"


async def add_common_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: runs for every response the application sends, including those
    the error middleware, the router (404, 405) and Engine.IO build."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.status >= 400 or is_api(request.path):
        response.headers["Cache-Control"] = "no-store"
        response.headers.setdefault("Content-Security-Policy", API_CSP)
