"""Webhooks over REST, for admins: endpoints (URL, secret, event types, enabled) and their
deliveries, dead ones sent again on request. docs/protocol.md, Webhooks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from signaling.errors import NotFound
from signaling.http import schemas, services
from signaling.http.api import ID, ApiRequest, api
from signaling.store import webhooks as webhook_store
from signaling.types import DeliveryState, Role, WebhookEventType
from signaling.webhooks.addresses import URL_PATTERN
from signaling.webhooks.service import (
    MIN_SECRET,
    EndpointChanges,
    delivery_view,
    endpoint_view,
)
from signaling.wire import limit

ADMIN = (Role.ADMIN,)
# The pattern is checked by the service (with a message saying what is wrong), not by the
# parser's generic "invalid format"; the document shows it all the same.
URL = limit(max_len=2000, schema={"pattern": f"^(?:{URL_PATTERN})$"})
DESCRIPTION = limit(max_len=200)
# Checked by the service (at least 16 characters, said plainly); the document says the same.
SECRET = limit(max_len=200, schema={"minLength": MIN_SECRET})
TYPES = {"max_items": len(WebhookEventType), "min_items": 1}


@dataclass(frozen=True)
class EndpointCreate:
    url: str = field(metadata=URL)
    event_types: list[WebhookEventType] = field(metadata=TYPES)
    enabled: bool = True
    description: str = field(default="", metadata=DESCRIPTION)
    # At least 16 characters; left out: one is made (answered once, with the endpoint).
    secret: str | None = field(default=None, metadata=SECRET)


@dataclass(frozen=True)
class EndpointUpdate:
    url: str | None = field(default=None, metadata=URL)
    event_types: list[WebhookEventType] | None = field(default=None, metadata=TYPES)
    enabled: bool | None = None
    description: str | None = field(default=None, metadata=DESCRIPTION)
    secret: str | None = field(default=None, metadata=SECRET)


@dataclass(frozen=True)
class DeliveryQuery:
    state: DeliveryState | None = None
    endpoint_id: int | None = field(default=None, metadata=ID)
    page: int = field(default=1, metadata=limit(min=1, max=100_000))
    per_page: int = field(default=50, metadata=limit(min=1, max=200))


async def _views(call: ApiRequest) -> list[dict[str, Any]]:
    async with call.runtime.db.read() as conn:
        rows = await webhook_store.list_endpoints(conn, call.me.org_id)
        counts = await webhook_store.delivery_counts(conn, call.me.org_id)
    return [endpoint_view(row, counts.get(row["id"])) for row in rows]


@api.route(
    "GET",
    "/api/webhooks/deliveries",
    summary="Webhook deliveries, newest first (state=dead: the dead letters)",
    roles=ADMIN,
    query=DeliveryQuery,
    tag="webhooks",
    response=schemas.page("WebhookDelivery"),
)
async def list_deliveries(call: ApiRequest) -> dict[str, Any]:
    q: DeliveryQuery = call.query
    async with call.runtime.db.read() as conn:
        rows, total = await webhook_store.list_deliveries(
            conn,
            call.me.org_id,
            state=q.state.value if q.state else None,
            endpoint_id=q.endpoint_id,
            limit=q.per_page,
            offset=(q.page - 1) * q.per_page,
        )
    return {
        "items": [delivery_view(row) for row in rows],
        "page": q.page,
        "per_page": q.per_page,
        "total": total,
    }


@api.route(
    "POST",
    "/api/webhooks/deliveries/{delivery_id}/redeliver",
    summary="Send a dead delivery again (same event id and body), retried as a new one",
    roles=ADMIN,
    tag="webhooks",
    response=schemas.ref("WebhookDelivery"),
    errors=(409,),
)
async def redeliver(call: ApiRequest) -> dict[str, Any]:
    service = services.webhooks(call.runtime)
    return delivery_view(await service.redeliver(call.actor, call.path_id("delivery_id")))


@api.route(
    "GET",
    "/api/webhooks",
    summary="The organisation's webhook endpoints (secrets shown by their last 4 characters)",
    roles=ADMIN,
    tag="webhooks",
    response=schemas.WEBHOOK_LIST,
)
async def list_endpoints(call: ApiRequest) -> dict[str, Any]:
    return {
        "items": await _views(call),
        "event_types": [kind.value for kind in WebhookEventType],
        "hosts_allowed": call.runtime.webhook_policy.any_allowed,
    }


@api.route(
    "POST",
    "/api/webhooks",
    summary="Add a webhook endpoint; the answer carries its secret, this once",
    roles=ADMIN,
    body=EndpointCreate,
    tag="webhooks",
    status=201,
    response=schemas.WEBHOOK_CREATED,
)
async def create_endpoint(call: ApiRequest) -> dict[str, Any]:
    req: EndpointCreate = call.body
    row, secret = await services.webhooks(call.runtime).create(
        call.actor,
        url=req.url,
        event_types=req.event_types,
        enabled=req.enabled,
        description=req.description,
        secret=req.secret,
    )
    return {**endpoint_view(row), "secret": secret}


@api.route(
    "GET",
    "/api/webhooks/{endpoint_id}",
    summary="One webhook endpoint",
    roles=ADMIN,
    tag="webhooks",
    response=schemas.ref("WebhookEndpoint"),
)
async def get_endpoint(call: ApiRequest) -> dict[str, Any]:
    endpoint_id = call.path_id("endpoint_id")
    for view in await _views(call):
        if view["id"] == endpoint_id:
            return view
    raise NotFound(f"no webhook endpoint {endpoint_id}")


@api.route(
    "PATCH",
    "/api/webhooks/{endpoint_id}",
    summary="Change a webhook endpoint (a new secret is not answered back)",
    roles=ADMIN,
    body=EndpointUpdate,
    tag="webhooks",
    response=schemas.ref("WebhookEndpoint"),
)
async def update_endpoint(call: ApiRequest) -> dict[str, Any]:
    req: EndpointUpdate = call.body
    endpoint_id = call.path_id("endpoint_id")
    await services.webhooks(call.runtime).update(
        call.actor,
        endpoint_id,
        EndpointChanges(
            url=req.url,
            event_types=req.event_types,
            enabled=req.enabled,
            description=req.description,
            secret=req.secret,
        ),
    )
    found: dict[str, Any] = await get_endpoint(call)
    return found


@api.route(
    "DELETE",
    "/api/webhooks/{endpoint_id}",
    summary="Delete a webhook endpoint and its deliveries (pending ones are not sent)",
    roles=ADMIN,
    tag="webhooks",
    response=schemas.WEBHOOK_DELETED,
)
async def delete_endpoint(call: ApiRequest) -> dict[str, Any]:
    service = services.webhooks(call.runtime)
    dropped = await service.delete(call.actor, call.path_id("endpoint_id"))
    return {"deleted": True, "deliveries": dropped}
