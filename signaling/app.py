"""The aiohttp application: Socket.IO, REST, pages, and the start/stop of the runtime."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from time import monotonic

from aiohttp import web

from signaling.db.migrate import upgrade

# Importing the route modules registers their endpoints on `api`.
from signaling.http import (  # noqa: F401
    openapi,
    routes_admin,
    routes_attachments,
    routes_auth,
    routes_calls,
    routes_chats,
    routes_customers,
    routes_health,
    routes_kb,
    routes_kpis,
    routes_media,
    routes_metrics,
    routes_recordings,
    routes_review_comments,
    routes_reviews,
    routes_rubrics,
    routes_tickets,
    routes_webhooks,
    routes_widget,
)
from signaling.http.api import api
from signaling.http.headers import add_common_headers
from signaling.http.hosts import HostPolicy
from signaling.http.middleware import error_middleware, host_middleware, origin_middleware
from signaling.http.routes_pages import install_pages
from signaling.runtime import Runtime
from signaling.seed import seed_demo
from signaling.shutdown import close_connections

log = logging.getLogger(__name__)
RUNTIME = web.AppKey("runtime", Runtime)
MAX_UPLOAD_BYTES = 60 * 1024 * 1024


DemoAccounts = list[tuple[str, str, str]]


def create_app(
    runtime: Runtime,
    *,
    migrate: bool = True,
    demo: bool = False,
    on_started: Callable[[DemoAccounts | None], None] | None = None,
) -> web.Application:
    """`demo`: create the demo organisation and accounts if the database has no users;
    `on_started` is told which were created (None when none were)."""
    app = web.Application(
        middlewares=[
            error_middleware(),
            host_middleware(
                HostPolicy(runtime.config.server),
                frozenset(ep.path for ep in api.endpoints if ep.any_host),
            ),
            origin_middleware(runtime.origins),
        ],
        client_max_size=MAX_UPLOAD_BYTES,
    )
    app[RUNTIME] = runtime
    app.on_response_prepare.append(add_common_headers)
    runtime.sio.attach(app)
    api.install(app, runtime)
    install_pages(app, runtime.config.server.allowed_origins)

    async def start(app: web.Application) -> None:
        if migrate:
            await upgrade(runtime.db)
        created = None
        if demo:
            created = await seed_demo(runtime.db, runtime.passwords, runtime.config.data_path)
        if runtime.cluster is None:
            await runtime.become_primary()
        else:
            runtime.cluster.when_primary(runtime.become_primary)
            await runtime.cluster.start()
        runtime.metrics.start()
        runtime.webhooks.start()
        if runtime.config.relay.preload:
            runtime.relay.start_soon()
        runtime.drain.install()
        if on_started is not None:
            on_started(created)

    async def closing(app: web.Application) -> None:
        await close_connections(runtime)

    async def stop(app: web.Application) -> None:
        began = monotonic()
        runtime.calls.close()
        with contextlib.suppress(Exception):
            await runtime.relay.stop()
        relay = monotonic() - began
        await runtime.bot.stop()
        await runtime.media_jobs.stop()
        await runtime.retention.stop()
        await runtime.webhooks.stop()
        await runtime.metrics.stop()
        await runtime.context.close()
        if runtime.cluster is not None:
            await runtime.cluster.stop()
        await runtime.limits.close()
        await runtime.calls.shared.close()
        await runtime.db.close()
        log.info("stopped: relay in %.2f s, all in %.2f s", relay, monotonic() - began)

    app.on_startup.append(start)
    app.on_shutdown.append(closing)
    app.on_cleanup.append(stop)
    return app
