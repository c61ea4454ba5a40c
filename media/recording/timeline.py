"""One raw track file as media: packets in sequence order, once each, on the relay's clock.

The relay records packets as they arrive: out of order, twice (a NACK repair or an RTX
copy), with gaps (pause, camera off, a reconnect). Playback needs them in sequence order,
once, each with the time it was captured. That time comes from the RTP timestamp mapped
through the publisher's RTCP sender reports (RTP ↔ its NTP clock), so audio, camera and
screen of one publisher line up as they were captured, not as they happened to arrive.
The publisher's NTP clock is then moved onto the relay's clock with one offset per
publisher (the smallest arrival - capture seen), which keeps its tracks in sync with
each other and lines the two participants up by arrival.
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from media.recording.rawfile import Record, RecordType, SenderReport, TrackFile

_FIXED = struct.Struct("!BBHII")
RUN_BREAK_SECONDS = 1.0
"""An RTP clock that jumps this much further than the arrival clock moved, or goes back,
starts a new run (a restarted encoder: aiortc starts a replaced track's timestamps from
its origin again). A sender that stalls and catches up moves the arrival clock, not the
RTP clock, and does not break a run; neither does a pause (both clocks move alike)."""
SR_WINDOW_US = 10_000_000
"""Sender reports within ±10 s of a packet decide its time (clock drift over a long call)."""


@dataclass(frozen=True, slots=True)
class RtpPacket:
    ssrc: int
    seq: int
    """Extended (unwrapped) sequence number within its SSRC."""
    timestamp: int
    """Extended (unwrapped) RTP timestamp within its run."""
    marker: bool
    payload: bytes
    """Payload without header, extensions or padding."""
    arrival_us: int
    wall_us: int = 0
    """Capture time on the relay's clock (set by `map_times`)."""
    run: int = 0


class RtpParseError(ValueError):
    pass


def parse_rtp(data: bytes, arrival_us: int) -> tuple[int, int, int, bool, bytes]:
    """(ssrc, seq, timestamp, marker, payload) of one RTP packet."""
    if len(data) < 12:
        raise RtpParseError("shorter than an RTP header")
    first, second, seq, timestamp, ssrc = _FIXED.unpack_from(data)
    if first >> 6 != 2:
        raise RtpParseError("not RTP version 2")
    offset = 12 + 4 * (first & 0x0F)
    if first & 0x10:
        if offset + 4 > len(data):
            raise RtpParseError("extension header cut short")
        words = int.from_bytes(data[offset + 2 : offset + 4], "big")
        offset += 4 + 4 * words
    end = len(data)
    if first & 0x20 and end > offset:
        end -= data[-1]
    if offset > end:
        raise RtpParseError("header longer than the packet")
    return ssrc, seq, timestamp, bool(second & 0x80), data[offset:end]


@dataclass(slots=True)
class TrackMedia:
    """A track file's packets, ordered and de-duplicated, and its markers."""

    meta: dict[str, object]
    packets: list[RtpPacket]
    sender_reports: list[tuple[int, SenderReport]]
    """(arrival µs, report)."""
    markers: list[Record]
    duplicates: int = 0
    malformed: int = 0

    @property
    def clock_rate(self) -> int:
        rate = self.meta.get("clock_rate")
        return int(rate) if isinstance(rate, int) and rate > 0 else 90_000


def _unwrap(value: int, reference: int, bits: int) -> int:
    """The extended value nearest to `reference` whose low `bits` bits are `value`."""
    modulus = 1 << bits
    delta = (value - reference) % modulus
    if delta >= modulus // 2:
        delta -= modulus
    return reference + delta


def order_packets(track: TrackFile) -> TrackMedia:
    """Sequence order per SSRC (SSRCs in order of first arrival), duplicates dropped."""
    by_ssrc: dict[int, dict[int, RtpPacket]] = {}
    highest: dict[int, int] = {}
    reports: list[tuple[int, SenderReport]] = []
    markers: list[Record] = []
    duplicates = malformed = 0
    for rec in track.records:
        if rec.type == RecordType.RTP:
            try:
                ssrc, seq, timestamp, marker, payload = parse_rtp(rec.payload, rec.arrival_us)
            except RtpParseError:
                malformed += 1
                continue
            seen = by_ssrc.setdefault(ssrc, {})
            ext = seq if ssrc not in highest else _unwrap(seq, highest[ssrc], 16)
            highest[ssrc] = max(highest.get(ssrc, ext), ext)
            if ext in seen:
                duplicates += 1
                continue
            seen[ext] = RtpPacket(ssrc, ext, timestamp, marker, payload, rec.arrival_us)
        elif rec.type == RecordType.SENDER_REPORT:
            try:
                reports.append((rec.arrival_us, SenderReport.unpack(rec.payload)))
            except ValueError:
                malformed += 1
        elif rec.type in (RecordType.PAUSED, RecordType.RESUMED, RecordType.RESTART):
            markers.append(rec)
    packets: list[RtpPacket] = []
    for seen in by_ssrc.values():
        ordered = [seen[k] for k in sorted(seen)]
        packets.extend(_unwrap_timestamps(ordered))
    return TrackMedia(track.meta, packets, reports, markers, duplicates, malformed)


