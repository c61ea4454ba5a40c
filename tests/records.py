"""Records the tests need but no client action makes quickly, written through the store as
the services would write them."""

from __future__ import annotations

from typing import Any

from signaling.store.calls import create_call_sync, update_call_sync
from signaling.types import CallMedia, CallParty
from tests.conftest import Server


async def ended_call_in(server: Server, chat: dict[str, Any]) -> int:
    """A video call of `chat` (assigned), ended by a hang-up; returns its id."""

    def write(conn: Any) -> int:
        row = create_call_sync(
            conn,
            org_id=chat.get("org_id", 1),
            chat_id=chat["id"],
            ticket_id=chat["ticket_id"],
            customer_id=chat["customer_id"],
            agent_id=chat["assignee_id"],
            media=CallMedia.VIDEO,
            started_by=CallParty.CUSTOMER,
        )
        update_call_sync(conn, row["id"], {"state": "ended", "end_reason": "hung_up"})
        return int(row["id"])

    return await server.runtime.db.write_in_thread(write)
