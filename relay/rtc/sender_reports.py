"""Rewrite a publisher's RTCP sender report for one subscriber (A/V sync needs its NTP↔RTP map)."""

from __future__ import annotations

from aiortc.rtp import RtcpSenderInfo, RtcpSrPacket

_U32 = 0xFFFFFFFF


def rewrite_sender_report(
    report: RtcpSrPacket,
    *,
    ssrc: int,
    rtp_timestamp: int,
    packet_count: int,
    octet_count: int,
) -> bytes:
    """An SR with the publisher's NTP time and the given SSRC, RTP time and counts; no report
    blocks. The receiver pairs NTP with RTP time per SSRC, which is what lip sync uses."""
    return bytes(
        RtcpSrPacket(
            ssrc=ssrc,
            sender_info=RtcpSenderInfo(
                ntp_timestamp=report.sender_info.ntp_timestamp,
                rtp_timestamp=rtp_timestamp & _U32,
                packet_count=packet_count & _U32,
                octet_count=octet_count & _U32,
            ),
        )
    )
