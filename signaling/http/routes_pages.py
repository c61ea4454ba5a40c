"""The pages (public HTML/JS; every piece of data they show comes from authenticated APIs).

Each page declares what it needs from the browser (`PagePolicy`), and its security headers
follow from that: a new page gets a strict policy without anyone remembering to add one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

import web as web_package
from signaling.http.headers import PagePolicy, page_headers

STATIC = Path(web_package.__file__).with_name("static")


@dataclass(frozen=True)
class Page:
    path: str
    file: str
    policy: PagePolicy


PAGES = (
    Page("/", "index.html", PagePolicy()),
    # the demo shop hosts the widget, which can turn a chat into a call with screen share
    Page("/demo", "demo.html", PagePolicy(media=True)),
    Page("/agent", "agent.html", PagePolicy(media=True)),
    # QA review plays recordings back: it captures nothing
    Page("/qa", "qa.html", PagePolicy()),
    # a help article on a page of its own (the links agents insert into replies)
    Page("/help", "help.html", PagePolicy()),
)


def install_pages(app: web.Application, allowed_origins: Iterable[str]) -> None:
    origins = tuple(allowed_origins)
    for page in PAGES:
        headers = {"Cache-Control": "no-cache", **page_headers(page.policy, origins)}
        app.router.add_get(page.path, _serve(STATIC / page.file, headers))
    # A script included by host pages: their own policies apply to it, not ours.
    app.router.add_get("/widget.js", _serve(STATIC / "widget.js", {"Cache-Control": "no-cache"}))
    app.router.add_static("/static/", STATIC, show_index=False, follow_symlinks=False)


def _serve(file: Path, headers: dict[str, str]) -> web.Handler:  # type: ignore[name-defined]
    async def serve(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(file, headers=headers)

    return serve
