"""Refuse, before aiortc parses it, an offer aiortc would accept and then fail on, or one that
would cost the relay far more than a call needs.

The protocol's offer has three m-lines (audio, camera, screen); an offer is at most 64 KiB
(interface.Join), room for hundreds of m-lines, and without BUNDLE every m-line gets its own
ICE transport with its own sockets and connectivity checks.
"""

from __future__ import annotations

from relay.interface import BadOffer

MAX_MEDIA_SECTIONS = 8
"""Three are used; a few more leave room for clients that add one (a data channel)."""


def check_offer(sdp: str) -> None:
    """BadOffer for what aiortc accepts in setRemoteDescription and then fails on:
    - a mid used twice (setLocalDescription raises AttributeError);
    - a BUNDLE group whose first mid names no m-line (the bundled m-lines are left with
      no transport: createAnswer raises, and so does RTCPeerConnection.close(), which
      then leaves the other transports' sockets open);
    for more m-lines than a call needs; and for an offer without a DTLS fingerprint, which
    aiortc accepts and then completes DTLS with whoever answers, unverified."""
    sections = 0
    fingerprint = False
    mids: set[str] = set()
    bundle: list[str] | None = None
    for line in sdp.splitlines():
        if line.startswith("m="):
            sections += 1
            if sections > MAX_MEDIA_SECTIONS:
                raise BadOffer(f"the offer has more than {MAX_MEDIA_SECTIONS} m-lines")
        elif line.startswith("a=mid:"):
            mid = line[6:].strip()
            if mid in mids:
                raise BadOffer(f"mid {mid[:32]!r} is used by two m-lines")
            mids.add(mid)
        elif line.startswith("a=group:BUNDLE") and bundle is None:
            bundle = line[len("a=group:BUNDLE") :].split()
        elif line.startswith("a=fingerprint:"):
            fingerprint = True
    if bundle and bundle[0] not in mids:
        raise BadOffer(f"the BUNDLE group's first mid {bundle[0][:32]!r} names no m-line")
    if sections and not fingerprint:
        raise BadOffer("the offer has no DTLS fingerprint (a=fingerprint): nothing to verify")
