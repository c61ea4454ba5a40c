"""Figures of a bad-network run from Chromium's own getStats() samples (`--clients chromium`).

The Chromium pages (benchmarks/bad_network_page.js) sample getStats() every 250 ms; a
window's figure is the change between its first and last sample. The subscriber's
inbound-rtp gives what the aiortc viewer's packet taps give (loss before repair: Chromium
counts a packet recovered by retransmission as lost on the media SSRC; received kbit/s;
audio concealment) and Chromium's own view (freezes, NACKs, PLIs, jitter buffer); the
publisher's outbound-rtp shows the encoder adapting (sent kbit/s, target bitrate, frame
height) before, during and after a dip.
"""

from __future__ import annotations

from typing import Any

from benchmarks.report import _num, _table

Sample = dict[str, Any]
"""{"t": monotonic seconds, "video": {...}, "audio": {...}, "pair": {...}} (numbers, strings)."""


def _ends(samples: list[Sample], start: float, end: float) -> tuple[Sample, Sample] | None:
    inside = [s for s in samples if start <= s["t"] <= end]
    return (inside[0], inside[-1]) if len(inside) >= 2 else None


def _delta(ends: tuple[Sample, Sample], kind: str, field: str) -> float:
    first, last = ends
    return float(last.get(kind, {}).get(field, 0)) - float(first.get(kind, {}).get(field, 0))


def _ratio_pct(part: float, whole: float) -> float | None:
    return 100 * part / whole if whole > 0 else None


def _loss_pct(ends: tuple[Sample, Sample], kind: str) -> float | None:
    lost = _delta(ends, kind, "packetsLost")
    return _ratio_pct(lost, lost + _delta(ends, kind, "packetsReceived"))


def _kbit_s(ends: tuple[Sample, Sample], kind: str, field: str) -> float | None:
    seconds = ends[1]["t"] - ends[0]["t"]
    return 8 * _delta(ends, kind, field) / seconds / 1e3 if seconds > 0 else None


def receiver_figures(samples: list[Sample], start: float, end: float) -> dict[str, Any]:
    """The report's loss, kbit/s and audio columns, and Chromium's receiver figures."""
    ends = _ends(samples, start, end)
    if ends is None:
        raise RuntimeError(f"fewer than 2 getStats() samples of {len(samples)} in the window")
    emitted = _delta(ends, "video", "jitterBufferEmittedCount")
    return {
        "video_packet_loss_pct": _loss_pct(ends, "video"),
        "audio_missing_pct": _loss_pct(ends, "audio"),
        "audio_concealed_pct": _ratio_pct(
            _delta(ends, "audio", "concealedSamples"), _delta(ends, "audio", "totalSamplesReceived")
        ),
        "video_kbit_s": _kbit_s(ends, "video", "bytesReceived"),
        "receiver": {
            "frames_decoded": _delta(ends, "video", "framesDecoded"),
            "frames_dropped": _delta(ends, "video", "framesDropped"),
            "freeze_count": _delta(ends, "video", "freezeCount"),
            "freezes_s": _delta(ends, "video", "totalFreezesDuration"),
            "nack_count": _delta(ends, "video", "nackCount"),
            "pli_count": _delta(ends, "video", "pliCount"),
            "retransmitted_packets": _delta(ends, "video", "retransmittedPacketsReceived"),
            "keyframes_decoded": _delta(ends, "video", "keyFramesDecoded"),
            "jitter_buffer_ms": 1000 * _delta(ends, "video", "jitterBufferDelay") / emitted
            if emitted > 0
            else None,
            "frame_height_end": ends[1].get("video", {}).get("frameHeight"),
        },
    }


def _sent(samples: list[Sample], start: float, end: float) -> dict[str, Any] | None:
    ends = _ends(samples, start, end)
    if ends is None:
        return None
    inside = [s for s in samples if start <= s["t"] <= end and "video" in s]
    targets = [float(s["video"].get("targetBitrate", 0)) / 1e3 for s in inside]
    heights = [int(s["video"].get("frameHeight", 0)) for s in inside]
    available = [
        float(s["pair"]["availableOutgoingBitrate"]) / 1e3
        for s in inside
        if "availableOutgoingBitrate" in s.get("pair", {})
    ]
    return {
        "kbit_s": _kbit_s(ends, "video", "bytesSent"),
        "target_kbit_s_min": min(targets, default=None),
        "target_kbit_s_mean": sum(targets) / len(targets) if targets else None,
        "frame_height_min": min(heights, default=None),
        # the publisher's own bandwidth estimate (its send-side estimator, under any REMB)
        "available_kbit_s_min": min(available, default=None),
        "retransmitted_kbit_s": _kbit_s(ends, "video", "retransmittedBytesSent"),
        "limited_by": ends[1].get("video", {}).get("qualityLimitationReason"),
    }


def sender_figures(
    samples: list[Sample], window: tuple[float, float], dip: tuple[float, float] | None
) -> dict[str, Any]:
    """The publisher's video encoder over the window and, for a dip, before, in and after it."""
    start, end = window
    out: dict[str, Any] = {"window": _sent(samples, start, end)}
    if dip is not None:
        out["pre_dip"] = _sent(samples, start, dip[0])
        out["dip"] = _sent(samples, *dip)
        out["after_dip"] = _sent(samples, dip[1], end)
    return out


def chromium_table(paths: dict[str, dict[str, Any]]) -> str:
    """One row per run: what Chromium itself says about it (receiver, then sender)."""
    header = [
        "condition",
        "leg",
        "path",
        "received kbit/s",
        "Chromium freezes (s)",
        "NACKs",
        "PLIs",
        "jitter buffer ms",
        "sent kbit/s",
        "encoder target kbit/s mean (min)",
        "sent kbit/s before / in / after dip",
    ]
    rows = []
    for name, path in paths.items():
        for run in path["runs"]:
            receiver, sender = run.get("receiver"), run.get("sender")
            if run.get("error") or receiver is None or sender is None:
                continue
            window = sender.get("window") or {}

            def kbit(part: dict[str, Any] | None) -> str:
                return _num(part.get("kbit_s") if part else None)

            rows.append(
                [
                    run["condition"],
                    run["leg"],
                    name,
                    _num(run["video_kbit_s"]),
                    f"{_num(receiver['freeze_count'])} ({_num(receiver['freezes_s'], 2)})",
                    _num(receiver["nack_count"]),
                    _num(receiver["pli_count"]),
                    _num(receiver["jitter_buffer_ms"]),
                    _num(window.get("kbit_s")),
                    f"{_num(window.get('target_kbit_s_mean'))} "
                    f"({_num(window.get('target_kbit_s_min'))})",
                    " / ".join(kbit(sender.get(k)) for k in ("pre_dip", "dip", "after_dip"))
                    if "dip" in sender
                    else "",
                ]
            )
    return _table(header, rows) if rows else ""
