"""Fan one published stream's encoded packets out to N down tracks and taps, never decoding."""

from __future__ import annotations

import logging
from collections.abc import Callable
from time import perf_counter_ns

from relay.metrics import COUNTERS, SAMPLE_EVERY
from relay.packet.keyframe_requests import KeyframeRequester
from relay.packet.rtp_header import RtpHeader, RtpHeaderError, is_vp8_keyframe_start, parse_header
from relay.packet.upstream_repair import UpstreamRepair
from relay.rtc.down_track import DownTrack

logger = logging.getLogger(__name__)

RESTART_SKIP = 512
"""Sequence numbers left out at a restart after loss: aiortc's video jitter buffer holds
512 packets and waits on a hole until the newest is that far ahead, so the keyframe lands
past any hole it still waits on. A browser assembles the keyframe anyway; it may NACK the
skipped numbers (the relay has nothing for them and sends nothing)."""
PacketTap = Callable[[bytes, RtpHeader], None]
"""Receives every incoming packet (decrypted, unmodified), e.g. the recorder; must not block."""
KeyframeDetector = Callable[[bytes, RtpHeader], bool]


class Forwarder:
    """One published stream → N subscribers' down tracks, plus taps.

    Lifecycle: open → closed; close() closes every down track and the keyframe requester.
    The hot path is on_rtp(): one header parse, at most one keyframe check, then per
    down track a header rewrite and a send.
    """

    def __init__(
        self,
        *,
        keyframe_requester: KeyframeRequester | None,
        keyframe_detector: KeyframeDetector | None = is_vp8_keyframe_start,
        repair: UpstreamRepair | None = None,
    ) -> None:
        self._requester = keyframe_requester
        self._detector = keyframe_detector
        self._repair = repair
        self._down_tracks: list[DownTrack] = []
        self._taps: list[PacketTap] = []
        self._source_ssrc: int | None = None
        self._keyframe_asked_at: float | None = None
        """When a keyframe was last asked for and none has passed since (else None)."""
        self._closed = False
        self.received = 0
        self.malformed = 0
        self.restarts = 0

    @property
    def down_tracks(self) -> tuple[DownTrack, ...]:
        return tuple(self._down_tracks)

    @property
    def source_ssrc(self) -> int | None:
        """The publisher's current SSRC, once a packet has arrived."""
        return self._source_ssrc

    @property
    def keyframe_requester(self) -> KeyframeRequester | None:
        return self._requester

    @property
    def video(self) -> bool:
        return self._detector is not None

    def add_down_track(self, down_track: DownTrack) -> None:
        if self._closed:
            raise RuntimeError("forwarder is closed")
        self._down_tracks.append(down_track)
        if down_track.waiting_for_keyframe:
            self.request_keyframe()

    def remove_down_track(self, down_track: DownTrack) -> None:
        if down_track in self._down_tracks:
            self._down_tracks.remove(down_track)
        down_track.close()

    def add_tap(self, tap: PacketTap) -> None:
        self._taps.append(tap)

    def remove_tap(self, tap: PacketTap) -> None:
        if tap in self._taps:
            self._taps.remove(tap)

    def restart_at_keyframe(self, lost: list[int]) -> None:
        """Packets are lost for good upstream: each hole a subscriber already has is filled
        with padding, then every video down track drops what follows until the next
        keyframe, which is asked for now, and carries on from it RESTART_SKIP sequence
        numbers further. Else a subscriber's decoder stalls on a hole (this one, or one
        lost on its own leg that its NACK did not repair) until it asks for a keyframe
        itself: aiortc's does only once its 512-packet jitter buffer overflows (17 s of
        30 fps video)."""
        if not self.video or self._closed:
            return
        source = self._source_ssrc
        for down_track in self._down_tracks:
            if source is not None and lost:
                down_track.fill_lost(source, lost)
            down_track.source_changed(wait_for_keyframe=True, skip=RESTART_SKIP)
        self.restarts += 1
        self.request_keyframe()

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe, and again every paced interval until one
        passes: a PLI lost on a lossy uplink would otherwise leave every subscriber (and the
        recording) waiting for the sender's next keyframe of its own, if it ever sends one."""
        requester = self._requester
        if requester is not None and self.video and not self._closed:
            self._keyframe_asked_at = requester.clock()
            requester.request()

    def on_rtp(self, data: bytes) -> None:
        """Forward one decrypted RTP packet from the publisher."""
        if self._closed:
            return
        try:
            header = parse_header(data)
        except RtpHeaderError:
            self.malformed += 1
            return
        self.received += 1
        COUNTERS.packets_received += 1
        if COUNTERS.packets_received % SAMPLE_EVERY == 0:
            began = perf_counter_ns()
            self._forward(data, header)
            COUNTERS.forward_time.observe((perf_counter_ns() - began) / 1000)
        else:
            self._forward(data, header)

    def _forward(self, data: bytes, header: RtpHeader) -> None:
        if header.ssrc != self._source_ssrc:
            self._new_source(header.ssrc)
        if self._repair is not None and not self._repair.on_sequence(header.sequence_number):
            return
        for tap in self._taps:
            try:
                tap(data, header)
            except Exception:
                logger.exception("packet tap failed; removing it")
                self._taps = [t for t in self._taps if t is not tap]
        keyframe_start = False
        if self._detector is not None:
            if self._keyframe_asked_at is not None:
                keyframe_start = self._detector(data, header)
                if keyframe_start:
                    self._keyframe_asked_at = None
                else:
                    self._ask_again()
            else:
                for down_track in self._down_tracks:
                    if down_track.waiting_for_keyframe:
                        keyframe_start = self._detector(data, header)
                        break
        for down_track in self._down_tracks:
            down_track.forward(data, header, keyframe_start)

    def _ask_again(self) -> None:
        requester = self._requester
        asked = self._keyframe_asked_at
        if requester is not None and asked is not None:
            now = requester.clock()
            if now - asked >= requester.min_interval:
                self._keyframe_asked_at = now
                requester.request()

    def _new_source(self, ssrc: int) -> None:
        first = self._source_ssrc is None
        self._source_ssrc = ssrc
        if self._repair is not None:
            self._repair.reset()
        if first:
            return
        for down_track in self._down_tracks:
            down_track.source_changed(wait_for_keyframe=self.video)
        self.request_keyframe()

    async def close(self) -> None:
        """Close every down track and the keyframe requester; idempotent."""
        if self._closed:
            return
        self._closed = True
        for down_track in self._down_tracks:
            down_track.close()
        self._down_tracks.clear()
        self._taps.clear()
        if self._requester is not None:
            await self._requester.close()
        if self._repair is not None:
            await self._repair.close()
