"""Server → client pushes, addressed by room, so services never handle socket ids directly.

Rooms: `chat:<id>` (both sides of a chat, in /customer and /agent), `user:<id>` (every tab of
one staff member), `admins:<org>` (supervisors watching the queue).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet
from socketio.async_pubsub_manager import AsyncPubSubManager

from signaling import jsonutil

CUSTOMER_NS = "/customer"
AGENT_NS = "/agent"


def chat_room(chat_id: int) -> str:
    return f"chat:{chat_id}"


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


def admins_room(org_id: int) -> str:
    return f"admins:{org_id}"


class Notifier:
    def __init__(self, sio: socketio.AsyncServer) -> None:
        self._sio = sio
        self._staff_sockets: dict[int, dict[str, str | None]] = {}
        """Staff member → their /agent sockets → the sign-in session each was opened with.
        Kept by the namespace's lifecycle (which runs on the primary when several signaling
        processes share the work), not read from the Socket.IO manager, which knows only
        this process's sockets."""

    def staff_connected(self, user_id: int, sid: str, session_id: str | None) -> None:
        self._staff_sockets.setdefault(user_id, {})[sid] = session_id

    def staff_gone(self, user_id: int, sid: str) -> None:
        sockets = self._staff_sockets.get(user_id)
        if sockets is not None:
            sockets.pop(sid, None)
            if not sockets:
                del self._staff_sockets[user_id]

    async def to_chat(
        self, chat_id: int, event: str, data: Any, skip_sid: str | None = None
    ) -> None:
        room = chat_room(chat_id)
        if isinstance(self._sio.manager, AsyncPubSubManager):
            await self._sio.emit(event, data, room=room, namespace=CUSTOMER_NS, skip_sid=skip_sid)
            await self._sio.emit(event, data, room=room, namespace=AGENT_NS, skip_sid=skip_sid)
            return
        # Every socket here: the payload is encoded once for both namespaces (emit encodes
        # per namespace) and queued to each socket directly (emit starts a task for each).
        body = None
        for namespace in (CUSTOMER_NS, AGENT_NS):
            recipients = [
                eio_sid
                for sid, eio_sid in self._sio.manager.get_participants(namespace, room)
                if sid != skip_sid
            ]
            if not recipients:
                continue
            body = body or jsonutil.dumps([event, data])
            packet = eio_packet.Packet(eio_packet.MESSAGE, f"{sio_packet.EVENT}{namespace},{body}")
            for eio_sid in recipients:
                await self._sio.eio.send_packet(eio_sid, packet)

    async def to_chat_staff(self, chat_id: int, event: str, data: Any) -> None:
        """Staff in the chat only (internal notes): never the customer's namespace."""
        await self._sio.emit(event, data, room=chat_room(chat_id), namespace=AGENT_NS)

    async def to_customer(self, chat_id: int, event: str, data: Any) -> None:
        await self._sio.emit(event, data, room=chat_room(chat_id), namespace=CUSTOMER_NS)

    async def to_user(
        self, user_id: int, event: str, data: Any, skip_sid: str | None = None
    ) -> None:
        await self._sio.emit(
            event, data, room=user_room(user_id), namespace=AGENT_NS, skip_sid=skip_sid
        )

    async def to_users(self, user_ids: Iterable[int], event: str, data: Any) -> None:
        """One push to several staff members' tabs: encoded once for all of them."""
        rooms = [user_room(user_id) for user_id in user_ids]
        if rooms:
            await self._sio.emit(event, data, room=rooms, namespace=AGENT_NS)

    async def to_admins(self, org_id: int, event: str, data: Any) -> None:
        await self._sio.emit(event, data, room=admins_room(org_id), namespace=AGENT_NS)

    async def ticket_updated(self, ticket: Any, also: Iterable[int | None] = ()) -> None:
        """A ticket changed: every console that may be showing it learns its new fields
        (its assignee's tabs, `also` — a previous assignee, whoever changed it — and the
        organisation's admins), each socket once, so no panel keeps a stale status."""
        users = {ticket["assignee_id"], *also} - {None}
        rooms = [admins_room(ticket["org_id"]), *(user_room(u) for u in sorted(users))]
        await self._sio.emit("ticket.updated", ticket, room=rooms, namespace=AGENT_NS)

    def _user_sids(self, user_id: int) -> list[str]:
        return list(self._staff_sockets.get(user_id, {}))

    async def join_chat(self, user_id: int, chat_id: int) -> None:
        for sid in self._user_sids(user_id):
            await self._sio.enter_room(sid, chat_room(chat_id), namespace=AGENT_NS)

    async def leave_chat(self, user_id: int, chat_id: int) -> None:
        for sid in self._user_sids(user_id):
            await self._sio.leave_room(sid, chat_room(chat_id), namespace=AGENT_NS)

    async def disconnect_session(self, user_id: int, session_id: str) -> None:
        """Close every socket opened with a sign-in session that was just revoked."""
        for sid, opened_with in list(self._staff_sockets.get(user_id, {}).items()):
            if opened_with == session_id:
                await self._sio.emit(
                    "session.revoked", {"reason": "signed out"}, to=sid, namespace=AGENT_NS
                )
                await self._sio.disconnect(sid, namespace=AGENT_NS)
