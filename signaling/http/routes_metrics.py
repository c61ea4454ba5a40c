"""GET /metrics: Prometheus text of signaling and every relay worker (signaling/metrics.py)."""

from __future__ import annotations

import hmac
from typing import Any

from aiohttp import web

from signaling.errors import Forbidden, NotFound, Unauthenticated
from signaling.http import schemas
from signaling.http.api import ApiRequest, api, bearer_token
from signaling.metrics import CONTENT_TYPE, is_loopback


@api.route(
    "GET",
    "/metrics",
    summary="Counters and gauges in Prometheus text format (loopback clients, or "
    "Authorization: Bearer <metrics.token>)",
    roles=None,
    tag="health",
    response=schemas.STRING,
    response_media=("text/plain",),
    errors=(401, 404),
    any_host=True,
)
async def metrics(call: ApiRequest) -> Any:
    config = call.runtime.config.metrics
    if not config.enabled:
        raise NotFound("metrics are turned off (metrics.enabled)")
    token = bearer_token(call.request)
    if config.token and token is not None:
        if not hmac.compare_digest(token.encode(), config.token.encode()):
            raise Unauthenticated("wrong metrics token")
    elif not is_loopback(call.request.remote):
        if config.token:
            raise Unauthenticated("send Authorization: Bearer <metrics.token>")
        raise Forbidden("metrics are served to this machine only (or set metrics.token)")
    body = await call.runtime.metrics.render(call.runtime)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})
