"""Record a room on the call's path at the cost of an append: raw track files, not containers.

Every publication gets a Forwarder tap that packs each incoming packet (as it arrived,
with its arrival time) into an in-memory buffer; the publisher's sender reports go into
the same buffer. Once a second the buffers are handed to the DiskWriter's thread. Nothing
on the packet path parses, allocates per frame, or touches the disk; what the files mean
is worked out after the call (media/recording/). docs/recording-format.md has the format.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from aiortc.rtp import RtcpSrPacket

from media.recording import manifest as manifest_file
from media.recording.manifest import Manifest, ManifestError, Session, TrackEntry
from media.recording.rawfile import RECORD, SUFFIX, RecordType, SenderReport, file_header
from relay.interface import (
    ParticipantId,
    RecordingFailed,
    RecordingOutcome,
    RecordingState,
    RecordingStateName,
    RecordingSummary,
    RoomId,
    TrackRole,
)
from relay.packet.recording_writer import DEFAULT_MAX_PENDING, DiskWriter
from relay.packet.rtp_header import RtpHeader
from relay.rtc.participant import RelayParticipant
from relay.rtc.publication import Publication

logger = logging.getLogger(__name__)

_pack_record = RECORD.pack
_time_ns = time.time_ns
_RTP = int(RecordType.RTP)
StateListener = Callable[[RecordingState], None]


def _now_us() -> int:
    return time.time_ns() // 1000


class TrackRecorder:
    """One publication's raw track: an append-only buffer the room's timer drains.

    Lifecycle: new → tapped ⇄ untapped (pause) → finished (its file is closed).
    """

    __slots__ = (
        "buffer",
        "connection",
        "file",
        "finished",
        "first_us",
        "last_us",
        "marked_paused",
        "participant",
        "publication",
        "role",
        "started_at_us",
        "tapped",
    )

    def __init__(
        self, participant: ParticipantId, role: TrackRole, publication: Publication, connection: int
    ) -> None:
        self.participant = participant
        self.role = role
        self.publication = publication
        self.connection = connection
        self.buffer = bytearray()
        self.file: str | None = None
        """The track file's name once its first chunk was handed to the writer."""
        self.first_us: int | None = None
        self.last_us: int | None = None
        self.started_at_us = _now_us()
        self.tapped = False
        self.marked_paused = False
        self.finished = False

    def on_packet(self, data: bytes, header: RtpHeader) -> None:
        """The hot path (a Forwarder tap): one clock read, two appends."""
        now = _time_ns() // 1000
        buffer = self.buffer
        buffer += _pack_record(_RTP, len(data), now)
        buffer += data
        self.last_us = now

    async def on_sender_report(self, report: RtcpSrPacket) -> None:
        info = report.sender_info
        payload = SenderReport(
            report.ssrc,
            info.ntp_timestamp,
            info.rtp_timestamp,
            info.packet_count,
            info.octet_count,
        ).pack()
        self.buffer += _pack_record(RecordType.SENDER_REPORT, len(payload), _now_us()) + payload

    def marker(self, kind: RecordType) -> None:
        self.buffer += _pack_record(kind, 0, _now_us())

    def tap(self) -> None:
        if not self.tapped and not self.finished:
            self.tapped = True
            self.publication.forwarder.add_tap(self.on_packet)
            self.publication.add_sender_report_listener(self.on_sender_report)
            self.publication.forwarder.request_keyframe()  # start decodable, not mid-GOP

    def untap(self) -> None:
        if self.tapped:
            self.tapped = False
            self.publication.forwarder.remove_tap(self.on_packet)
            self.publication.remove_sender_report_listener(self.on_sender_report)

    def take(self) -> bytearray:
        """What was appended since the last take (handed over whole, not copied)."""
        chunk = self.buffer
        if not chunk:
            return chunk
        self.buffer = bytearray()
        if self.first_us is None:
            self.first_us = _first_arrival(chunk)
        return chunk

    def meta(
        self, recording_id: str, room_id: RoomId, segment: int, chunk: bytearray
    ) -> dict[str, Any]:
        stream = self.publication.stream
        codec = stream.primary
        return {
            "format": "liveassist-track",
            "version": 1,
            "recording_id": recording_id,
            "room_id": room_id,
            "participant": self.participant,
            "role": self.role,
            "segment": segment,
            "connection": self.connection,
            "kind": stream.kind,
            "mime_type": codec.mime_type,
            "clock_rate": codec.clock_rate,
            "payload_type": codec.payload_type,
            "rtx_payload_type": codec.rtx_payload_type,
            "fmtp": dict(codec.parameters),
            "mid": stream.mid,
            "ssrc": _first_ssrc(chunk),
            "started_at_us": self.started_at_us,
        }


