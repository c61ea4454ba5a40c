"""manifest.json: which track files a recording directory holds, and when it started.

The relay worker rewrites it whenever a track file is added or the recording changes
state (write to a temporary file, then rename: a reader sees the old or the new one, never
half of one). A call that moves to another worker keeps recording into the same
directory: the new worker reads the manifest and adds its own session and segments.
Stdlib only: the relay worker imports it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

NAME = "manifest.json"
FORMAT = "liveassist-recording"
VERSION = 1


class ManifestError(ValueError):
    """manifest.json is missing, not JSON, or not a recording manifest."""


@dataclass(slots=True)
class TrackEntry:
    """One raw track file of the recording (one participant's role, one segment)."""

    file: str
    participant: str
    role: str
    segment: int
    kind: str
    mime_type: str
    session: int
    """Index into Manifest.sessions: which relay room wrote it."""
    started_at_us: int
    """When the track file was started (Unix µs, relay clock)."""
    connection: int = 0
    """Which of the session's peer connections published it (tracks of one connection
    share the publisher's clock; a rejoin is a new connection, maybe a new device)."""


@dataclass(slots=True)
class Session:
    """One relay room that recorded into this directory (a call that moves has several)."""

    room_id: str
    worker_pid: int
    started_at_us: int
    stopped_at_us: int | None = None
    state: str = "recording"
    reason: str | None = None


@dataclass(slots=True)
class Manifest:
    recording_id: str
    started_at_us: int
    """The recording's start (Unix µs): offsets in converted files count from here."""
    sessions: list[Session] = field(default_factory=list)
    tracks: list[TrackEntry] = field(default_factory=list)
    stopped_at_us: int | None = None
    recovered: bool = False
    """Set by media.recording.recover(): a worker died while recording."""

    def next_segment(self, participant: str, role: str) -> int:
        """Segment numbers of one participant's role continue across sessions."""
        used = [t.segment for t in self.tracks if (t.participant, t.role) == (participant, role)]
        return max(used, default=0) + 1

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, data: Any) -> Manifest:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ManifestError("not a LiveAssist recording manifest")
        if data.get("version") != VERSION:
            raise ManifestError(f"manifest version {data.get('version')!r} is not {VERSION}")
        try:
            return cls(
                recording_id=str(data["recording_id"]),
                started_at_us=int(data["started_at_us"]),
                sessions=[Session(**s) for s in data.get("sessions", [])],
                tracks=[TrackEntry(**t) for t in data.get("tracks", [])],
                stopped_at_us=data.get("stopped_at_us"),
                recovered=bool(data.get("recovered", False)),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ManifestError(f"malformed manifest: {error}") from error


def encode(manifest: Manifest) -> bytes:
    return json.dumps(manifest.to_json(), indent=1).encode() + b"\n"


def load(directory: Path) -> Manifest:
    path = directory / NAME
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError as error:
        raise ManifestError(f"{path} does not exist") from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ManifestError(f"{path} is not JSON: {error}") from error
    return Manifest.from_json(data)


def write_atomically(directory: Path, body: bytes | bytearray) -> None:
    """Replace manifest.json whole: temporary file, fsync, rename, so a crash leaves one
    complete manifest (the old or the new)."""
    temporary = directory / f".{NAME}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    try:
        view = memoryview(body)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, directory / NAME)
