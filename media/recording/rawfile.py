"""The raw track file: what the relay worker appends while a call is recorded.

One file per (participant, role, segment). Appending must cost the relay about a `write`,
and a `kill -9` must leave a file that reads up to its last whole record, so the format is
a small header followed by fixed-header records and nothing is ever rewritten in place
(the Janus `.mjr` idea). docs/recording-format.md describes it for outside readers.

    file    = MAGIC (8 bytes) | meta_length u32 | meta (UTF-8 JSON object) | record*
    record  = type u8 | length u32 | arrival_us u64 | payload (length bytes)

All integers are big-endian. `arrival_us` is the relay's wall clock (Unix microseconds)
when the packet arrived, or when the marker was written. This module is stdlib only: the
relay worker imports it.
"""

from __future__ import annotations

import enum
import json
import mmap
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAGIC = b"LAREC01\n"
"""ASCII: format name and version 01; a newline so `head -c 8` shows it."""
SUFFIX = ".rtprec"
META_LENGTH = struct.Struct("!I")
RECORD = struct.Struct("!BIQ")
"""type, payload length, arrival time (µs): 13 bytes in front of every payload."""
SENDER_REPORT = struct.Struct("!IQIII")
"""ssrc, NTP timestamp (64-bit fixed point), RTP timestamp, packet count, octet count."""
MAX_META = 64 * 1024
MAX_PAYLOAD = 1 << 20
"""No RTP packet or marker comes near this; a larger length means a damaged file."""
NTP_UNIX_OFFSET = 2_208_988_800
"""Seconds from the NTP epoch (1900) to the Unix epoch (1970)."""


class RecordType(enum.IntEnum):
    """What a record holds; readers skip types they do not know (forward compatibility)."""

    RTP = 1
    """An RTP packet exactly as it arrived (decrypted, header and extensions unmodified)."""
    SENDER_REPORT = 2
    """The publisher's RTCP sender report for this track: SENDER_REPORT struct."""
    PAUSED = 3
    """Recording paused: nothing is recorded until RESUMED."""
    RESUMED = 4
    RESTART = 5
    """The publisher's stream restarted (a new SSRC): its RTP clock may jump."""
    END = 6
    """The track was closed cleanly; a file without it was cut short (a crash)."""


class RawFileError(ValueError):
    """Not a raw track file, or its header is damaged."""


@dataclass(frozen=True, slots=True)
class SenderReport:
    ssrc: int
    ntp: int
    rtp_timestamp: int
    packet_count: int
    octet_count: int

    @property
    def wall_us(self) -> int:
        """The NTP time as Unix microseconds (the sender's clock, not the relay's)."""
        seconds, fraction = self.ntp >> 32, self.ntp & 0xFFFFFFFF
        return (seconds - NTP_UNIX_OFFSET) * 1_000_000 + (fraction * 1_000_000 >> 32)

    def pack(self) -> bytes:
        return SENDER_REPORT.pack(
            self.ssrc, self.ntp, self.rtp_timestamp, self.packet_count, self.octet_count
        )

    @classmethod
    def unpack(cls, payload: bytes | memoryview) -> SenderReport:
        if len(payload) < SENDER_REPORT.size:
            raise RawFileError("sender report record too short")
        return cls(*SENDER_REPORT.unpack_from(payload))


@dataclass(frozen=True, slots=True)
class Record:
    type: int
    arrival_us: int
    payload: bytes
    offset: int
    """Where the record starts in the file."""


def file_header(meta: dict[str, Any]) -> bytes:
    """MAGIC, then the track's metadata as JSON with its length."""
    body = json.dumps(meta, separators=(",", ":"), sort_keys=True).encode()
    if len(body) > MAX_META:
        raise ValueError("track metadata too large")
    return MAGIC + META_LENGTH.pack(len(body)) + body


def record(kind: RecordType, arrival_us: int, payload: bytes = b"") -> bytes:
    """One whole record (the relay's hot path packs the header inline: relay/rtc/recorder.py)."""
    return RECORD.pack(kind, len(payload), arrival_us) + payload


@dataclass(frozen=True, slots=True)
class TrackFile:
    """A raw track file read up to its last whole record."""

    path: Path
    meta: dict[str, Any]
    records: list[Record]
    valid_length: int
    """Bytes up to the end of the last whole record: what a torn file is truncated to."""
    file_length: int

    @property
    def torn(self) -> bool:
        """The file ends inside a record (the writer was killed mid-write)."""
        return self.valid_length < self.file_length

    @property
    def ended(self) -> bool:
        """Closed cleanly: the last record is END."""
        return bool(self.records) and self.records[-1].type == RecordType.END


def read_meta(data: bytes | memoryview | mmap.mmap) -> tuple[dict[str, Any], int]:
    """The metadata and the offset of the first record; RawFileError if the header is bad."""
    if bytes(data[: len(MAGIC)]) != MAGIC:
        raise RawFileError("not a LiveAssist raw track file (bad magic)")
    if len(data) < len(MAGIC) + META_LENGTH.size:
        raise RawFileError("header cut short")
    (length,) = META_LENGTH.unpack_from(data, len(MAGIC))
    start = len(MAGIC) + META_LENGTH.size
    if length > MAX_META or start + length > len(data):
        raise RawFileError("header cut short or damaged")
    try:
        meta = json.loads(bytes(data[start : start + length]))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RawFileError(f"metadata is not JSON: {error}") from error
    if not isinstance(meta, dict):
        raise RawFileError("metadata is not a JSON object")
    return meta, start + length


def iter_records(data: bytes | memoryview | mmap.mmap, offset: int) -> Iterator[Record]:
    """Whole records from `offset`; stops silently at a torn or damaged tail."""
    end = len(data)
    while offset + RECORD.size <= end:
        kind, length, arrival_us = RECORD.unpack_from(data, offset)
        start = offset + RECORD.size
        if kind == 0 or length > MAX_PAYLOAD or start + length > end:
            return
        yield Record(kind, arrival_us, bytes(data[start : start + length]), offset)
        offset = start + length


def read_track(path: Path) -> TrackFile:
    """Read a whole track file; a torn last record is left out (see TrackFile.torn).

    The file is mapped, not read into memory: only the payloads are copied."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            raise RawFileError("empty file")
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            meta, offset = read_meta(data)
            records = list(iter_records(data, offset))
    valid = offset
    if records:
        last = records[-1]
        valid = last.offset + RECORD.size + len(last.payload)
    return TrackFile(path, meta, records, valid, size)


def truncate_torn_tail(path: Path) -> int:
    """Cut a torn last record off the file; the number of bytes removed."""
    track = read_track(path)
    removed = track.file_length - track.valid_length
    if removed:
        with open(path, "r+b") as handle:
            handle.truncate(track.valid_length)
            handle.flush()
            os.fsync(handle.fileno())
    return removed
