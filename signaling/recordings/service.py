"""What staff ask of recordings: a link to one of a recording's files (audited), the file
behind such a link (each playback from the start audited), a composite of the call, and the
organisation's recording policy (admins; audited). Recordings are never public: who may see
one is access.check_view_recording's rule, and a deleted one is gone for everyone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncConnection

from signaling.auth import access
from signaling.auth.actor import Actor
from signaling.auth.tokens import MediaLink, Principal
from signaling.db.database import Database
from signaling.errors import Conflict, NotFound
from signaling.store import Record
from signaling.store import recordings as store
from signaling.store.audit import audit
from signaling.types import RecordingPolicy, RecordingState


@dataclass(frozen=True)
class Playback:
    """A recording's file a signed link names, found on disk."""

    file: Record
    recording: Record
    path: Path


class RecordingService:
    def __init__(self, db: Database, root: Path, job_queued: Callable[[], None]) -> None:
        self._db = db
        self._root = root
        """recordings.dir: every recording's folder is below it."""
        self._job_queued = job_queued
        """Wakes the media job runner (a composite was asked for)."""

    async def link_file(self, actor: Actor, recording_id: int, file_id: int) -> Record:
        """The file a link may be issued for: one of a recording the actor may see. The
        issue is in the audit log (the link itself is signed by the caller)."""
        async with self._db.write() as conn:
            row = await visible_recording(conn, actor.principal, recording_id)
            file = await store.file_by_id(conn, file_id)
            if file is None or file["recording_id"] != row["id"]:
                raise NotFound(f"recording {row['id']} has no file {file_id}")
            await actor.audit(
                conn,
                "recording.link",
                target_type="recording",
                target_id=row["id"],
                detail={"file_id": file["id"], "kind": file["kind"], "role": file["role"]},
            )
        return file

    async def playback(self, link: MediaLink, range_header: str | None, ip: str) -> Playback:
        """The file a verified link names, if its recording still exists and the file is on
        disk. A playback from the start (no Range, or one from byte 0) is audited as the
        link's user; the further ranges a player asks for while seeking are not."""
        async with self._db.read() as conn:
            file = await store.file_by_id(conn, link.file_id)
            recording = await store.recording_by_id(conn, file["recording_id"]) if file else None
        if (
            file is None
            or recording is None
            or recording["org_id"] != link.org_id
            or recording["state"] == RecordingState.DELETED.value
        ):
            raise NotFound("this recording's file no longer exists")
        path = self._root / file["path"]
        if not path.exists():
            raise NotFound("this recording's file is missing on disk")
        if range_header is None or range_header.startswith("bytes=0-"):
            async with self._db.write() as conn:
                await audit(
                    conn,
                    org_id=link.org_id,
                    actor_type="user",
                    actor_id=link.user_id,
                    action="recording.access",
                    target_type="recording",
                    target_id=recording["id"],
                    detail={"file_id": file["id"], "range": range_header},
                    ip=ip,
                )
        return Playback(file, recording, path)

    async def request_composite(self, actor: Actor, recording_id: int) -> Record:
        """The composite job of a ready recording: the one queued or running, else a new
        one (the job runner is woken)."""
        async with self._db.write() as conn:
            row = await visible_recording(conn, actor.principal, recording_id)
            if row["state"] != RecordingState.READY.value:
                raise Conflict(f"the recording is {row['state']}; a composite needs it ready")
            pending = [
                j
                for j in await store.jobs_of(conn, row["id"])
                if j["kind"] == "composite" and j["state"] in ("queued", "running")
            ]
            job = pending[0] if pending else await store.enqueue_job(conn, row["id"], "composite")
        self._job_queued()
        return job

    async def set_policy(self, actor: Actor, policy: RecordingPolicy) -> None:
        """Which of the organisation's calls are recorded from now on."""
        async with self._db.write() as conn:
            await store.set_policy(conn, actor.principal.org_id, policy)
            await actor.audit(conn, "recording.policy", detail={"recording_policy": policy.value})


async def visible_recording(
    conn: AsyncConnection, principal: Principal, recording_id: int
) -> Record:
    """The recording's summary, if the caller may see it and it was not deleted."""
    row = await store.summary_of(conn, recording_id)
    row = access.check_view_recording(principal, row, recording_id)
    if row["state"] == RecordingState.DELETED.value:
        raise NotFound(f"recording {recording_id} was deleted (retention or budget)")
    return row
