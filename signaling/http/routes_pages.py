"""The pages (public HTML/JS; every piece of data they show comes from authenticated APIs)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

import web as web_package

STATIC = Path(web_package.__file__).with_name("static")
PAGES = {
    "/": "index.html",
    "/demo": "demo.html",
    "/agent": "agent.html",
}


def install_pages(app: web.Application) -> None:
    for path, filename in PAGES.items():
        app.router.add_get(path, _page(STATIC / filename))
    app.router.add_get("/widget.js", _page(STATIC / "widget.js"))
    app.router.add_static("/static/", STATIC, show_index=False, follow_symlinks=False)


def _page(file: Path) -> web.Handler:  # type: ignore[name-defined]
    async def serve(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(file, headers={"Cache-Control": "no-cache"})

    return serve
