"""Opening a chat from the widget: find or create the customer, open a ticket and a chat,
and hand back a guest token bound to that one chat."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from signaling.auth.identity import verify_identity
from signaling.auth.tokens import TokenSigner
from signaling.chat.subjects import ticket_subject
from signaling.db.database import Database
from signaling.errors import InvalidPayload, NotFound, TokenExpired, Unauthenticated
from signaling.store import customers as customer_store
from signaling.store import orgs as org_store
from signaling.store.audit import audit
from signaling.store.chats import create_chat
from signaling.store.tickets import create_ticket
from signaling.transcript.views import NameBook, chat_view
from signaling.types import EMAIL_PATTERN, ChatId, CustomerId, OrgId, Role, TicketPriority
from signaling.webhooks import outbox
from signaling.wire import limit

LANGUAGE = limit(max_len=16, pattern=r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?")


@dataclass(frozen=True)
class HostIdentity:
    external_id: str = field(metadata=limit(max_len=128, min_len=1))
    signature: str = field(metadata=limit(max_len=128, pattern=r"[0-9a-fA-F]{64}"))


@dataclass(frozen=True)
class GuestSessionRequest:
    org: str = field(metadata=limit(max_len=64, min_len=1))
    name: str | None = field(default=None, metadata=limit(max_len=200))
    email: str | None = field(default=None, metadata=limit(max_len=254, pattern=EMAIL_PATTERN))
    topic: str = field(default="general", metadata=limit(max_len=64, min_len=1))
    language: str = field(default="en", metadata=LANGUAGE)
    # {"external_id", "signature"}: parsed as HostIdentity (named here for the API document)
    identity: dict[str, Any] | None = field(default=None, metadata={"shape": HostIdentity})
    previous_token: str | None = field(default=None, metadata=limit(max_len=4096))


class GuestSessions:
    def __init__(self, db: Database, signer: TokenSigner, names: NameBook, ttl: int) -> None:
        self._db = db
        self._signer = signer
        self._names = names
        self._ttl = ttl

    async def topics(self, org_slug: str) -> tuple[dict[str, Any], list[str]]:
        async with self._db.read() as conn:
            org = await org_store.org_by_slug(conn, org_slug)
            if org is None:
                raise NotFound(f"no organisation {org_slug!r}")
            groups = await org_store.list_groups(conn, org["id"])
        topics = ["general", *sorted({g["topic"] for g in groups if g["topic"]})]
        return org, topics

    async def open(
        self, req: GuestSessionRequest, identity: HostIdentity | None, ip: str | None
    ) -> dict[str, Any]:
        org, topics = await self.topics(req.org)
        if req.topic not in topics:
            raise InvalidPayload(
                f"unknown topic {req.topic!r}; choose one of: {', '.join(topics)}",
                details={"field": "topic"},
            )
        previous_customer = self._previous_customer(req.previous_token, org["id"])
        if identity is not None:
            verify_identity(org["identity_secret"], identity.external_id, identity.signature)
        async with self._db.write() as conn:
            customer = None
            if identity is not None:
                customer = await customer_store.customer_by_external_id(
                    conn, org["id"], identity.external_id
                )
            elif previous_customer is not None:
                customer = await customer_store.customer_by_id(conn, previous_customer)
            if customer is None:
                customer = await customer_store.create_customer(
                    conn,
                    org_id=org["id"],
                    external_id=identity.external_id if identity else None,
                    name=req.name,
                    email=req.email,
                )
            else:
                changes = {
                    k: v
                    for k, v in (("name", req.name), ("email", req.email))
                    if v and customer[k] != v
                }
                if changes:
                    await customer_store.update_customer(conn, customer["id"], changes)
                    customer = {**customer, **changes}
            self._names.remember_customer(customer["id"], customer["name"])
            group = await org_store.group_for_topic(conn, org["id"], req.topic)
            priority = TicketPriority.HIGH if customer["vip"] else TicketPriority.NORMAL
            subject = ticket_subject(
                req.language,
                req.topic,
                name=customer["name"],
                email=customer["email"],
                customer_id=customer["id"],
            )
            ticket = await create_ticket(
                conn,
                org_id=org["id"],
                customer_id=customer["id"],
                subject=subject,
                priority=priority,
                group_id=group["id"] if group else None,
                actor_type="customer",
                actor_id=customer["id"],
            )
            chat = await create_chat(
                conn,
                org_id=org["id"],
                customer_id=customer["id"],
                ticket_id=ticket["id"],
                group_id=group["id"] if group else None,
                topic=req.topic,
                language=req.language,
                priority=priority,
            )
            await audit(
                conn,
                org_id=org["id"],
                actor_type="customer",
                actor_id=customer["id"],
                action="chat.open",
                target_type="chat",
                target_id=chat["id"],
                detail={"identified": identity is not None},
                ip=ip,
            )
            await outbox.ticket_created(conn, ticket, chat["id"])
            await outbox.chat_created(conn, chat, ticket, customer)
            view = await chat_view(conn, chat, self._names)
        token, expires = self._signer.issue_guest(
            customer_id=CustomerId(customer["id"]),
            org_id=OrgId(org["id"]),
            chat_id=ChatId(chat["id"]),
            ttl=self._ttl,
        )
        return {
            "token": token,
            "expires_at": expires,
            "chat": view,
            "customer": {
                "id": customer["id"],
                "name": customer["name"],
                "identified": identity is not None,
            },
        }

    def _previous_customer(self, token: str | None, org_id: int) -> int | None:
        """A guest starting another chat keeps their customer record (and so their history)."""
        if not token:
            return None
        try:
            principal = self._signer.verify(token)
        except TokenExpired:
            return None
        except Unauthenticated as exc:
            raise Unauthenticated(f"previous_token refused: {exc.message}") from None
        if principal.role is not Role.CUSTOMER or principal.org_id != org_id:
            raise Unauthenticated("previous_token belongs to another organisation")
        return principal.subject_id
