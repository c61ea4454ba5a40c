"""What admins do with webhooks: add, change and delete endpoints, send a dead delivery
again. Every change is checked against the address policy and written to the audit log in
its own transaction; a secret is shown once, when it is set, and only its last four
characters after that."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from signaling import jsonutil
from signaling.auth.actor import Actor
from signaling.db.database import Database
from signaling.errors import Conflict, InvalidPayload, NotFound
from signaling.store import Record
from signaling.store import webhooks as store
from signaling.types import DeliveryState, WebhookEventType
from signaling.webhooks.addresses import AddressPolicy

SECRET_PREFIX = "whsec_"
MIN_SECRET = 16


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def endpoint_view(row: Record, counts: dict[str, int] | None = None) -> dict[str, Any]:
    counts = counts or {}
    return {
        "id": row["id"],
        "url": row["url"],
        "description": row["description"],
        "event_types": list(row["event_types"]),
        "enabled": row["enabled"],
        "secret_hint": "…" + row["secret"][-4:],
        "pending": counts.get("pending", 0),
        "dead": counts.get("dead", 0),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def delivery_view(row: Record) -> dict[str, Any]:
    keys = (
        "id", "endpoint_id", "event_id", "event_type", "state", "attempts", "next_attempt_at",
        "last_status", "last_error", "last_attempt_at", "delivered_at", "created_at",
    )  # fmt: skip
    view = {key: row[key] for key in keys}
    view["event"] = jsonutil.loads(row["body"])
    return view


@dataclass(frozen=True)
class EndpointChanges:
    url: str | None = None
    event_types: Sequence[WebhookEventType] | None = None
    enabled: bool | None = None
    description: str | None = None
    secret: str | None = None


class WebhookService:
    def __init__(self, db: Database, policy: AddressPolicy, wake: Callable[[], None]) -> None:
        self._db = db
        self._policy = policy
        self._wake = wake

    async def _checked_url(self, url: str) -> str:
        parsed = self._policy.check_url(url)
        await self._policy.check_resolved(parsed)
        return str(parsed)

    @staticmethod
    def _checked_secret(secret: str) -> str:
        if len(secret) < MIN_SECRET:
            raise InvalidPayload(
                f"the secret must be at least {MIN_SECRET} characters (or leave it out and one "
                "is made for you)",
                details={"field": "secret"},
            )
        return secret

    @staticmethod
    def _types(kinds: Sequence[WebhookEventType]) -> list[str]:
        if not kinds:
            raise InvalidPayload("choose at least one event type", details={"field": "event_types"})
        return sorted({kind.value for kind in kinds})

    async def create(
        self,
        actor: Actor,
        *,
        url: str,
        event_types: Sequence[WebhookEventType],
        enabled: bool = True,
        description: str = "",
        secret: str | None = None,
    ) -> tuple[Record, str]:
        """The new endpoint and its secret (the only time the secret is given back)."""
        checked = await self._checked_url(url)
        kinds = self._types(event_types)
        key = self._checked_secret(secret) if secret is not None else new_secret()
        me = actor.principal
        async with self._db.write() as conn:
            row = await store.create_endpoint(
                conn,
                org_id=me.org_id,
                url=checked,
                secret=key,
                event_types=kinds,
                enabled=enabled,
                description=description.strip(),
                created_by=me.subject_id,
            )
            await actor.audit(
                conn,
                "webhook.create",
                target_type="webhook",
                target_id=row["id"],
                detail={"url": checked, "event_types": kinds, "enabled": enabled},
            )
        return row, key

    async def _own(self, actor: Actor, conn: AsyncConnection, endpoint_id: int) -> Record:
        row = await store.endpoint_by_id(conn, endpoint_id)
        if row is None or row["org_id"] != actor.principal.org_id:
            raise NotFound(f"no webhook endpoint {endpoint_id}")
        return row

    async def update(self, actor: Actor, endpoint_id: int, req: EndpointChanges) -> Record:
        changes: dict[str, Any] = {}
        if req.url is not None:
            changes["url"] = await self._checked_url(req.url)
        if req.event_types is not None:
            changes["event_types"] = self._types(req.event_types)
        if req.enabled is not None:
            changes["enabled"] = req.enabled
        if req.description is not None:
            changes["description"] = req.description.strip()
        if req.secret is not None:
            changes["secret"] = self._checked_secret(req.secret)
        async with self._db.write() as conn:
            before = await self._own(actor, conn, endpoint_id)
            real = {k: v for k, v in changes.items() if before[k] != v}
            if not real:
                return before
            row = await store.update_endpoint(conn, endpoint_id, real)
            detail: dict[str, Any] = {"fields": sorted(real)}
            detail.update({k: v for k, v in real.items() if k != "secret"})
            await actor.audit(
                conn, "webhook.update", target_type="webhook", target_id=endpoint_id, detail=detail
            )
        if real.get("enabled"):
            self._wake()  # its held deliveries go out now
        return row

    async def delete(self, actor: Actor, endpoint_id: int) -> int:
        """Delete an endpoint with its deliveries (pending ones are not sent); how many."""
        async with self._db.write() as conn:
            row = await self._own(actor, conn, endpoint_id)
            dropped = await store.delete_endpoint(conn, endpoint_id)
            await actor.audit(
                conn,
                "webhook.delete",
                target_type="webhook",
                target_id=endpoint_id,
                detail={"url": row["url"], "deliveries": dropped},
            )
        return dropped

    async def redeliver(self, actor: Actor, delivery_id: int) -> Record:
        """A dead delivery goes back in line at once (same event id, same body)."""
        async with self._db.write() as conn:
            row = await store.delivery_by_id(conn, delivery_id)
            if row is None or row["org_id"] != actor.principal.org_id:
                raise NotFound(f"no webhook delivery {delivery_id}")
            if row["state"] != DeliveryState.DEAD.value:
                raise Conflict(
                    f"delivery {delivery_id} is {row['state']}; only dead deliveries are sent again"
                )
            again = await store.redeliver(conn, delivery_id)
            await actor.audit(
                conn,
                "webhook.redeliver",
                target_type="webhook_delivery",
                target_id=delivery_id,
                detail={"endpoint_id": row["endpoint_id"], "event_id": row["event_id"]},
            )
        self._wake()
        return again
