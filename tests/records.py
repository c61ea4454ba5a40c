"""Records the tests need but no client action makes quickly, written through the store as
the services would write them."""

from __future__ import annotations

from typing import Any

from signaling.db.schema import utcnow
from signaling.store import recordings as recording_store
from signaling.store.calls import create_call_sync, update_call_sync
from signaling.types import CallMedia, CallParty, RecordingState
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


async def ready_recording_of(server: Server, call_id: int) -> tuple[int, int]:
    """A finished recording of the call with one played file (a few bytes on disk, enough
    for access checks); returns (recording id, file id)."""
    root = server.runtime.recorder_root
    folder = root / "org1" / f"call{call_id}"
    (folder / "files" / "tracks").mkdir(parents=True, exist_ok=True)
    path = folder / "files" / "tracks" / "customer-camera.webm"
    path.write_bytes(b"\x1a\x45\xdf\xa3" + bytes(60))
    async with server.runtime.db.write() as conn:
        row = await recording_store.create_recording(
            conn,
            org_id=1,
            call_id=call_id,
            directory=str(folder.relative_to(root)),
            state=RecordingState.READY,
            started_at=utcnow(),
            encrypted=False,
        )
        await recording_store.update_recording(
            conn, row["id"], {"ended_at": utcnow(), "duration_ms": 5000}
        )
        file = await recording_store.add_file(
            conn,
            row["id"],
            kind="track",
            participant="customer",
            role="camera",
            path=str(path.relative_to(root)),
            mime="video/webm",
            duration_ms=5000,
            start_offset_ms=0,
            bytes=path.stat().st_size,
        )
    return int(row["id"]), int(file["id"])
