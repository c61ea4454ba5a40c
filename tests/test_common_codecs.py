"""The relay's codec negotiation (relay/rtc/common_codecs.py) answers exactly what aiortc's
own does, for a real Chromium offer and for an aiortc client's, and its codecs share nothing
with aiortc's codec tables or with the offer (a later change to one must not reach the other)."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiortc import RTCPeerConnection
from aiortc.codecs import CODECS
from aiortc.rtcpeerconnection import find_common_codecs
from aiortc.rtcrtpparameters import RTCRtcpFeedback, RTCRtpCodecParameters
from aiortc.sdp import SessionDescription

from relay.rtc.common_codecs import common_codecs

CHROMIUM_OFFER = Path(__file__).parent / "fixtures" / "chromium-156-offer.sdp"


async def aiortc_offer() -> str:
    pc = RTCPeerConnection()
    try:
        for kind in ("audio", "video", "video"):
            pc.addTransceiver(kind, direction="sendrecv")
        offer = await pc.createOffer()
        return offer.sdp
    finally:
        await pc.close()


def offered(sdp: str) -> list[tuple[str, list[RTCRtpCodecParameters]]]:
    return [(media.kind, media.rtp.codecs) for media in SessionDescription.parse(sdp).media]


async def test_the_same_codecs_as_aiortc_for_chromium_and_aiortc_offers() -> None:
    for sdp in (CHROMIUM_OFFER.read_text(), await aiortc_offer()):
        for kind, remote in offered(sdp):
            ours = common_codecs(CODECS[kind], remote)
            assert ours == find_common_codecs(CODECS[kind], remote)
            assert ours, f"no {kind} codec kept"


def test_h264_profiles_and_rtx_follow_aiortc() -> None:
    """An H.264 profile aiortc lacks, or cannot read, is skipped; RTX is kept only for a kept
    codec of the same clock rate; a static payload type stays ours."""
    remote = [
        RTCRtpCodecParameters(
            "video/H264", 90000, payloadType=96, parameters={"profile-level-id": "zzzzzz"}
        ),
        RTCRtpCodecParameters(
            "video/H264", 90000, payloadType=97, parameters={"packetization-mode": "x"}
        ),
        RTCRtpCodecParameters(
            "video/H264",
            90000,
            payloadType=100,
            parameters={"packetization-mode": "1", "profile-level-id": "640032"},
        ),
        RTCRtpCodecParameters("video/rtx", 90000, payloadType=101, parameters={"apt": 100}),
        RTCRtpCodecParameters(
            "video/H264",
            90000,
            payloadType=102,
            parameters={"packetization-mode": "1", "profile-level-id": "42e01f"},
            rtcpFeedback=[RTCRtcpFeedback("nack"), RTCRtcpFeedback("goog-remb")],
        ),
        RTCRtpCodecParameters("video/rtx", 90000, payloadType=103, parameters={"apt": 102}),
        RTCRtpCodecParameters("video/rtx", 48000, payloadType=104, parameters={"apt": 102}),
        RTCRtpCodecParameters("video/VP8", 90000, payloadType=8),
    ]
    ours = common_codecs(CODECS["video"], remote)
    assert ours == find_common_codecs(CODECS["video"], remote)
    assert [c.payloadType for c in ours] == [102, 103, CODECS["video"][0].payloadType]


def vp8(payload_type: int) -> RTCRtpCodecParameters:
    return RTCRtpCodecParameters(
        "video/VP8",
        90000,
        payloadType=payload_type,
        rtcpFeedback=[RTCRtcpFeedback("nack", "pli")],
        parameters={"x": 1},
    )


@pytest.mark.parametrize("side", ["local", "remote"])
def test_kept_codecs_share_nothing_with_either_side(side: str) -> None:
    local = [
        vp8(97),
        RTCRtpCodecParameters("video/rtx", 90000, payloadType=98, parameters={"apt": 97}),
    ]
    remote = [
        vp8(120),
        RTCRtpCodecParameters(
            "video/rtx",
            90000,
            payloadType=121,
            parameters={"apt": 120},
            rtcpFeedback=[RTCRtcpFeedback("nack")],
        ),
    ]
    source = local if side == "local" else remote
    before = repr(source)
    kept = common_codecs(local, remote)
    assert [c.payloadType for c in kept] == [120, 121]
    for codec in kept:
        codec.parameters["changed"] = 1
        codec.rtcpFeedback.append(RTCRtcpFeedback("transport-cc"))
        for entry in codec.rtcpFeedback:
            entry.parameter = "changed"
    assert repr(source) == before
