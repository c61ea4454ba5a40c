"""A call's recording, from signaling's side: when to start it (the organisation's policy,
or the agent), pause and resume, follow the call to another relay worker, and hand it to
the media jobs when the call ends. The relay captures; this decides and keeps the record.

Every change is written (recordings row, the call's event log) before anyone is told, and
the customer sees "this call is recorded" in the same `call.updated` that starts it — the
relay records packets only of participants who join after that push.
A recording that cannot be made (unwritable directory, a full disk, a relay error) is
marked `failed` with the reason; the call goes on.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from time import monotonic
from typing import Any

from sqlalchemy import Connection

from relay.interface import RelayControl, RelayError
from signaling.calls.event_log import CallEvent
from signaling.calls.live import LiveCall
from signaling.config import RecordingsConfig
from signaling.db.database import Database
from signaling.db.schema import utcnow
from signaling.store import recordings as store
from signaling.types import RecordingPolicy, RecordingState

MANIFEST_NAME = "manifest.json"
"""The relay writes it first into a recording's folder (media/recording/manifest.py; that
package loads the media stack, which signaling does not need)."""

log = logging.getLogger(__name__)


RELOCATED_WHY = {"worker_lost": "relay worker lost", "node_drained": "relay node drained"}
"""How a recording's `recording_interrupted` event says why its call moved."""


@dataclass
class LiveRecording:
    """What signaling keeps in memory about a running call's recording."""

    id: int
    state: RecordingState
    since: datetime
    """When the current state began (the customer's notice says since when)."""
    directory: Path
    paused_since: float | None = None
    paused_ms: int = 0

    def wire(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state.value, "since": self.since}


@dataclass(frozen=True)
class OpenedRecording:
    """A recording's row as written, before the relay is asked to capture."""

    id: int
    started: datetime
    directory: Path
    problem: str | None
    """Why it cannot be recorded (written as `failed` with it), or None."""

    @property
    def state(self) -> RecordingState:
        return state_with(self.problem)


def state_with(problem: str | None) -> RecordingState:
    """A new recording's state: `failed` when there is a reason it cannot be made."""
    return RecordingState.FAILED if problem else RecordingState.RECORDING


def recording_key(recording_id: int) -> str:
    """The recording's id as the relay knows it."""
    return f"rec-{recording_id}"


