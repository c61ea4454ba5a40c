"""Finish a recording that a crashed relay worker left behind.

A `kill -9` leaves each track file ending at a whole record or inside one, and a
manifest that may not list the last files yet and whose session never stopped. recover()
makes it what a clean stop would have left, as far as the data goes: torn tails cut off,
every track file listed, open sessions closed as `interrupted` at their last record.
Running it again changes nothing. The lead's job marks the recording `interrupted`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from media.recording import manifest as manifest_file
from media.recording.convert import track_entries
from media.recording.manifest import Manifest, ManifestError
from media.recording.rawfile import SUFFIX, RawFileError, read_meta, read_track, truncate_torn_tail


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    recording_dir: Path
    tracks: int
    """Track files the recording holds now."""
    truncated: dict[str, int]
    """Bytes cut off the end of each torn file (file name → bytes)."""
    added: list[str]
    """Track files the manifest did not list (created just before the crash)."""
    unreadable: list[str]
    """Files that are not track files at all (a header cut short): left alone, not listed."""
    interrupted_sessions: int
    """Sessions that had not stopped (their worker died)."""
    last_record_at_us: int | None
    """The latest record in any track (Unix µs): where the recording really ends."""
    manifest_rebuilt: bool
    """manifest.json was missing or unreadable and was made again from the track headers."""


def recover(recording_dir: Path) -> RecoveryReport:
    rebuilt = False
    try:
        manifest = manifest_file.load(recording_dir)
    except ManifestError:
        manifest = _rebuild(recording_dir)
        rebuilt = True
    truncated: dict[str, int] = {}
    unreadable: list[str] = []
    for path in sorted(recording_dir.glob(f"*{SUFFIX}")):
        try:
            removed = truncate_torn_tail(path)
        except RawFileError:
            unreadable.append(path.name)
            continue
        if removed:
            truncated[path.name] = removed
    listed = {t.file for t in manifest.tracks}
    entries = track_entries(recording_dir, manifest)
    added = [e.file for e in entries if e.file not in listed and e.file not in unreadable]
    manifest.tracks = [e for e in entries if e.file not in unreadable]
    last_by_session: dict[int, int] = {}
    for entry in manifest.tracks:
        track = read_track(recording_dir / entry.file)
        if track.records:
            last = track.records[-1].arrival_us
            last_by_session[entry.session] = max(last_by_session.get(entry.session, 0), last)
    interrupted = 0
    for index, session in enumerate(manifest.sessions):
        if session.stopped_at_us is None:
            interrupted += 1
            session.stopped_at_us = last_by_session.get(index, session.started_at_us)
            session.state = "interrupted"
            session.reason = "the relay worker stopped without ending the recording"
    last_record: int | None = max(last_by_session.values(), default=None)
    if manifest.stopped_at_us is None or interrupted:
        ends = [s.stopped_at_us for s in manifest.sessions if s.stopped_at_us is not None]
        manifest.stopped_at_us = max([*ends, last_record or 0, manifest.started_at_us])
    if interrupted or rebuilt:
        manifest.recovered = True
    manifest_file.write_atomically(recording_dir, manifest_file.encode(manifest))
    return RecoveryReport(
        recording_dir=recording_dir,
        tracks=len(manifest.tracks),
        truncated=truncated,
        added=added,
        unreadable=unreadable,
        interrupted_sessions=interrupted,
        last_record_at_us=last_record,
        manifest_rebuilt=rebuilt,
    )


def _rebuild(recording_dir: Path) -> Manifest:
    """A manifest from the track files' own headers (the first write never happened)."""
    metas = []
    for path in sorted(recording_dir.glob(f"*{SUFFIX}")):
        try:
            with open(path, "rb") as handle:
                meta, _offset = read_meta(handle.read(70_000))
        except (OSError, RawFileError):
            continue
        metas.append(meta)
    if not metas:
        raise ManifestError(f"{recording_dir} holds no manifest and no readable track file")
    started = min(int(m.get("started_at_us", 0)) for m in metas)
    manifest = Manifest(
        recording_id=str(metas[0].get("recording_id", "unknown")), started_at_us=started
    )
    manifest.sessions.append(
        manifest_file.Session(
            room_id=str(metas[0].get("room_id", "unknown")), worker_pid=0, started_at_us=started
        )
    )
    return manifest
