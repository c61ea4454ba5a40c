"""Every 2 s, each participant's link as the relay measures it (LinkReport), for signaling to
grade beside the clients' own call.stats.

The clients' figures say what their browser sees; these say what the relay sees, per
direction: a customer whose page sends no stats (or wrong ones) still gets a grade, and an
agent can tell an uplink problem from a downlink one. Off the hot path: one pass over the
rooms per interval reads counters the packet path keeps anyway.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from relay.interface import MAX_LINK_MS, LinkReport, ParticipantId, RoomId
from relay.rtc.participant import RelayParticipant
from relay.rtc.periodic import Periodic
from relay.rtc.room import Room

logger = logging.getLogger(__name__)

LinkReportListener = Callable[[LinkReport], None]
STALE_AFTER = 5.0
"""A client's receiver report older than this (seconds) no longer speaks for its downlink."""


class LinkMonitor:
    """Lifecycle: start() → stop() (idempotent); check() is one pass, for tests."""

    def __init__(
        self,
        rooms: Callable[[], Iterable[Room]],
        on_report: LinkReportListener,
        *,
        interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rooms = rooms
        self._on_report = on_report
        self._clock = clock
        self._counted: dict[int, tuple[int, int]] = {}
        """id(publication) → (expected, lost) at the last check."""
        self._down_counted: dict[tuple[int, int], tuple[int, int]] = {}
        """(id(leg), SSRC) → the client's (extended highest seq, cumulative lost) then: its
        downlink loss over the interval, not its last report's (which may cover a few ms)."""
        self._timer = Periodic(self.check, interval, "link report")

    def start(self) -> None:
        self._timer.start()

    async def stop(self) -> None:
        await self._timer.stop()

    def check(self) -> None:
        counted: dict[int, tuple[int, int]] = {}
        down_counted: dict[tuple[int, int], tuple[int, int]] = {}
        now = self._clock()
        for room in self._rooms():
            for participant_id, participant in list(room.participants.items()):
                report = self._report(
                    room.room_id, participant_id, participant, (counted, down_counted), now
                )
                if report is None:
                    continue
                try:
                    self._on_report(report)
                except Exception:
                    logger.exception("link report listener failed")
        self._counted = counted  # publications gone since are forgotten
        self._down_counted = down_counted

    def _report(
        self,
        room_id: RoomId,
        participant_id: ParticipantId,
        participant: RelayParticipant,
        counters: tuple[dict[int, tuple[int, int]], dict[tuple[int, int], tuple[int, int]]],
        now: float,
    ) -> LinkReport | None:
        counted, down_counted = counters
        expected = lost = 0
        jitter: float | None = None
        for publication in participant.publications:
            stats = publication.receive
            counted[id(publication)] = (stats.expected, stats.cumulative_lost)
            before_expected, before_lost = self._counted.get(id(publication), (0, 0))
            if stats.expected < before_expected:  # restarted (a new SSRC): count afresh
                before_expected = before_lost = 0
            expected += stats.expected - before_expected
            lost += max(stats.cumulative_lost - before_lost, 0)
            if stats.received:
                jitter = max(jitter or 0.0, stats.jitter_seconds)
        uplink_loss = min(100.0 * lost / expected, 100.0) if expected > 0 else None
        rtt: float | None = None
        down_expected = down_lost = 0
        down_jitter: float | None = None
        for leg in participant.legs:
            if leg.rtt is not None:
                rtt = leg.rtt if rtt is None else min(rtt, leg.rtt)
            for ssrc, downlink in list(leg.downlink.items()):
                if now - downlink.at > STALE_AFTER:
                    continue
                key = (id(leg), ssrc)
                down_counted[key] = (downlink.highest_sequence, downlink.packets_lost)
                down_jitter = max(down_jitter or 0.0, downlink.jitter_seconds)
                before = self._down_counted.get(key)
                if before is None or downlink.highest_sequence < before[0]:
                    continue  # the first report of it (or it restarted): measured next time
                down_expected += downlink.highest_sequence - before[0]
                down_lost += max(downlink.packets_lost - before[1], 0)
        down_loss = min(100.0 * down_lost / down_expected, 100.0) if down_expected > 0 else None
        if rtt is None and uplink_loss is None and down_loss is None:
            return None
        return LinkReport(
            room_id,
            participant_id,
            rtt_ms=_millis(rtt),
            uplink_loss_pct=None if uplink_loss is None else round(uplink_loss, 2),
            uplink_jitter_ms=_millis(jitter) if uplink_loss is not None else None,
            downlink_loss_pct=None if down_loss is None else round(down_loss, 2),
            downlink_jitter_ms=_millis(down_jitter),
        )


def _millis(seconds: float | None) -> float | None:
    return None if seconds is None else round(min(seconds * 1000, MAX_LINK_MS), 1)
