"""Staff edits of a ticket: subject, status, priority, tags, assignee, group. An edit made
on an older version is refused rather than applied over a change its author never saw;
every edit is kept in the ticket's history and the audit log, and every console that may
show the ticket hears of it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from signaling.auth import access
from signaling.auth.actor import Actor
from signaling.chat.service import ChatService
from signaling.db.database import Database
from signaling.errors import Conflict, InvalidPayload, NotFound
from signaling.protocol.notifier import Notifier
from signaling.store import Record
from signaling.store import orgs as org_store
from signaling.store import tickets as ticket_store
from signaling.store import users as user_store
from signaling.types import Role, TicketPriority, TicketStatus


class TicketService:
    def __init__(self, db: Database, chats: ChatService, notifier: Notifier) -> None:
        self._db = db
        self._chats = chats
        self._notifier = notifier

    async def update(
        self,
        actor: Actor,
        ticket_id: int,
        *,
        version: int | None = None,
        subject: str | None = None,
        status: TicketStatus | None = None,
        priority: TicketPriority | None = None,
        tags: Sequence[str] | None = None,
        assignee_id: int | None = None,
        group_id: int | None = None,
        unassign: bool = False,
    ) -> Record:
        """Change the fields given (None: unchanged); `version` is the one the edit was made
        on, if the caller knows it. The ticket as it is now."""
        me = actor.principal
        async with self._db.write() as conn:
            ticket = await ticket_store.ticket_by_id(conn, ticket_id)
            access.check_edit_ticket(
                me, ticket or {"org_id": -1}, await self._chats.group_ids(conn, me)
            )
            assert ticket is not None
            if version is not None and version != ticket["version"]:
                raise stale_edit(ticket, version)
            changes: dict[str, Any] = {}
            if subject is not None:
                changes["subject"] = subject.strip()
            if status is not None:
                changes["status"] = status.value
            if priority is not None:
                changes["priority"] = priority.value
            if tags is not None:
                changes["tags"] = sorted(set(tags))
            if unassign and assignee_id is not None:
                raise InvalidPayload("give assignee_id or unassign, not both")
            if unassign:
                changes["assignee_id"] = None
            if assignee_id is not None:
                user = await user_store.user_by_id(conn, assignee_id)
                if user is None or user["org_id"] != me.org_id or user["role"] == Role.QA.value:
                    raise NotFound("no such agent")
                changes["assignee_id"] = user["id"]
            if group_id is not None:
                group = await org_store.group_by_id(conn, group_id)
                if group is None or group["org_id"] != me.org_id:
                    raise NotFound("no such group")
                changes["group_id"] = group["id"]
            updated = await ticket_store.change_ticket(
                conn, ticket, changes, actor_type=me.role.value, actor_id=me.subject_id
            )
            await actor.audit(
                conn,
                "ticket.update",
                target_type="ticket",
                target_id=ticket["id"],
                detail={"fields": sorted(changes)},
            )
        await self._notifier.ticket_updated(updated, also=(ticket["assignee_id"], me.subject_id))
        return updated


def stale_edit(ticket: Record, edited: int) -> Conflict:
    """409 for a save made on an older version: says so, and carries what the ticket is now,
    so the page can show it rather than apply its edit over a change it never saw."""
    return Conflict(
        f"ticket #{ticket['id']} changed since you opened it (you edited version {edited}, "
        f"it is at version {ticket['version']} now, status {ticket['status']}); "
        "nothing was saved: check the current fields and save again",
        details={"field": "version", "version": ticket["version"], "ticket": ticket},
    )
