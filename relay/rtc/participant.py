"""One participant's peer connection on the relay: its publications and receive slots."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aiortc import RTCConfiguration, RTCSessionDescription

from relay.interface import ROLE_KINDS, BadOffer, ParticipantId, TrackRole, default_role
from relay.packet.codecs import FORWARDABLE_VIDEO, CodecChoice, matching_codec
from relay.packet.stream_rewriter import StreamRewriter
from relay.rtc import aiortc_compat
from relay.rtc import transport_cc as transport_cc_module
from relay.rtc.certificate import WORKER_CERTIFICATE
from relay.rtc.down_track import RtxStream
from relay.rtc.ice_guard import DropCounters, IceGuard
from relay.rtc.leg import Leg
from relay.rtc.negotiated import NegotiatedStream, codec_choices, negotiated_stream
from relay.rtc.offer_check import check_offer
from relay.rtc.publication import Publication
from relay.rtc.silent_track import SilentTrack
from relay.rtc.subscription import Subscription
from relay.rtc.transport_tap import RtcpTap, RtpTap

logger = logging.getLogger(__name__)


class Slot:
    """A receiving m-line of the participant: holds at most one subscription at a time."""

    def __init__(self, transceiver: Any, role: TrackRole) -> None:
        self.transceiver = transceiver
        self.kind: str = transceiver.kind
        self.role = role
        self.subscription: Subscription | None = None
        self.source: ParticipantId | None = None
        self.only_from: ParticipantId | None = None
        """Takes publications of this participant only (None: of anyone)."""
        self.rewriter: StreamRewriter | None = None
        """Kept across subscriptions so the output seq/ts carry on."""
        self.rtx: RtxStream | None = None
        """Likewise for the retransmission stream's numbering."""
        self._stream: NegotiatedStream | None = None

    def takes(self, source: ParticipantId, role: TrackRole) -> bool:
        """Whether `source`'s publication of `role` may go into this slot."""
        return self.role == role and self.only_from in (None, source)

    @property
    def stream(self) -> NegotiatedStream:
        """This m-line as negotiated: read once (a Slot is made after its codecs are
        settled), as every later join of the room asks for its codecs again."""
        if self._stream is None:
            self._stream = negotiated_stream(self.transceiver)
        return self._stream

    @property
    def codecs(self) -> tuple[CodecChoice, ...]:
        """What this m-line can receive, as negotiated."""
        return self.stream.codecs


