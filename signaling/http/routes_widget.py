"""The widget's HTTP side: what a host page may offer, and opening a chat as a guest."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from signaling.chat.guest import GuestSessionRequest, HostIdentity
from signaling.http import schemas
from signaling.http.api import ApiRequest, api
from signaling.types import ChatId, CustomerId, OrgId, Presence, Role
from signaling.wire import limit, parse


@dataclass(frozen=True)
class WidgetConfigQuery:
    org: str = field(metadata=limit(max_len=64, min_len=1))


@api.route(
    "GET",
    "/api/widget/config",
    summary="Topics and availability for an organisation's widget",
    roles=None,
    query=WidgetConfigQuery,
    tag="widget",
    response=schemas.WIDGET_CONFIG,
    errors=(404,),
)
async def widget_config(call: ApiRequest) -> dict[str, Any]:
    org, topics = await call.runtime.guests.topics(call.query.org)
    agents = await call.runtime.live_agents(org["id"])
    online = [a for a in agents.values() if a["status"] == Presence.ONLINE.value]
    return {
        "org": {"slug": org["slug"], "name": org["name"]},
        "topics": topics,
        "languages": sorted({lang for a in online for lang in a["languages"]}) or ["en"],
        "agents_online": len(online),
    }


@api.route(
    "POST",
    "/api/widget/session",
    summary="Open a chat as a guest (or a host-identified customer)",
    roles=None,
    body=GuestSessionRequest,
    tag="widget",
    status=201,
    response=schemas.GUEST_SESSION,
    errors=(401, 404, 429),
)
async def open_session(call: ApiRequest) -> dict[str, Any]:
    await call.runtime.limits.guest_sessions_per_ip.hit(call.ip)
    req: GuestSessionRequest = call.body
    identity = parse(HostIdentity, req.identity) if req.identity is not None else None
    return await call.runtime.guests.open(req, identity, call.ip)


@api.route(
    "POST",
    "/api/widget/refresh",
    summary="Renew a guest token for the same chat",
    roles=(Role.CUSTOMER,),
    tag="widget",
    response=schemas.GUEST_TOKEN,
)
async def refresh_guest(call: ApiRequest) -> dict[str, Any]:
    me = call.me
    token, expires = call.runtime.signer.issue_guest(
        customer_id=CustomerId(me.subject_id),
        org_id=OrgId(me.org_id),
        chat_id=ChatId(me.chat_id or 0),
        ttl=call.runtime.config.auth.guest_token_ttl_seconds,
    )
    return {"token": token, "expires_at": expires}
