"""A raw recording → one standard file per participant and role, without decoding.

Pure functions for the job runner (a separate process, never a relay worker): each track
file is read, its packets ordered and de-duplicated by sequence number, timed from the
sender reports (media/recording/timeline.py), depacketized into frames and muxed. The
segments of one participant's role (rejoins, a move to another worker) become one file
in time order; gaps (pause, camera off, reconnect) stay gaps.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from media.recording import manifest as manifest_file
from media.recording.depacketize import Frame, FrameStats, opus_frames, video_frames
from media.recording.manifest import Manifest, TrackEntry
from media.recording.mux import Muxed, write_audio, write_video
from media.recording.rawfile import SUFFIX, RawFileError, RecordType, read_meta, read_track
from media.recording.timeline import (
    RtpPacket,
    TrackMedia,
    clock_offsets,
    floor,
    map_times,
    order_packets,
)

logger = logging.getLogger(__name__)

Progress = Callable[[float], None]
OutputKind = Literal["track", "composite"]
ROLE_ORDER = {"audio": 0, "camera": 1, "screen": 2}


@dataclass(frozen=True, slots=True)
class OutputFile:
    """One playable file made from a recording.

    participant: "customer" or "agent" (the relay's participant id; "both" for a
    composite); role: "audio", "camera" or "screen" ("all" for a composite).
    start_offset_ms: where its first frame sits after the recording's start
    (manifest.json's started_at_us, Unix µs).
    """

    path: Path
    participant: str
    role: str
    kind: OutputKind
    mime: str
    duration_ms: int
    start_offset_ms: int
    bytes: int


@dataclass(slots=True)
class TrackReport:
    """What reading one track file found (for logs and tests)."""

    file: str
    packets: int = 0
    duplicates: int = 0
    malformed: int = 0
    frames: FrameStats = field(default_factory=FrameStats)


def _nothing(_fraction: float) -> None:
    pass


def track_entries(recording_dir: Path, manifest: Manifest) -> list[TrackEntry]:
    """The manifest's tracks, plus track files it does not list yet (a crash between
    creating a file and rewriting the manifest), read from their own headers."""
    entries = [e for e in manifest.tracks if (recording_dir / e.file).exists()]
    listed = {e.file for e in entries}
    for path in sorted(recording_dir.glob(f"*{SUFFIX}")):
        if path.name in listed:
            continue
        try:
            with open(path, "rb") as handle:
                meta, _offset = read_meta(handle.read(70_000))
            entries.append(
                TrackEntry(
                    file=path.name,
                    participant=str(meta["participant"]),
                    role=str(meta["role"]),
                    segment=int(meta["segment"]),
                    kind=str(meta["kind"]),
                    mime_type=str(meta["mime_type"]),
                    session=max(len(manifest.sessions) - 1, 0),
                    started_at_us=int(meta["started_at_us"]),
                    connection=int(meta.get("connection", 0)),
                )
            )
        except (OSError, RawFileError, KeyError, TypeError, ValueError) as error:
            logger.warning("skipping %s: %s", path.name, error)
    return entries


def _read(recording_dir: Path, entry: TrackEntry, report: TrackReport) -> list[RtpPacket]:
    """The track's packets, ordered and timed on the sender's clock ([] if unreadable)."""
    try:
        media: TrackMedia = order_packets(read_track(recording_dir / entry.file))
    except (OSError, RawFileError) as error:
        logger.warning("skipping %s: %s", entry.file, error)
        return []
    report.packets = len(media.packets)
    report.duplicates = media.duplicates
    report.malformed = media.malformed
    return map_times(media)


def convert(
    recording_dir: Path,
    out_dir: Path,
    progress: Progress = _nothing,
    *,
    reports: list[TrackReport] | None = None,
) -> list[OutputFile]:
    """Per participant and role one file Chromium and ffprobe play: WebM (VP8, Opus) or MP4
    (H.264). `progress` gets 0..1 as work is done; `reports` (if given) collects what each
    track file held."""
    manifest = manifest_file.load(recording_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = track_entries(recording_dir, manifest)
    paused = [
        (manifest.started_at_us + a * 1000, manifest.started_at_us + b * 1000)
        for a, b in paused_spans(recording_dir)
    ]
    total = max(len(entries), 1) * 2
    done = 0
    # Pass 1, one track in memory at a time: how early each track's packets arrived
    # against their capture times (its floor).
    floors: dict[str, int | None] = {}
    track_reports: dict[str, TrackReport] = {}
    for entry in entries:
        report = track_reports[entry.file] = TrackReport(entry.file)
        floors[entry.file] = floor(_read(recording_dir, entry, report))
        done += 1
        progress(done / total)
    # The publisher's clock onto the relay's: per publisher (participant, session, peer
    # connection), whose tracks share one capture clock.
    offsets: dict[str, int] = {}
    publishers: dict[tuple[str, int, int], dict[str, int | None]] = {}
    for entry in entries:
        key = (entry.participant, entry.session, entry.connection)
        publishers.setdefault(key, {})[entry.file] = floors[entry.file]
    for tracks in publishers.values():
        offsets.update(clock_offsets(tracks))
    # Pass 2: each output, its tracks read again one after the other.
    outputs: list[OutputFile] = []
    for (participant, role), group in _by_participant_role(entries).items():
        for number, run in enumerate(_same_codec_runs(group)):
            stem = out_dir / (f"{participant}.{role}" + (f".{number + 1}" if number else ""))
            frames = _frames(recording_dir, run, offsets, track_reports, paused)
            muxed = (
                write_audio(frames, stem)
                if run[0].kind == "audio"
                else write_video(frames, stem, run[0].mime_type)
            )
            if muxed is not None:
                outputs.append(_output(muxed, participant, role, manifest))
            done += len(run)
            progress(min(done / total, 1.0))
    if reports is not None:
        reports.extend(track_reports.values())
    progress(1.0)
    return outputs


def _by_participant_role(entries: list[TrackEntry]) -> dict[tuple[str, str], list[TrackEntry]]:
    groups: dict[tuple[str, str], list[TrackEntry]] = {}
    for entry in sorted(
        entries, key=lambda e: (e.participant, ROLE_ORDER.get(e.role, 9), e.role, e.segment)
    ):
        groups.setdefault((entry.participant, entry.role), []).append(entry)
    return groups


def _same_codec_runs(group: list[TrackEntry]) -> list[list[TrackEntry]]:
    """Consecutive segments of one codec (a rejoin may bring another one: another file)."""
    runs: list[list[TrackEntry]] = []
    for entry in group:
        if runs and runs[-1][-1].mime_type.lower() == entry.mime_type.lower():
            runs[-1].append(entry)
        else:
            runs.append([entry])
    return runs


def _frames(
    recording_dir: Path,
    run: list[TrackEntry],
    offsets: dict[str, int],
    reports: dict[str, TrackReport],
    paused: list[tuple[int, int]],
) -> Iterator[Frame]:
    """The run's frames on the relay's clock, segment after segment; none captured while
    the recording was paused (a sender running late delivers some after the resume)."""
    for entry in run:
        offset = offsets[entry.file]
        packets = _read(recording_dir, entry, TrackReport(entry.file))
        shifted = [_shift(p, offset) if p.run >= 0 else p for p in packets]
        del packets
        stats = reports[entry.file].frames
        if entry.kind == "audio":
            yield from opus_frames(shifted, stats, paused)
        else:
            yield from video_frames(shifted, entry.mime_type, stats, paused)


def _shift(packet: RtpPacket, offset: int) -> RtpPacket:
    return RtpPacket(
        packet.ssrc,
        packet.seq,
        packet.timestamp,
        packet.marker,
        packet.payload,
        packet.arrival_us,
        packet.wall_us + offset,
        packet.run,
    )


def _output(muxed: Muxed, participant: str, role: str, manifest: Manifest) -> OutputFile:
    return OutputFile(
        path=muxed.path,
        participant=participant,
        role=role,
        kind="track",
        mime=muxed.mime,
        duration_ms=muxed.duration_ms,
        start_offset_ms=(muxed.first_wall_us - manifest.started_at_us) // 1000,
        bytes=muxed.path.stat().st_size,
    )


def paused_spans(recording_dir: Path) -> list[tuple[int, int]]:
    """(from_ms, to_ms) after the recording's start of every paused span, merged across
    tracks; a pause never resumed ends where its track ends."""
    manifest = manifest_file.load(recording_dir)
    spans: list[tuple[int, int]] = []
    for entry in track_entries(recording_dir, manifest):
        try:
            track = read_track(recording_dir / entry.file)
        except (OSError, RawFileError):
            continue
        paused_at: int | None = None
        for rec in track.records:
            if rec.type == RecordType.PAUSED and paused_at is None:
                paused_at = rec.arrival_us
            elif rec.type == RecordType.RESUMED and paused_at is not None:
                spans.append((paused_at, rec.arrival_us))
                paused_at = None
        if paused_at is not None and track.records:
            spans.append((paused_at, track.records[-1].arrival_us))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + 50_000:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    base = manifest.started_at_us
    return [((s - base) // 1000, (e - base) // 1000) for s, e in merged]