class RelayParticipant:
    """Lifecycle: new → answered (answer()) → closed (close(), idempotent, never reused).

    Sending m-lines of the client's offer become Publications (the relay side receives);
    receiving m-lines become Slots whose relay-side sender holds a SilentTrack, filled by
    the room with other participants' publications of the same role (audio, camera,
    screen). The role of each m-line comes from the client, by mid; without one, audio
    is "audio" and video is "camera".
    """

    def __init__(
        self,
        participant_id: ParticipantId,
        configuration: RTCConfiguration,
        on_state: Callable[[str], None] | None = None,
        drops: DropCounters | None = None,
    ) -> None:
        self.participant_id = participant_id
        self.pc = aiortc_compat.peer_connection(configuration, WORKER_CERTIFICATE.current())
        self.drops = drops if drops is not None else DropCounters()
        self._guards: dict[int, IceGuard] = {}
        if on_state is not None:

            @self.pc.on("connectionstatechange")
            def report() -> None:
                if not self.closed:  # our own close is not news
                    on_state(str(self.pc.connectionState))

        self.publications: list[Publication] = []
        self.publication_roles: dict[int, TrackRole] = {}
        self.slots: list[Slot] = []
        self._rtp_taps: dict[int, RtpTap] = {}
        self._rtcp_taps: dict[int, RtcpTap] = {}
        self._legs: dict[int, Leg] = {}
        self._silent: list[SilentTrack] = []
        self.closed = False

    async def answer(
        self,
        offer_sdp: str,
        roles: Mapping[str, TrackRole] | None = None,
        receivers: Mapping[TrackRole, Sequence[Sequence[CodecChoice]]] | None = None,
        sources: Mapping[str, ParticipantId] | None = None,
    ) -> str:
        """Answer the client's offer. `receivers` lists, per role, what each other
        participant's receiving m-line accepts: the client may send only codecs all of
        them can take. `sources` pins receiving m-lines (by mid) to one participant."""
        check_offer(offer_sdp)
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        except Exception as error:  # aiortc asserts or raises on SDP it cannot take
            raise BadOffer(f"{type(error).__name__}: {error}") from error
        if not self.pc.getTransceivers():
            raise BadOffer("the offer has no audio or video m-line")
        receiving: list[tuple[Any, TrackRole]] = []
        transport_cc = transport_cc_module.offered_extension_id(offer_sdp)
        feedback_types = transport_cc_module.offered_feedback_payload_types(offer_sdp)
        for transceiver in self.pc.getTransceivers():
            role = (roles or {}).get(str(transceiver.mid)) or default_role(transceiver.kind)
            if ROLE_KINDS[role] != transceiver.kind:
                raise BadOffer(f"m-line {transceiver.mid} is {transceiver.kind}, not {role}")
            offered = aiortc_compat.offered_direction(transceiver)
            if offered is None:  # aiortc's createAnswer would raise ValueError on it
                raise BadOffer(f"m-line {transceiver.mid} has no direction attribute")
            if transceiver.receiver.transport is None:
                raise BadOffer(f"m-line {transceiver.mid} is bundled with no transport")
            aiortc_compat.skip_decoder_thread(transceiver.receiver)
            relay_sends = offered in ("sendonly", "sendrecv")
            relay_receives = offered in ("recvonly", "sendrecv")
            if relay_sends:
                track = SilentTrack(transceiver.kind)
                self._silent.append(track)
                transceiver.sender.replaceTrack(track)
            transceiver.direction = (
                "sendrecv"
                if relay_sends and relay_receives
                else "sendonly"
                if relay_sends
                else "recvonly"
                if relay_receives
                else "inactive"
            )
            if relay_receives:
                receiving.append((transceiver, role))
                if transport_cc is not None:
                    transport_cc_module.answer_with_transport_cc(
                        transceiver, transport_cc, feedback_types
                    )
                if transceiver.kind == "audio":
                    _ask_for_opus_fec(transceiver)
                if transceiver.kind == "video":
                    _offer_only_what_receivers_accept(transceiver, (receivers or {}).get(role, ()))
            if relay_sends:
                if transport_cc is not None:
                    # The relay's own send-side estimate (relay/rtc/send_side.py) runs on it.
                    transport_cc_module.answer_with_transport_cc(
                        transceiver, transport_cc, feedback_types
                    )
                slot = Slot(transceiver, role)
                slot.only_from = (sources or {}).get(str(transceiver.mid))
                self.slots.append(slot)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        self._guard_sockets()
        if transport_cc is not None:
            for slot in self.slots:
                if transport_cc_module.TRANSPORT_CC_URI in slot.stream.extension_ids:
                    self._leg(slot.transceiver.sender.transport).enable_send_side()
        for transceiver, role in receiving:
            transport = transceiver.receiver.transport
            try:
                publication = Publication(
                    transceiver, self._rtp_tap(transport), self._rtcp_tap(transport)
                )
            except ValueError as error:  # a video codec the relay cannot forward
                raise BadOffer(str(error)) from error
            self.publications.append(publication)
            self.publication_roles[id(publication)] = role
            leg = self._leg(transport)
            leg.report(publication)
            if transport_cc is not None:
                leg.enable_transport_cc(self._rtp_tap(transport), transport_cc)
        return str(self.pc.localDescription.sdp)

    def _guard_sockets(self) -> None:
        """Once gathered, every ICE socket drops what its nominated pair did not send."""
        for transceiver in self.pc.getTransceivers():
            ice = transceiver.receiver.transport.transport
            if id(ice) not in self._guards:
                self._guards[id(ice)] = IceGuard(aiortc_compat.ice_connection(ice), self.drops)

    def _rtp_tap(self, transport: Any) -> RtpTap:
        tap = self._rtp_taps.get(id(transport))
        if tap is None:
            tap = self._rtp_taps[id(transport)] = RtpTap(transport, self.drops)
        return tap

    def _rtcp_tap(self, transport: Any) -> RtcpTap:
        tap = self._rtcp_taps.get(id(transport))
        if tap is None:
            tap = self._rtcp_taps[id(transport)] = RtcpTap(transport, self.drops)
        return tap

    def _leg(self, transport: Any) -> Leg:
        leg = self._legs.get(id(transport))
        if leg is None:
            leg = self._legs[id(transport)] = Leg(transport, self._rtcp_tap(transport))
        return leg

    @property
    def legs(self) -> list[Leg]:
        """This client's transports (one with BUNDLE), with their round trip and reports."""
        return list(self._legs.values())

    def subscribe(self, source: ParticipantId, publication: Publication, role: TrackRole) -> bool:
        """Forward `publication` into a free slot of its role; False if there is none.

        BadOffer if that slot cannot receive the publication's codec."""
        if self.closed:
            return False
        for slot in self.slots:
            if slot.subscription is None and slot.takes(source, role):
                transport = slot.transceiver.sender.transport
                try:
                    slot.subscription = Subscription(
                        slot.transceiver,
                        publication,
                        self._rtcp_tap(transport),
                        self._leg(transport),
                        rewriter=slot.rewriter,
                        rtx=slot.rtx,
                        stream=slot.stream,
                    )
                except ValueError as error:
                    detail = f"{role} of {source} to {self.participant_id}: {error}"
                    raise BadOffer(detail) from error
                slot.rewriter = slot.subscription.rewriter
                slot.rtx = slot.subscription.rtx
                slot.source = source
                return True
        return False

    def free_slots(self, freed_by: ParticipantId | None = None) -> list[Slot]:
        """Slots a subscription could take now, counting those `freed_by` feeds as free."""
        return [
            slot
            for slot in self.slots
            if slot.subscription is None or (freed_by is not None and slot.source == freed_by)
        ]

    def check_subscription(
        self, source: ParticipantId, publication: Publication, role: TrackRole, free: list[Slot]
    ) -> None:
        """What subscribe() would do with `publication`, without doing it: the first of
        `free` of that role is taken (removed from `free`); BadOffer if it cannot receive
        the publication's codec. No free slot is no error (nothing is forwarded)."""
        slot = next((s for s in free if s.takes(source, role)), None)
        if slot is None:
            return
        free.remove(slot)
        source_codec = publication.stream.primary
        accepts = slot.codecs
        if matching_codec(accepts, source_codec) is None:
            offered = ", ".join(c.mime_type for c in accepts)
            raise BadOffer(
                f"{role} of {source} to {self.participant_id}: receiver accepts {offered},"
                f" not the source's {source_codec.mime_type}"
            )

    def unsubscribe_from(self, source: ParticipantId) -> None:
        """Free every slot fed by `source`'s publications."""
        for slot in self.slots:
            if slot.source == source and slot.subscription is not None:
                slot.subscription.close()
                slot.subscription = None
                slot.source = None

    async def close(self) -> None:
        """Close subscriptions, publications, taps and the peer connection; idempotent."""
        if self.closed:
            return
        self.closed = True
        for slot in self.slots:
            if slot.subscription is not None:
                slot.subscription.close()
                slot.subscription = None
        for publication in self.publications:
            try:
                await publication.close()
            except Exception:
                logger.exception("closing a publication of %s failed", self.participant_id)
        for leg in self._legs.values():
            await leg.close()
        for rtp_tap in self._rtp_taps.values():
            rtp_tap.close()
        for rtcp_tap in self._rtcp_taps.values():
            rtcp_tap.close()
        for guard in self._guards.values():
            guard.close()
        for track in self._silent:
            track.stop()
        try:
            await self.pc.close()
        except Exception:
            # aiortc stops each transceiver's transport in turn and raises on one an offer
            # left without any: stop the others ourselves, or their sockets stay open.
            logger.warning("closing the peer connection of %s failed", self.participant_id)
            for transceiver in self.pc.getTransceivers():
                dtls = transceiver.receiver.transport
                if dtls is not None:
                    await dtls.stop()
                    await dtls.transport.stop()


