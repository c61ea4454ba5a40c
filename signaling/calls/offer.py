"""The shape call.join's offer must have (docs/protocol.md §8), checked before the relay sees it.

Three m-lines — audio, and two videos — each named in `tracks` by its mid with its role
(audio, camera, screen; each once), and optionally a fourth, audio, with the role "voice"
(where a supervisor's whisper or barge is heard), all on one bundled transport. The relay itself
accepts more (tests drive it with other shapes); what a client may send is this, and a
client that sends something else is told exactly what, instead of joining a call whose
screen share silently never arrives (aiortc's default bundle policy put the third m-line
on a transport of its own).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from relay.interface import ROLE_KINDS, TrackRole
from signaling.errors import InvalidPayload, LiveAssistError


class OfferRefused(LiveAssistError):
    """`bad_offer`: the SDP is not one the call can use; the call goes on."""

    code = "bad_offer"
    status = 400


PARTY_ROLES = ["audio", "camera", "screen"]
VOICE = "voice"


@dataclass
class ScannedLine:
    kind: str
    mid: str | None = None
    ufrag: str | None = None
    direction: str = "sendrecv"
    candidates: set[str] = field(default_factory=set)
    """address:port of each candidate; empty when the m-line rides the bundle's transport."""


@dataclass
class ScannedOffer:
    lines: list[ScannedLine] = field(default_factory=list)
    bundles: list[list[str]] = field(default_factory=list)
    session_ufrag: str | None = None


def scan_offer(sdp: str) -> ScannedOffer:
    offer = ScannedOffer()
    for raw in sdp.splitlines():
        line = raw.strip()
        if line.startswith("m="):
            parts = line[2:].split()
            if len(parts) < 4:
                raise OfferRefused(f"malformed m-line: {line[:60]!r}")
            offer.lines.append(ScannedLine(kind=parts[0]))
        elif line.startswith("a=group:BUNDLE"):
            offer.bundles.append(line[len("a=group:BUNDLE") :].split())
        elif line in ("a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive") and offer.lines:
            offer.lines[-1].direction = line[2:]
        elif line.startswith("a=mid:") and offer.lines:
            offer.lines[-1].mid = line[len("a=mid:") :]
        elif line.startswith("a=candidate:") and offer.lines:
            fields = line.split()
            if len(fields) >= 6:
                offer.lines[-1].candidates.add(f"{fields[4]}:{fields[5]}")
        elif line.startswith("a=ice-ufrag:"):
            ufrag = line[len("a=ice-ufrag:") :]
            if offer.lines:
                offer.lines[-1].ufrag = ufrag
            else:
                offer.session_ufrag = ufrag
    return offer


def check_offer(sdp: str, tracks: Mapping[str, TrackRole]) -> None:
    """OfferRefused (the SDP) or InvalidPayload (the `tracks` map) saying what is wrong."""
    offer = scan_offer(sdp)
    kinds = [line.kind for line in offer.lines]
    if sorted(kinds) not in (["audio", "video", "video"], ["audio", "audio", "video", "video"]):
        raise OfferRefused(
            "the offer must have three m-lines: audio, camera (video) and screen (video), "
            f"and optionally a second audio for voice; it has {', '.join(kinds) or 'none'}"
        )
    mids = [line.mid for line in offer.lines]
    if None in mids or len(set(mids)) != len(mids):
        raise OfferRefused("every m-line needs its own a=mid")
    if not tracks:
        raise InvalidPayload(
            "tracks is required: give the role of each m-line by its mid",
            details={"field": "tracks"},
        )
    unknown = sorted(set(tracks) - set(m for m in mids if m is not None))
    if unknown:
        raise InvalidPayload(
            f"tracks names mid(s) the offer does not have: {', '.join(unknown)}",
            details={"field": "tracks"},
        )
    wanted = PARTY_ROLES + [VOICE] * (len(offer.lines) - len(PARTY_ROLES))
    if sorted(tracks.values()) != sorted(wanted):
        raise InvalidPayload(
            f"tracks must give each role once: {', '.join(wanted)}", details={"field": "tracks"}
        )
    for line in offer.lines:
        role = tracks[str(line.mid)]
        if ROLE_KINDS[role] != line.kind:
            raise InvalidPayload(
                f"mid {line.mid} is an {line.kind} m-line; it cannot carry {role}",
                details={"field": "tracks"},
            )
        if role == VOICE and line.direction not in ("recvonly", "inactive"):
            raise OfferRefused(f"the voice m-line (mid {line.mid}) only receives: a=recvonly")
    check_bundled(offer)


def check_bundled(offer: ScannedOffer) -> None:
    mids = {str(line.mid) for line in offer.lines}
    if not any(set(group) >= mids for group in offer.bundles):
        raise OfferRefused("all m-lines must be in one a=group:BUNDLE (bundlePolicy max-bundle)")
    # Bundled: one ICE username, and candidates (where an m-line lists any) for one socket.
    ufrags = {line.ufrag or offer.session_ufrag for line in offer.lines}
    gathered = {frozenset(line.candidates) for line in offer.lines if line.candidates}
    if len(ufrags) > 1 or len(gathered) > 1:
        raise OfferRefused(
            "the m-lines use separate transports; offer them bundled on one "
            "(bundlePolicy max-bundle; aiortc: RTCConfiguration(bundlePolicy=MAX_BUNDLE))"
        )