class CallRecorder:
    def __init__(
        self,
        db: Database,
        relay: RelayControl,
        config: RecordingsConfig,
        root: Path,
    ) -> None:
        self._db = db
        self._relay = relay
        self._config = config
        self.root = root
        """recordings.dir: every recording's folder is below it."""
        self.job_queued: Callable[[], None] = lambda: None
        self.bytes_recorded: Callable[[int, int], None] = lambda written, dropped: None
        """Told (written, dropped) bytes as each recording stops (the /metrics counters)."""
        """Told when a media job is queued (the runner looks at once)."""

    # ---- starting ------------------------------------------------------------------------
    async def policy(self, org_id: int) -> RecordingPolicy:
        async with self._db.read() as conn:
            return await store.policy_of(conn, org_id)

    async def start(self, live: LiveCall, by: str | None) -> list[CallEvent]:
        """Record the call from now on; the events to append (caller holds live.lock and
        publishes). A recording that cannot start is kept as `failed`, with the reason."""
        opened = await self._db.write_in_thread(lambda conn: self.open_sync(conn, live))
        return await self.begin(live, opened, by)

    def open_if_always_sync(self, conn: Connection, live: LiveCall) -> OpenedRecording | None:
        """In the caller's write transaction (the writer thread, as a call is answered): the
        organisation's policy read, and the recording's row written if it is `always`. One
        transaction with the answer instead of a read and a write of their own."""
        if store.policy_of_sync(conn, live.org_id) is not RecordingPolicy.ALWAYS:
            return None
        return self.open_sync(conn, live)

    def open_sync(self, conn: Connection, live: LiveCall) -> OpenedRecording:
        """The recording's row, written in the caller's transaction; `failed` with the
        reason if its folder cannot be written (checked here, off the event loop)."""
        directory = self.root / f"org{live.org_id}" / f"call{live.call_id}"
        started = utcnow()
        problem = self._cannot_write(directory)
        row = store.create_recording_sync(
            conn,
            org_id=live.org_id,
            call_id=live.call_id,
            directory=str(directory.relative_to(self.root)),
            state=state_with(problem),
            started_at=started,
            encrypted=bool(self._config.encryption_key),
            reason=problem,
        )
        return OpenedRecording(row["id"], started, directory, problem)

    async def begin(
        self, live: LiveCall, opened: OpenedRecording, by: str | None
    ) -> list[CallEvent]:
        """After the row is committed: the relay starts capturing; the events to append."""
        live.recording = LiveRecording(opened.id, opened.state, opened.started, opened.directory)
        problem = opened.problem
        if problem is None and live.room_id is not None:
            problem = await self._relay_call(
                "start_recording", live.room_id, recording_key(opened.id), str(opened.directory)
            )
            if problem is not None:
                await self._failed(live, problem)
        if problem is not None:
            log.warning("call %s: recording failed: %s", live.call_id, problem)
            return [("recording_failed", None, {"reason": problem})]
        return [("recording_started", None, {"by": by, "recording_id": opened.id})]

    def _cannot_write(self, directory: Path) -> str | None:
        """Why this recording cannot be written, or None."""
        try:
            directory.mkdir(parents=True, exist_ok=True)
            probe = directory / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
            free = shutil.disk_usage(directory).free
        except OSError as error:
            return f"the recordings folder cannot be written: {error.strerror or error}"
        if free < self._config.min_free_bytes:
            return f"the disk has {free // 2**20} MiB free, under recordings.min_free_bytes"
        return None

    async def _relay_call(self, method: str, *args: Any) -> str | None:
        """Ask the relay; the reason if it failed (the call goes on either way)."""
        try:
            await getattr(self._relay, method)(*args)
        except (RelayError, OSError, RuntimeError, TimeoutError) as error:
            detail = getattr(error, "detail", None) or str(error) or type(error).__name__
            return f"the relay could not record: {detail}"
        return None

    async def _failed(self, live: LiveCall, reason: str) -> None:
        recording = live.recording
        assert recording is not None
        recording.state = RecordingState.FAILED
        recording.since = utcnow()
        async with self._db.write() as conn:
            await store.update_recording(
                conn, recording.id, {"state": RecordingState.FAILED.value, "reason": reason}
            )

    # ---- pausing -------------------------------------------------------------------------
    async def pause(self, live: LiveCall, by: str) -> list[CallEvent]:
        recording = live.recording
        assert recording is not None and recording.state is RecordingState.RECORDING
        problem = await self._relay_call("pause_recording", live.room_id) if live.room_id else None
        if problem is not None:
            await self._failed(live, problem)
            return [("recording_failed", None, {"reason": problem})]
        recording.state, recording.since = RecordingState.PAUSED, utcnow()
        recording.paused_since = monotonic()
        async with self._db.write() as conn:
            await store.update_recording(conn, recording.id, {"state": recording.state.value})
        return [("recording_paused", None, {"by": by})]

    async def resume(self, live: LiveCall, by: str) -> list[CallEvent]:
        recording = live.recording
        assert recording is not None and recording.state is RecordingState.PAUSED
        problem = await self._relay_call("resume_recording", live.room_id) if live.room_id else None
        if problem is not None:
            await self._failed(live, problem)
            return [("recording_failed", None, {"reason": problem})]
        self._close_pause(recording)
        recording.state, recording.since = RecordingState.RECORDING, utcnow()
        async with self._db.write() as conn:
            await store.update_recording(
                conn,
                recording.id,
                {"state": recording.state.value, "paused_ms": recording.paused_ms},
            )
        return [("recording_resumed", None, {"by": by})]

    @staticmethod
    def _close_pause(recording: LiveRecording) -> None:
        if recording.paused_since is not None:
            recording.paused_ms += round((monotonic() - recording.paused_since) * 1000)
            recording.paused_since = None

    # ---- following the call --------------------------------------------------------------
    async def relocated(self, live: LiveCall, why: str) -> list[CallEvent]:
        """The call moved to another relay worker (`why`: worker_lost or node_drained): the
        new room records into the same folder (a new segment); the gap while it moved stays
        a gap, and the recording says it was interrupted."""
        recording = live.recording
        if recording is None or recording.state not in (
            RecordingState.RECORDING,
            RecordingState.PAUSED,
        ):
            return []
        assert live.room_id is not None
        problem = await self._relay_call(
            "start_recording", live.room_id, recording_key(recording.id), str(recording.directory)
        )
        if problem is None and recording.state is RecordingState.PAUSED:
            problem = await self._relay_call("pause_recording", live.room_id)
        async with self._db.write() as conn:
            await store.update_recording(conn, recording.id, {"interrupted": True})
        if problem is not None:
            await self._failed(live, problem)
            return [("recording_failed", None, {"reason": problem})]
        return [("recording_interrupted", None, {"why": RELOCATED_WHY.get(why, why)})]

    async def relay_failed(self, live: LiveCall, reason: str) -> bool:
        """The relay says this recording failed (disk full, write error); True if news. What
        was written until then is kept: the end still converts it."""
        recording = live.recording
        if recording is None or recording.state is RecordingState.FAILED:
            return False
        log.warning("call %s: the relay stopped recording: %s", live.call_id, reason)
        await self._failed(live, reason)
        return True

    # ---- the end -------------------------------------------------------------------------
    async def ended(self, live: LiveCall) -> list[CallEvent]:
        """The call ended: stop capturing, and queue the job that makes the played files."""
        recording = live.recording
        if recording is None:
            return []
        summary: Any = None
        # A recording the relay gave up on mid-call still has what it wrote until then.
        partial = (
            recording.state is RecordingState.FAILED
            and (recording.directory / MANIFEST_NAME).exists()
        )
        if recording.state in (RecordingState.RECORDING, RecordingState.PAUSED) or partial:
            if live.room_id is not None:
                try:
                    summary = await self._relay.stop_recording(live.room_id)
                except (RelayError, OSError, RuntimeError, TimeoutError) as error:
                    log.warning("call %s: stopping its recording: %s", live.call_id, error)
            self._close_pause(recording)
        ended = utcnow()
        changes: dict[str, Any] = {"ended_at": ended, "paused_ms": recording.paused_ms}
        changes.update(_summary_changes(summary))
        self.bytes_recorded(changes.get("bytes", 0), changes.get("dropped_bytes", 0))
        async with self._db.write() as conn:
            row = await store.recording_by_id(conn, recording.id)
            assert row is not None
            changes["duration_ms"] = round((ended - row["started_at"]).total_seconds() * 1000)
            if row["state"] != RecordingState.FAILED.value or partial:
                changes["state"] = RecordingState.PROCESSING.value
                await store.enqueue_job(conn, recording.id, "convert")
            await store.update_recording(conn, recording.id, changes)
        self.job_queued()
        return [("recording_stopped", None, {"recording_id": recording.id})]

    # ---- after a restart -----------------------------------------------------------------
    async def restore(self, running: Collection[int] = ()) -> None:
        """Recordings a previous process left running were cut by its end, but for those of
        calls this one took over (`running`: their relay rooms still record): each is
        finished from what was captured (the convert job recovers torn files first) and
        marked interrupted; jobs it was running start again."""
        async with self._db.write() as conn:
            cut = [
                row
                for row in await store.recordings_in_state(
                    conn, RecordingState.RECORDING, RecordingState.PAUSED
                )
                if row["id"] not in running
            ]
            for row in cut:
                await store.update_recording(
                    conn,
                    row["id"],
                    {
                        "state": RecordingState.PROCESSING.value,
                        "interrupted": True,
                        "ended_at": utcnow(),
                    },
                )
                await store.enqueue_job(conn, row["id"], "convert")
            again = await store.requeue_running(conn)
        self.job_queued()
        if cut or again:
            log.warning(
                "recordings: %d cut by the last shutdown will be finished; %d job(s) restart",
                len(cut),
                again,
            )


def _summary_changes(summary: Any) -> dict[str, Any]:
    """Byte counts from the relay's RecordingSummary, when it gave one."""
    changes: dict[str, Any] = {}
    for field in ("bytes", "dropped_bytes"):
        value = getattr(summary, field, None)
        if isinstance(value, int):
            changes[field] = value
    return changes