def _offer_only_what_receivers_accept(
    transceiver: Any, receivers: Sequence[Sequence[CodecChoice]]
) -> None:
    """Answer with only the offered codecs every receiver accepts (in the client's order),
    so the client sends one of them whoever picks among the rest (aiortc as offerer keeps
    its own order, a browser takes the answer's first). If none fits, nothing changes and
    the subscription refuses it with the reason."""
    raw = aiortc_compat.negotiated_codecs(transceiver)
    media = [c for c in raw if not str(c.mimeType).lower().endswith("/rtx")]
    accepted = {
        choice.payload_type
        for codec, choice in zip(media, codec_choices(raw), strict=True)
        if choice.mime_type.lower() in FORWARDABLE_VIDEO
        and all(matching_codec(accepts, choice) is not None for accepts in receivers)
    }
    if not accepted:
        return
    aiortc_compat.set_negotiated_codecs(
        transceiver,
        [
            c
            for c in raw
            if int(c.payloadType) in accepted
            or (
                str(c.mimeType).lower().endswith("/rtx")
                and int(c.parameters.get("apt", -1)) in accepted
            )
        ],
    )


OPUS_RECEIVE_PARAMETERS = {"minptime": 10, "useinbandfec": 1}
"""What the relay's answer asks of an Opus sender: in-band FEC (each packet carries a
low-bitrate copy of the one before, so a single lost packet is concealed from the next;
RFC 7587 3.1.3). The relay never decodes: the subscribers' decoders use it."""


def _ask_for_opus_fec(transceiver: Any) -> None:
    """Answer Opus with useinbandfec=1: a sender enables FEC only when the receiver's fmtp
    asks for it, and aiortc answers with its own codec's (empty) parameters."""
    raw = aiortc_compat.negotiated_codecs(transceiver)
    changed = []
    for codec in raw:
        if str(codec.mimeType).lower() == "audio/opus":
            codec = copy.copy(codec)
            codec.parameters = {**codec.parameters, **OPUS_RECEIVE_PARAMETERS}
        changed.append(codec)
    aiortc_compat.set_negotiated_codecs(transceiver, changed)
