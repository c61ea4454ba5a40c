"""Moves chats between the queue and agents: assignment, transfer, requeue, and telling
customers their place in line and agents what is waiting."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from signaling.config import RoutingConfig
from signaling.db.database import Database
from signaling.db.schema import utcnow
from signaling.protocol.notifier import Notifier
from signaling.routing.presence import AgentState, PresenceRegistry
from signaling.routing.queue import ChatQueue, QueueEntry
from signaling.store import Record
from signaling.store import chats as chat_store
from signaling.store import customers as customer_store
from signaling.store import messages as message_store
from signaling.store import orgs as org_store
from signaling.store import presence as presence_store
from signaling.store import tickets as ticket_store
from signaling.store import users as user_store
from signaling.transcript.system_messages import add_system_message
from signaling.transcript.views import NameBook, chat_view, message_views
from signaling.types import ChatState, Presence, TicketPriority
from signaling.webhooks import outbox

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(
        self,
        db: Database,
        presence: PresenceRegistry,
        notifier: Notifier,
        names: NameBook,
        config: RoutingConfig,
    ) -> None:
        self._db = db
        self._presence = presence
        self._notifier = notifier
        self._names = names
        self._config = config
        self.queue = ChatQueue(presence)
        self._lock = asyncio.Lock()
        self._handle_seconds: dict[int, float] = {}
        self._sent_estimates: dict[int, dict[str, Any]] = {}
        self._tasks: set[asyncio.Future[None]] = set()
        self.closing = False
        """The server is stopping: its sockets close, but agents are not going offline."""

    # ---- start-up -------------------------------------------------------------------------
    async def restore(self) -> None:
        """After a restart: waiting chats go back in line; agents get back the status they
        had chosen, and like agents with open chats they have the grace period to reconnect
        before they go offline (and their chats are requeued)."""
        async with self._db.read() as conn:
            for chat in await chat_store.chats_in_state(conn, ChatState.QUEUED):
                self.queue.add(await self._entry(conn, chat))
            for chat in await chat_store.chats_in_state(conn, ChatState.ACTIVE):
                agent = await self.load_agent(conn, chat["assignee_id"])
                if agent is not None:
                    agent.chats.add(chat["id"])
            for user_id, status in (await presence_store.saved_statuses(conn)).items():
                agent = await self.load_agent(conn, user_id)
                if agent is not None:
                    agent.status = status
        for agent in self._presence.all():
            if not agent.sids and (agent.chats or agent.status is not Presence.OFFLINE):
                self.schedule_offline(agent)
        log.info("routing restored: %d queued chats", len(self.queue))

    async def load_agent(self, conn: Any, user_id: int | None) -> AgentState | None:
        if user_id is None:
            return None
        existing = self._presence.get(user_id)
        user = await user_store.user_by_id(conn, user_id)
        if user is None:
            return existing
        self._names.remember_user(user["id"], user["name"])
        state = AgentState(
            user_id=user["id"],
            org_id=user["org_id"],
            name=user["name"],
            skills=frozenset(user["skills"]),
            languages=frozenset(user["languages"]),
            max_chats=max(1, user["max_chats"]),
            group_ids=frozenset(await org_store.group_ids_of(conn, user["id"])),
        )
        return self._presence.put(state)

    async def _entry(self, conn: Any, chat: Record, avoid_user_id: int | None = None) -> QueueEntry:
        customer = await customer_store.customer_by_id(conn, chat["customer_id"])
        queued_at = chat["queued_at"] or chat["created_at"]
        return QueueEntry(
            chat_id=chat["id"],
            org_id=chat["org_id"],
            topic=chat["topic"],
            language=chat["language"],
            vip=bool(customer and customer["vip"]),
            priority=TicketPriority(chat["priority"]),
            queued_at=queued_at.timestamp(),
            customer_name=(customer and customer["name"]) or "Customer",
            group_id=chat["group_id"],
            avoid_user_id=avoid_user_id,
        )

    # ---- queue ----------------------------------------------------------------------------
    async def enqueue(self, chat: Record) -> None:
        async with self._db.read() as conn:
            self.queue.add(await self._entry(conn, chat))
        await self.dispatch(chat["org_id"])

    async def dispatch(self, org_id: int) -> None:
        """Give every waiting chat that can be served an agent, best first; then tell everyone."""
        async with self._lock:
            for entry in self.queue.ordered(org_id):
                agent = self.queue.best_agent(entry)
                if agent is not None:
                    await self._assign(entry.chat_id, agent, note=None)
        await self.publish(org_id)

    async def _assign(self, chat_id: int, agent: AgentState, note: str | None) -> Record:
        self.queue.remove(chat_id)
        agent.chats.add(chat_id)
        agent.last_assigned = time.monotonic()
        async with self._db.write() as conn:
            chat = await chat_store.update_chat(
                conn,
                chat_id,
                {
                    "state": ChatState.ACTIVE.value,
                    "assignee_id": agent.user_id,
                    "assigned_at": utcnow(),
                },
            )
            await outbox.chat_assigned(conn, chat, agent.name)
            ticket = await ticket_store.ticket_by_id(conn, chat["ticket_id"])
            assert ticket is not None
            before = ticket
            if ticket["assignee_id"] != agent.user_id:
                ticket = await ticket_store.change_ticket(
                    conn, ticket, {"assignee_id": agent.user_id}, actor_type="system", actor_id=None
                )
            text = f"{agent.name} joined the chat" + (f" ({note})" if note else "")
            system = await add_system_message(conn, chat, text, self._names)
            view = await chat_view(conn, chat, self._names)
            customer = await customer_store.customer_by_id(conn, chat["customer_id"])
            history = await message_views(
                conn,
                chat,
                await message_store.messages_after(conn, chat_id, 0, 500, include_notes=True),
                self._names,
            )
        self._sent_estimates.pop(chat_id, None)
        await self._notifier.join_chat(agent.user_id, chat_id)
        await self._notifier.to_user(
            agent.user_id,
            "chat.assigned",
            {"chat": view, "customer": customer, "ticket": ticket, "messages": history},
        )
        await self._notifier.to_chat(chat_id, "message", system)
        await self._notifier.to_chat(chat_id, "chat.updated", view)
        if ticket is not before:
            await self._notifier.ticket_updated(ticket, also=(before["assignee_id"],))
        return chat

    async def assign_directly(self, chat_id: int, agent: AgentState, note: str | None) -> Record:
        async with self._lock:
            return await self._assign(chat_id, agent, note)

    async def release(
        self, chat: Record, *, requeue: bool, note: str | None, avoid_agent: bool = False
    ) -> None:
        """Take a chat away from its agent; back in line when `requeue`, else it has ended.
        `avoid_agent`: the agent handing it back is not offered it again."""
        previous = chat["assignee_id"]
        agent = self._presence.get(chat["assignee_id"]) if chat["assignee_id"] else None
        if agent is not None:
            agent.chats.discard(chat["id"])
            await self._notifier.leave_chat(agent.user_id, chat["id"])
            await self._notifier.to_user(
                agent.user_id, "chat.removed", {"chat_id": chat["id"], "reason": note or "ended"}
            )
        self.queue.remove(chat["id"])
        self._sent_estimates.pop(chat["id"], None)
        if requeue:
            async with self._db.write() as conn:
                chat = await chat_store.update_chat(
                    conn, chat["id"], {"state": ChatState.QUEUED.value, "assignee_id": None}
                )
                if note:
                    system = await add_system_message(conn, chat, note, self._names)
                view = await chat_view(conn, chat, self._names)
                avoid = previous if avoid_agent else None
                self.queue.add(await self._entry(conn, chat, avoid_user_id=avoid))
            if note:
                await self._notifier.to_chat(chat["id"], "message", system)
            await self._notifier.to_chat(chat["id"], "chat.updated", view)
        await self.dispatch(chat["org_id"])

    # ---- presence -------------------------------------------------------------------------
    async def set_status(self, agent: AgentState, status: Presence) -> None:
        agent.status = status
        async with self._db.write() as conn:
            await presence_store.save_status(conn, agent.user_id, status)
        if agent.offline_timer is not None and status is not Presence.OFFLINE:
            agent.offline_timer.cancel()
            agent.offline_timer = None
        await self._notifier.to_user(agent.user_id, "presence", agent.to_wire())
        if status is Presence.OFFLINE:
            await self._requeue_all(agent, "agent went offline")
        await self.dispatch(agent.org_id)

    def schedule_offline(self, agent: AgentState) -> None:
        if self.closing:
            return
        if agent.offline_timer is not None:
            agent.offline_timer.cancel()
        loop = asyncio.get_running_loop()
        agent.offline_timer = loop.call_later(
            self._config.agent_offline_grace_seconds, self._spawn_went_away, agent
        )

    def _spawn_went_away(self, agent: AgentState) -> None:
        task = asyncio.ensure_future(self._went_away(agent))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _went_away(self, agent: AgentState) -> None:
        agent.offline_timer = None
        if agent.sids:
            return
        try:
            await self.set_status(agent, Presence.OFFLINE)
        except Exception:
            log.exception("could not requeue chats of agent %s", agent.user_id)

    async def _requeue_all(self, agent: AgentState, reason: str) -> None:
        for chat_id in sorted(agent.chats):
            async with self._db.read() as conn:
                chat = await chat_store.chat_by_id(conn, chat_id)
            if chat is not None and chat["state"] == ChatState.ACTIVE.value:
                await self.release(
                    chat, requeue=True, note=f"{agent.name} is unavailable; finding another agent"
                )
        log.info("agent %s: %s; chats requeued", agent.user_id, reason)

    # ---- telling people -------------------------------------------------------------------
    async def handle_seconds(self, org_id: int) -> float:
        if org_id not in self._handle_seconds:
            async with self._db.read() as conn:
                measured = await chat_store.mean_handle_seconds(conn, org_id)
            self._handle_seconds[org_id] = measured or float(self._config.default_handle_seconds)
        return self._handle_seconds[org_id]

    def chat_ended(self, org_id: int, handle_seconds: float | None) -> None:
        if handle_seconds is not None:
            old = self._handle_seconds.get(org_id, float(self._config.default_handle_seconds))
            self._handle_seconds[org_id] = 0.9 * old + 0.1 * handle_seconds

    async def estimate_for(self, chat_id: int) -> dict[str, Any] | None:
        for entry in self.queue.ordered():
            if entry.chat_id == chat_id:
                wait = self.queue.estimate(entry, await self.handle_seconds(entry.org_id))
                return wait.to_wire(chat_id)
        return None

    def snapshot(self, org_id: int, agent: AgentState | None) -> dict[str, Any]:
        """What a console shows: waiting chats (an agent: those they could serve) and agents."""
        return self._snapshots(org_id).of(agent)

    def _snapshots(self, org_id: int) -> _Snapshots:
        entries = self.queue.ordered(org_id)
        return _Snapshots(
            [(e, e.to_wire(self.queue.position(e))) for e in entries],
            [a.to_wire() for a in self._presence.in_org(org_id)],
        )

    async def publish(self, org_id: int) -> None:
        handle = await self.handle_seconds(org_id)
        for entry in self.queue.ordered(org_id):
            wire = self.queue.estimate(entry, handle).to_wire(entry.chat_id)
            if self._sent_estimates.get(entry.chat_id) != wire:
                self._sent_estimates[entry.chat_id] = wire
                await self._notifier.to_customer(entry.chat_id, "queue.position", wire)
        # The queue and the agents are put on the wire once per change, and each snapshot is
        # encoded once for every agent it is for: per agent watching, that was
        # agents x (agents + queue) views and as many encodings per change.
        snapshots = self._snapshots(org_id)
        watching: dict[Reach, list[AgentState]] = {}
        for agent in self._presence.in_org(org_id):
            if agent.sids:
                watching.setdefault(reach_of(agent), []).append(agent)
        for agents in watching.values():
            snapshot = snapshots.of(agents[0])
            await self._notifier.to_users([a.user_id for a in agents], "queue.updated", snapshot)
        await self._notifier.to_admins(org_id, "queue.updated", snapshots.of(None))


Reach = tuple[frozenset[int], frozenset[str]]
"""An agent's groups and skills: what decides which waiting chats their console lists."""


def reach_of(agent: AgentState) -> Reach:
    return agent.group_ids, agent.skills


class _Snapshots:
    """One change's console snapshots, from the queue and the agents as wire views made
    once: an agent's keeps the chats they could serve, an admin's every chat."""

    def __init__(
        self, queue: list[tuple[QueueEntry, dict[str, Any]]], agents: list[dict[str, Any]]
    ) -> None:
        self._queue = queue
        self._agents = agents

    def of(self, agent: AgentState | None) -> dict[str, Any]:
        queue = [
            wire
            for entry, wire in self._queue
            if agent is None
            or entry.group_id in agent.group_ids
            or entry.topic in agent.skills
            or entry.topic == "general"
        ]
        return {"queue": queue, "agents": self._agents}
