"""Customers over REST, and the context panel (CRM hook or LiveAssist's own history)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from signaling.auth import access
from signaling.calls.views import call_view
from signaling.http import schemas, services
from signaling.http.api import ApiRequest, api
from signaling.http.paging import paged
from signaling.store import calls as call_store
from signaling.store import chats as chat_store
from signaling.store import customers as customer_store
from signaling.store import tickets as ticket_store
from signaling.transcript.views import chat_view
from signaling.types import EMAIL_PATTERN, Role
from signaling.wire import limit

STAFF = (Role.AGENT, Role.QA, Role.ADMIN)
HISTORY_ITEMS = 20  # of each kind in the context panel, newest first


@dataclass(frozen=True)
class CustomerListQuery:
    q: str | None = field(default=None, metadata=limit(max_len=200))
    vip: bool | None = None
    page: int = field(default=1, metadata=limit(min=1, max=100_000))
    per_page: int = field(default=50, metadata=limit(min=1, max=200))


@dataclass(frozen=True)
class CustomerUpdate:
    name: str | None = field(default=None, metadata=limit(max_len=200))
    email: str | None = field(default=None, metadata=limit(max_len=254, pattern=EMAIL_PATTERN))
    vip: bool | None = None
    attributes: dict[str, Any] | None = None


@api.route(
    "GET",
    "/api/customers",
    summary="Search customers",
    roles=STAFF,
    query=CustomerListQuery,
    tag="customers",
    response=schemas.page("Customer"),
)
async def list_customers(call: ApiRequest) -> dict[str, Any]:
    q: CustomerListQuery = call.query
    async with call.runtime.db.read() as conn:
        rows, total = await customer_store.list_customers(
            conn,
            call.me.org_id,
            q=q.q,
            vip=q.vip,
            limit=q.per_page,
            offset=(q.page - 1) * q.per_page,
        )
    return paged(rows, total, q.page, q.per_page)


@api.route(
    "GET",
    "/api/customers/{customer_id}",
    summary="One customer",
    roles=STAFF,
    tag="customers",
    response=schemas.ref("Customer"),
)
async def get_customer(call: ApiRequest) -> dict[str, Any]:
    async with call.runtime.db.read() as conn:
        customer = await customer_store.customer_by_id(conn, call.path_id("customer_id"))
    return access.check_view_customer(call.me, customer)


@api.route(
    "PATCH",
    "/api/customers/{customer_id}",
    summary="Change a customer's details or VIP flag",
    roles=(Role.AGENT, Role.ADMIN),
    body=CustomerUpdate,
    tag="customers",
    response=schemas.ref("Customer"),
)
async def update_customer(call: ApiRequest) -> dict[str, Any]:
    req: CustomerUpdate = call.body
    changes = {
        k: getattr(req, k)
        for k in ("name", "email", "vip", "attributes")
        if getattr(req, k) is not None
    }
    customers = services.customers(call.runtime)
    return await customers.update(call.actor, call.path_id("customer_id"), changes)


@api.route(
    "GET",
    "/api/customers/{customer_id}/context",
    summary="Side-panel context: CRM data from the hook (if configured) and LiveAssist history",
    roles=STAFF,
    tag="customers",
    response=schemas.CONTEXT,
)
async def customer_context(call: ApiRequest) -> dict[str, Any]:
    rt = call.runtime
    async with rt.db.read() as conn:
        customer = access.check_view_customer(
            call.me, await customer_store.customer_by_id(conn, call.path_id("customer_id"))
        )
        groups = await rt.chats.group_ids(conn, call.me)
        scope = access.list_scope(call.me, groups)
        mine = {"customer_id": customer["id"]}
        chat_rows, _ = await chat_store.list_chats(
            conn,
            scope.org_id,
            visible_to_groups=scope.group_ids,
            visible_to_user=scope.user_id,
            filters=mine,
            limit=HISTORY_ITEMS,
            offset=0,
        )
        ticket_rows, _ = await ticket_store.list_tickets(
            conn,
            scope.org_id,
            visible_to_groups=scope.group_ids,
            visible_to_user=scope.user_id,
            filters=mine,
            limit=HISTORY_ITEMS,
            offset=0,
        )
        call_rows, _ = await call_store.list_calls(
            conn, scope.org_id, agent_id=scope.user_id, filters=mine, limit=HISTORY_ITEMS, offset=0
        )
        # The rules themselves once more, so the panel can never show more than the routes.
        chats = [
            await chat_view(conn, c, rt.names)
            for c in chat_rows
            if access.can_view_chat(call.me, c, groups)
        ]
        tickets = [t for t in ticket_rows if access.can_view_ticket(call.me, t, groups)]
        calls = [
            call_view(c, rt.calls.live.get(c["id"]))
            for c in call_rows
            if access.can_view_call(call.me, c)
        ]
    external = await rt.context.fetch(customer)
    return {
        "customer": customer,
        "external": external,
        "history": {"chats": chats, "tickets": tickets, "calls": calls},
    }