def _first_arrival(chunk: bytearray) -> int | None:
    _kind, _length, arrival = RECORD.unpack_from(chunk, 0)
    return int(arrival)


def _first_ssrc(chunk: bytearray) -> int | None:
    """The SSRC of the first RTP record in a chunk (the file header names it)."""
    offset = 0
    while offset + RECORD.size <= len(chunk):
        kind, length, _arrival = RECORD.unpack_from(chunk, offset)
        start = offset + RECORD.size
        if kind == RecordType.RTP and length >= 12:
            return int.from_bytes(chunk[start + 8 : start + 12], "big")
        offset = start + length
    return None


class RoomRecorder:
    """One room's part of a recording.

    Lifecycle: new → started (start(): directory and manifest written, writer thread and
    flush timer running) → recording ⇄ paused → stopped (stop(), idempotent: taps removed,
    buffers written, END on every track, files closed, thread ended). Participants that
    join or rejoin later are added by the room (add_participant/remove_participant); a
    rejoin's publications start new segments.
    """

    def __init__(
        self,
        room_id: RoomId,
        recording_id: str,
        directory: Path,
        on_state: StateListener,
        *,
        flush_interval: float = 1.0,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> None:
        self.room_id = room_id
        self.recording_id = recording_id
        self.directory = directory
        self._on_state = on_state
        self._flush_interval = flush_interval
        self._writer = DiskWriter(directory, max_pending=max_pending)
        self._tracks: dict[int, TrackRecorder] = {}
        """By id() of the publication."""
        self._finished: list[TrackRecorder] = []
        self._manifest: Manifest | None = None
        self._session: Session | None = None
        self._timer: asyncio.Task[None] | None = None
        self._paused = False
        self._started = False
        self._stopped = False
        self._failed: str | None = None
        self._degraded: str | None = None
        self._dropped = 0
        """Bytes dropped on the loop's side (the writer was behind, or had failed)."""
        self._files = 0
        self._connections = 0
        self._summary: RecordingSummary | None = None

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def state(self) -> RecordingStateName:
        """What the recording is doing now; a failure outranks a pause, a pause a drop."""
        if self._stopped:
            return "stopped"
        if self._failed is not None:
            return "failed"
        if self._paused:
            return "paused"
        if self._degraded is not None:
            return "degraded"
        return "recording"

    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def dropped_bytes(self) -> int:
        return self._dropped + self._writer.dropped

    async def start(self, participants: Iterable[RelayParticipant]) -> None:
        """Create the directory and write the manifest (off the loop); RecordingFailed if
        either fails. Then tap every publication of `participants`."""
        if self._started:
            return
        self._writer.start()
        try:
            self._manifest = await self._writer.call(self._prepare)
        except (OSError, ManifestError) as error:
            await self._writer.aclose()
            detail = getattr(error, "strerror", None) or str(error)
            raise RecordingFailed(f"cannot record into {self.directory}: {detail}") from error
        self._started = True
        for participant in participants:
            self.add_participant(participant)
        self._timer = asyncio.create_task(self._run(), name=f"recording-flush:{self.room_id}")
        self._emit()

    def _prepare(self) -> Manifest:
        self.directory.mkdir(parents=True, exist_ok=True)
        now = _now_us()
        try:
            manifest = manifest_file.load(self.directory)
        except ManifestError:
            if (self.directory / manifest_file.NAME).exists():
                raise
            manifest = Manifest(self.recording_id, now)
        if manifest.recording_id != self.recording_id:
            raise ManifestError(f"it holds recording {manifest.recording_id}")
        self._session = Session(str(self.room_id), os.getpid(), now)
        manifest.sessions.append(self._session)
        manifest.stopped_at_us = None
        manifest_file.write_atomically(self.directory, manifest_file.encode(manifest))
        return manifest

    def add_participant(self, participant: RelayParticipant) -> None:
        if not self._started or self._stopped:
            return
        self._connections += 1
        for publication in participant.publications:
            if id(publication) in self._tracks:
                continue
            role = participant.publication_roles[id(publication)]
            track = TrackRecorder(participant.participant_id, role, publication, self._connections)
            self._tracks[id(publication)] = track
            if not self._paused and self._failed is None:
                track.tap()

    def remove_participant(self, participant: RelayParticipant) -> None:
        """Its publications are going away (leave or rejoin): close their tracks now."""
        for publication in participant.publications:
            track = self._tracks.pop(id(publication), None)
            if track is not None:
                self._finish(track)

    def _finish(self, track: TrackRecorder) -> None:
        track.untap()
        track.marker(RecordType.END)
        track.finished = True
        self._flush_track(track)
        if track.file is not None:
            self._writer.close_file(track.file)
        self._finished.append(track)

    def pause(self) -> None:
        if self._stopped or self._paused:
            return
        self._paused = True
        for track in self._tracks.values():
            track.untap()
            track.marker(RecordType.PAUSED)
            track.marked_paused = True
        if self._failed is None:  # a failed recording stays reported as failed
            self._emit()

    def resume(self) -> None:
        if self._stopped or not self._paused:
            return
        self._paused = False
        for track in self._tracks.values():
            if track.marked_paused:
                track.marker(RecordType.RESUMED)
                track.marked_paused = False
            if self._failed is None:
                track.tap()
        if self._failed is None:
            self._emit()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._flush_interval)
            try:
                self.flush()
            except Exception:
                logger.exception("recording flush of %s failed", self.room_id)

    def flush(self) -> None:
        """Hand every buffer to the writer (the timer does this once a second)."""
        self._check_writer()
        for track in self._tracks.values():
            self._flush_track(track)

    def _check_writer(self) -> None:
        error = self._writer.error
        if error is not None and self._failed is None:
            self._failed = error
            for track in self._tracks.values():
                track.untap()  # nothing more can be written: stop paying for it
            if not self._stopped:
                self._emit()

    def _flush_track(self, track: TrackRecorder) -> None:
        chunk = track.take()
        if not chunk:
            return
        if self._failed is not None or self._manifest is None:
            self._dropped += len(chunk)
            return
        if track.file is None:
            if _first_ssrc(chunk) is None:
                return  # only markers so far (a publication that never sent): no file
            self._open(track, chunk)
            assert track.file is not None
        if not self._writer.append(track.file, chunk):
            self._dropped += len(chunk)
            if self._degraded is None:
                self._degraded = "the disk did not keep up: recording data was dropped"
                self._emit()

    def _open(self, track: TrackRecorder, chunk: bytearray) -> None:
        manifest = self._manifest
        assert manifest is not None and self._session is not None
        segment = manifest.next_segment(track.participant, track.role)
        name = f"{track.participant}.{track.role}.{segment:03d}{SUFFIX}"
        header = file_header(track.meta(self.recording_id, self.room_id, segment, chunk))
        self._writer.open(name, header)
        track.file = name
        self._files += 1
        manifest.tracks.append(
            TrackEntry(
                file=name,
                participant=track.participant,
                role=track.role,
                segment=segment,
                kind=track.publication.stream.kind,
                mime_type=track.publication.stream.mime_type,
                session=manifest.sessions.index(self._session),
                started_at_us=track.started_at_us,
                connection=track.connection,
            )
        )
        self._writer.write_manifest(manifest_file.encode(manifest))

    async def stop(self) -> RecordingSummary:
        """End the recording: the summary (the same one again on a second call)."""
        if self._summary is not None:
            return self._summary
        self._stopped = True
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer
        if self._started:
            self._check_writer()
            for track in list(self._tracks.values()):
                self._finish(track)
            self._tracks.clear()
            manifest, session = self._manifest, self._session
            if manifest is not None and session is not None:
                session.stopped_at_us = manifest.stopped_at_us = _now_us()
                session.state = self._outcome()
                session.reason = self._failed or self._degraded
                self._writer.write_manifest(manifest_file.encode(manifest))
        await self._writer.aclose()
        self._check_writer()
        tracks = [*self._finished, *self._tracks.values()]
        firsts = [t.first_us for t in tracks if t.first_us is not None and t.file]
        lasts = [t.last_us for t in tracks if t.last_us is not None and t.file]
        self._summary = RecordingSummary(
            recording_id=self.recording_id,
            outcome=self._outcome(),
            reason=self._failed or self._degraded,
            bytes=self._writer.written,
            dropped_bytes=self.dropped_bytes,
            tracks=self._files,
            first_packet_at_ms=min(firsts) // 1000 if firsts else None,
            last_packet_at_ms=max(lasts) // 1000 if lasts else None,
        )
        self._finished.clear()
        if self._started:
            self._emit()
        return self._summary

    def _outcome(self) -> RecordingOutcome:
        if self._failed is not None:
            return "failed"
        if self._degraded is not None or self.dropped_bytes:
            return "degraded"
        return "complete"

    def _emit(self) -> None:
        try:
            self._on_state(
                RecordingState(
                    self.room_id,
                    self.recording_id,
                    self.state,
                    self._failed or self._degraded,
                    self._writer.written,
                    self.dropped_bytes,
                )
            )
        except Exception:
            logger.exception("recording state listener failed")
