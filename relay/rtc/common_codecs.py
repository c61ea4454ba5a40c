"""aiortc's codec negotiation without its deep copies.

Answering an offer, aiortc keeps, per m-line, its own codecs that the offer also lists
(`find_common_codecs`), and deep-copies every one it keeps: for a Chromium offer (23 video
codecs per m-line) that is 0.6 to 0.7 ms of a join on this VM, nearly all of it `copy.deepcopy`
walking small dataclasses. A codec holds only strings, ints, a list of feedback entries
and a dict of str/int values, so building the copy field by field gives the same result
— nothing shared with aiortc's codec tables or with the offer — for a fraction of the cost.
Installed per process (relay workers, the load generator) through aiortc_compat.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aiortc.codecs import is_rtx
from aiortc.rtcrtpparameters import RTCRtcpFeedback, RTCRtpCodecParameters
from aiortc.rtp import DYNAMIC_PAYLOAD_TYPES
from aiortc.sdp import parse_h264_profile_level_id

from relay.rtc import aiortc_compat


def common_codecs(
    local_codecs: list[RTCRtpCodecParameters], remote_codecs: list[RTCRtpCodecParameters]
) -> list[RTCRtpCodecParameters]:
    """What aiortc's find_common_codecs answers: in the offer's order, our compatible codec
    with the offer's dynamic payload type and only the feedback both sides list; an RTX
    entry of the offer's when the codec it repairs was kept (same clock rate)."""
    common: list[RTCRtpCodecParameters] = []
    kept: dict[int | None, RTCRtpCodecParameters] = {}
    ours = [(compatibility(local), local) for local in local_codecs]
    for remote in remote_codecs:
        if is_rtx(remote):
            apt = remote.parameters.get("apt")
            if isinstance(apt, int) and apt in kept and remote.clockRate == kept[apt].clockRate:
                common.append(_copy(remote, remote.rtcpFeedback))
            continue
        theirs = compatibility(remote)
        if theirs is None:
            continue
        for key, local in ours:
            if key == theirs:
                feedback = [entry for entry in local.rtcpFeedback if entry in remote.rtcpFeedback]
                codec = _copy(local, feedback)
                if remote.payloadType in DYNAMIC_PAYLOAD_TYPES:
                    codec.payloadType = remote.payloadType
                common.append(codec)
                kept[codec.payloadType] = codec
                break
    return common


def compatibility(codec: RTCRtpCodecParameters) -> tuple[Any, ...] | None:
    """Equal for two codecs exactly when aiortc's is_codec_compatible says they are: same
    type and clock rate and, for H.264, the same packetization mode and profile (a missing
    profile-level-id reads as constrained baseline 3.1); None when aiortc would refuse the
    codec with anything (an H.264 mode or profile it cannot read)."""
    mime = codec.mimeType.lower()
    if mime != "video/h264":
        return (mime, codec.clockRate)
    try:
        packetization = int(codec.parameters.get("packetization-mode", "0"))  # type: ignore[arg-type]
    except ValueError:
        return None
    profile = _h264_profile(str(codec.parameters.get("profile-level-id", "42E01F")))
    return None if profile is None else (mime, codec.clockRate, packetization, profile)


@lru_cache(maxsize=256)
def _h264_profile(profile_level_id: str) -> Any:
    """The H.264 profile a profile-level-id names (None: unreadable); browsers offer the
    same handful in every offer, so each is parsed once."""
    try:
        return parse_h264_profile_level_id(profile_level_id)[0]
    except ValueError:
        return None


def _copy(codec: RTCRtpCodecParameters, feedback: list[RTCRtcpFeedback]) -> RTCRtpCodecParameters:
    """A codec sharing no mutable part with `codec` (its parameters are str/int/None)."""
    return RTCRtpCodecParameters(
        mimeType=codec.mimeType,
        clockRate=codec.clockRate,
        channels=codec.channels,
        payloadType=codec.payloadType,
        rtcpFeedback=[RTCRtcpFeedback(entry.type, entry.parameter) for entry in feedback],
        parameters=dict(codec.parameters),
    )


def install() -> None:
    """Every answer and offer aiortc negotiates in this process uses common_codecs."""
    aiortc_compat.install_common_codecs(common_codecs)