def _unwrap_timestamps(packets: list[RtpPacket]) -> list[RtpPacket]:
    out: list[RtpPacket] = []
    previous: int | None = None
    for packet in packets:
        ext = packet.timestamp if previous is None else _unwrap(packet.timestamp, previous, 32)
        previous = ext
        out.append(_replace(packet, timestamp=ext))
    return out


def _replace(packet: RtpPacket, **changes: int) -> RtpPacket:
    fields = {name: getattr(packet, name) for name in RtpPacket.__slots__}
    fields.update(changes)
    return RtpPacket(**fields)


def _runs(packets: list[RtpPacket], clock_rate: int) -> list[list[RtpPacket]]:
    """Split one SSRC's packets where the RTP clock and the arrival clock part ways."""
    runs: list[list[RtpPacket]] = []
    current: list[RtpPacket] = []
    for packet in packets:
        if current:
            last = current[-1]
            media = (packet.timestamp - last.timestamp) / clock_rate
            arrival = (packet.arrival_us - last.arrival_us) / 1e6
            jumped = media - max(arrival, 0.0) > RUN_BREAK_SECONDS or media < -0.1
            if packet.ssrc != last.ssrc or jumped:
                runs.append(current)
                current = []
        current.append(packet)
    if current:
        runs.append(current)
    return runs


def map_times(media: TrackMedia) -> list[RtpPacket]:
    """Every packet with `wall_us` on the *sender's* clock (its SRs), `run` numbered.

    A run without a usable sender report keeps arrival time (its clock is then the
    relay's: `sender_clock_runs` says which runs are on the sender's clock).
    """
    rate = media.clock_rate
    out: list[RtpPacket] = []
    for number, run in enumerate(_runs(media.packets, rate)):
        offsets = _sr_offsets(run, media.sender_reports, rate)
        if not offsets:
            # No sender report: the earliest arrival relative to its RTP time.
            base = min(p.arrival_us - p.timestamp * 1_000_000 // rate for p in run)
            out.extend(
                _replace(p, wall_us=base + p.timestamp * 1_000_000 // rate, run=-1 - number)
                for p in run
            )
            continue
        times = [t for t, _offset in offsets]
        for packet in run:
            lo = bisect.bisect_left(times, packet.arrival_us - SR_WINDOW_US)
            hi = bisect.bisect_right(times, packet.arrival_us + SR_WINDOW_US)
            window = offsets[lo:hi] or [min(offsets, key=lambda o: abs(o[0] - packet.arrival_us))]
            # The least delayed report is the closest to capture time (a sender that stamps
            # its SR when it sends, as aiortc does, adds its encoding delay to the others).
            base = min(offset for _t, offset in window)
            wall = base + packet.timestamp * 1_000_000 // rate
            out.append(_replace(packet, wall_us=wall, run=number))
    return out


def _sr_offsets(
    run: list[RtpPacket], reports: Iterable[tuple[int, SenderReport]], rate: int
) -> list[tuple[int, int]]:
    """(arrival µs, NTP µs - RTP µs) of each sender report that belongs to this run."""
    if not run:
        return []
    ssrc = run[0].ssrc
    first, last = run[0].arrival_us, run[-1].arrival_us
    arrivals = [p.arrival_us for p in run]
    lowest = min(p.timestamp for p in run) - rate // 2
    highest = max(p.timestamp for p in run) + rate // 2
    offsets: list[tuple[int, int]] = []
    for arrival, report in reports:
        if report.ssrc != ssrc or not first - 500_000 <= arrival <= last + 2_000_000:
            continue
        # The packet that arrived nearest the report anchors its 32-bit RTP time.
        i = min(bisect.bisect_left(arrivals, arrival), len(run) - 1)
        ext = _unwrap(report.rtp_timestamp, run[i].timestamp, 32)
        if not lowest <= ext <= highest:
            continue  # it describes another run of this SSRC
        offsets.append((arrival, report.wall_us - ext * 1_000_000 // rate))
    offsets.sort()
    return offsets


SR_CONSISTENT_US = 150_000
"""Tracks of one publisher whose floors (see `clock_offsets`) differ by more than this
were not timed by one capture clock."""


def floor(packets: Iterable[RtpPacket]) -> int | None:
    """The smallest arrival - capture of a track's sender-timed packets (None: none)."""
    deltas = [p.arrival_us - p.wall_us for p in packets if p.run >= 0]
    return min(deltas) if deltas else None


def clock_offsets(tracks: dict[str, int | None]) -> dict[str, int]:
    """Sender clock -> relay clock, per track of one publisher, from each track's floor.

    One offset for all of a publisher's tracks when their sender reports agree: the
    smallest arrival - capture (transit at its shortest), which keeps the tracks exactly
    as the sender reports put them. A sender that stamps its reports when it *sends*
    (aiortc does) and falls behind on a busy machine makes them disagree by its lag; then
    each track gets its own floor, so no track is placed before its packets arrived.
    """
    floors = {name: f for name, f in tracks.items() if f is not None}
    if not floors:
        return dict.fromkeys(tracks, 0)
    lowest, highest = min(floors.values()), max(floors.values())
    if highest - lowest <= SR_CONSISTENT_US:
        return dict.fromkeys(tracks, lowest)
    return {name: floors.get(name, lowest) for name in tracks}
