"""The shape supervise.join's offer must have (docs/protocol.md §8.9), checked before the
relay sees it: per party (customer, agent) a receive-only audio, camera and screen m-line
pinned to that party by `sources`, and one audio m-line with the role "voice" on which the
supervisor speaks — the relay decides who hears it (the mode) — all on one bundled
transport."""

from __future__ import annotations

from collections.abc import Mapping

from relay.interface import ROLE_KINDS, ParticipantId, TrackRole, check_tracks
from signaling.calls.offer import OfferRefused, check_bundled, scan_offer
from signaling.errors import InvalidPayload
from signaling.types import CallParty

PARTY_ROLES = ("audio", "camera", "screen")
RECEIVING = ("recvonly", "inactive")


def check_supervisor_offer(
    sdp: str, tracks: Mapping[str, str], sources: Mapping[str, str]
) -> tuple[dict[str, TrackRole], dict[str, ParticipantId]]:
    """The checked mid → role and mid → party maps; OfferRefused (the SDP) or InvalidPayload
    (a map) saying what is wrong."""
    if not sdp.startswith("v=0"):
        raise InvalidPayload("offer must be an SDP offer (starting with 'v=0')")
    try:
        roles = check_tracks(tracks)
    except ValueError as error:
        raise InvalidPayload(str(error), details={"field": "tracks"}) from None
    offer = scan_offer(sdp)
    mids = [line.mid for line in offer.lines]
    if None in mids or len(set(mids)) != len(mids):
        raise OfferRefused("every m-line needs its own a=mid")
    if len(offer.lines) != 7:
        raise OfferRefused(
            "a supervisor's offer has seven m-lines: audio, camera and screen per party "
            f"(receive-only) and one voice; it has {len(offer.lines)}"
        )
    if set(roles) != set(str(mid) for mid in mids):
        raise InvalidPayload(
            "tracks must name every m-line by its mid", details={"field": "tracks"}
        )
    voice = [mid for mid, role in roles.items() if role == "voice"]
    if len(voice) != 1:
        raise InvalidPayload(
            "tracks must name exactly one voice m-line", details={"field": "tracks"}
        )
    wanted = {(party.value, role) for party in CallParty for role in PARTY_ROLES}
    pinned: dict[str, ParticipantId] = {}
    for mid, party in sources.items():
        if mid not in roles or roles[mid] == "voice":
            raise InvalidPayload(
                f"sources names mid {mid[:32]!r}, not one of the receiving m-lines",
                details={"field": "sources"},
            )
        if party not in (CallParty.CUSTOMER.value, CallParty.AGENT.value):
            raise InvalidPayload(
                f"sources: mid {mid} must be pinned to customer or agent",
                details={"field": "sources"},
            )
        pinned[mid] = ParticipantId(party)
    if {(pinned.get(mid), role) for mid, role in roles.items() if role != "voice"} != wanted:
        raise InvalidPayload(
            "tracks and sources must give each party's audio, camera and screen once",
            details={"field": "sources"},
        )
    for line in offer.lines:
        role = roles[str(line.mid)]
        if ROLE_KINDS[role] != line.kind:
            raise InvalidPayload(
                f"mid {line.mid} is an {line.kind} m-line; it cannot carry {role}",
                details={"field": "tracks"},
            )
        if role != "voice" and line.direction not in RECEIVING:
            raise OfferRefused(f"mid {line.mid} ({role}) only receives: a=recvonly")
    check_bundled(offer)
    return roles, pinned
