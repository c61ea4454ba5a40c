"""The one place the relay names aiortc's and aioice's private attributes.

The relay forwards packets below aiortc's public API: it reads SRTP sessions, ICE pairs
and negotiated codecs aiortc keeps private, and shadows a few of its methods on the
instance (transport_tap.py, dtls_sink.py, ice_guard.py). Every such name is written here
once, behind a typed accessor or a Shadow, and listed in REQUIRED; check() verifies them
all against the installed aiortc/aioice by building cheap real objects (no sockets, no
tasks). Each relay worker runs check() before it says hello (relay/control/worker_host.py), and
tests/test_aiortc_compat.py does too, so an aiortc upgrade that renames one of them fails
there, naming what is missing, not as an AttributeError deep inside a call.

Hot paths resolve what they need once (a bound method, the live `_nominated` dict, an
SRTP session once DTLS has set it) and keep the object: no accessor runs per packet.
"""

from __future__ import annotations

import asyncio
import inspect
import queue
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Generic, TypeVar

import aioice.ice
import aiortc.rtcpeerconnection
import aiortc.rtcrtpreceiver
from aioice.candidate import Candidate
from aioice.ice import CandidatePair, Connection, StunProtocol
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection
from aiortc.rtcdtlstransport import RTCCertificate, RTCDtlsFingerprint, RTCDtlsTransport
from aiortc.rtcicetransport import RTCIceGatherer, RTCIceTransport
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.rtcrtptransceiver import RTCRtpTransceiver
from OpenSSL import SSL

F = TypeVar("F", bound=Callable[..., Any])


class AiortcIncompatible(RuntimeError):
    """The installed aiortc/aioice lack private attributes the relay depends on."""

    def __init__(self, missing: Sequence[str]) -> None:
        self.missing = tuple(missing)
        super().__init__(
            f"the relay needs private attributes that aiortc {_version('aiortc')} / aioice "
            f"{_version('aioice')} do not have: {', '.join(self.missing)} "
            "(see relay/rtc/aiortc_compat.py; the pinned versions are in constraints.txt)"
        )


class AlreadyShadowed(RuntimeError):
    """The instance already carries a shadowing method of that name (ours, installed twice)."""


# --- readers ---------------------------------------------------------------------------------
# aiortc sets an RTCDtlsTransport's SRTP sessions once, when DTLS connects, and never replaces
# them: a caller may keep the first one that is not None.


def tx_srtp(dtls: RTCDtlsTransport) -> Any:
    """The outgoing SRTP session (pylibsrtp.Session), None until DTLS is connected."""
    return dtls._tx_srtp


def rx_srtp(dtls: RTCDtlsTransport) -> Any:
    """The incoming SRTP session (pylibsrtp.Session), None until DTLS is connected."""
    return dtls._rx_srtp


def ssrc_table(dtls: Any) -> dict[int, Any]:
    """aiortc's SSRC → RTCRtpReceiver table of a transport (what the remote SDP announced);
    empty for a stand-in transport without aiortc's router (unit tests)."""
    router = getattr(dtls, "_rtp_router", None)
    table = getattr(router, "ssrc_table", None)
    return table if isinstance(table, dict) else {}


def ice_connection(ice: RTCIceTransport) -> Connection:
    """The aioice Connection under an RTCIceTransport."""
    connection: Connection = ice._connection
    return connection


def ice_connection_of(dtls: Any) -> Any:
    """The aioice Connection under a DTLS transport; None for a stand-in without ICE."""
    return getattr(getattr(dtls, "transport", None), "_connection", None)


def ice_send(ice: RTCIceTransport) -> Callable[[bytes], Any]:
    """The coroutine function that sends one datagram on the nominated pair."""
    send: Callable[[bytes], Any] = ice._send
    return send


def nominated_pairs(connection: Connection) -> dict[int, CandidatePair]:
    """Component → nominated CandidatePair: aioice's live dict (keep it; it fills later)."""
    return connection._nominated


def stun_protocols(connection: Connection) -> list[StunProtocol]:
    """One StunProtocol per local socket (after gathering)."""
    return list(connection._protocols)


def receive_queue(connection: Connection) -> Any:
    """The asyncio.Queue of non-STUN datagrams aiortc's RTCDtlsTransport._recv_next() reads."""
    return connection._queue


def remote_candidates(connection: Connection) -> list[Candidate]:
    return list(connection._remote_candidates)


def check_list(connection: Connection) -> list[CandidatePair]:
    return list(connection._check_list)


def network_host(candidate: Candidate) -> str:
    """The address that reaches a candidate (behind an mDNS name, the resolved one)."""
    return str(candidate._network_host)


def negotiated_codecs(transceiver: RTCRtpTransceiver) -> list[Any]:
    """The codecs (and RTX) negotiated on an m-line, preferred first (RTCRtpCodecParameters)."""
    return list(transceiver._codecs)


def set_negotiated_codecs(transceiver: RTCRtpTransceiver, codecs: list[Any]) -> None:
    """Narrow what createAnswer() will answer with (between setRemote and createAnswer)."""
    transceiver._codecs = codecs


def header_extensions(transceiver: RTCRtpTransceiver) -> list[RTCRtpHeaderExtensionParameters]:
    return list(transceiver._headerExtensions)


def set_header_extensions(
    transceiver: RTCRtpTransceiver, extensions: list[RTCRtpHeaderExtensionParameters]
) -> None:
    """Replace the negotiated header extensions (before createAnswer: the answer lists them)."""
    transceiver._headerExtensions = extensions


def offered_direction(transceiver: RTCRtpTransceiver) -> str | None:
    """The remote offer's direction for this m-line, seen from our side (None: no attribute)."""
    direction: str | None = transceiver._offerDirection
    return direction


def sender_ssrcs(sender: RTCRtpSender) -> tuple[int, int]:
    """(SSRC, RTX SSRC) an RTCRtpSender sends with."""
    return int(sender._ssrc), int(sender._rtx_ssrc)


def install_remote_bitrate_estimator(factory: Callable[[], Any]) -> None:
    """Make RTCRtpReceivers built from now on in this process use `factory`'s estimator
    (aiortc.rtcrtpreceiver looks the name up in its module globals at construction)."""
    vars(aiortc.rtcrtpreceiver)["RemoteBitrateEstimator"] = factory


def install_common_codecs(
    negotiate: Callable[[list[Any], list[Any]], list[Any]],
) -> None:
    """Make every RTCPeerConnection in this process keep the offer's codecs with
    `negotiate(local_codecs, remote_codecs)` (aiortc.rtcpeerconnection looks
    find_common_codecs up in its module globals at each setRemoteDescription)."""
    vars(aiortc.rtcpeerconnection)["find_common_codecs"] = negotiate


def install_host_addresses(lookup: Callable[[bool, bool], list[str]]) -> None:
    """Make aioice's gathering in this process ask `lookup(use_ipv4, use_ipv6)` for the host
    addresses (aioice.ice looks get_host_addresses up in its module globals per gathering)."""
    vars(aioice.ice)["get_host_addresses"] = lookup


def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    """aioice's own lookup (every interface, through ifaddr), whatever is installed."""
    return _AIOICE_HOST_ADDRESSES(use_ipv4, use_ipv6)


_AIOICE_HOST_ADDRESSES: Callable[[bool, bool], list[str]] = aioice.ice.get_host_addresses


# --- one certificate for many peer connections -------------------------------------------------


class ReusableCertificate(RTCCertificate):
    """An RTCCertificate meant for many peer connections: its fingerprints and its DTLS SSL
    context are made once, not per m-line and per handshake (aiortc recomputes three
    digests for every m-line of every answer and builds a context, loading key and
    certificate, for every DTLS transport). The context keeps no sessions: a handshake never
    resumes another peer connection's session, so each one verifies its peer's certificate.
    """

    def __init__(self, key: Any, cert: Any) -> None:
        super().__init__(key, cert)
        self._fingerprints = tuple(super().getFingerprints())
        self._contexts: dict[tuple[bytes, ...], SSL.Context] = {}

    def getFingerprints(self) -> list[RTCDtlsFingerprint]:
        # Fresh objects: aiortc puts them in each description it builds.
        return [RTCDtlsFingerprint(f.algorithm, f.value) for f in self._fingerprints]

    def _create_ssl_context(self, srtp_profiles: list[Any]) -> SSL.Context:
        key = tuple(bytes(profile.openssl_profile) for profile in srtp_profiles)
        context = self._contexts.get(key)
        if context is None:
            context = super()._create_ssl_context(srtp_profiles)
            context.set_session_cache_mode(SSL.SESS_CACHE_OFF)
            self._contexts[key] = context
        return context


class _Issuing:
    """Stands in for RTCCertificate in aiortc.rtcpeerconnection while one RTCPeerConnection
    is built: its generateCertificate() hands over a given certificate."""

    def __init__(self, certificate: RTCCertificate) -> None:
        self._certificate = certificate

    def generateCertificate(self) -> RTCCertificate:
        return self._certificate


def peer_connection(
    configuration: RTCConfiguration, certificate: RTCCertificate
) -> RTCPeerConnection:
    """An RTCPeerConnection whose DTLS transports use `certificate` instead of one it would
    generate for itself (aiortc has no parameter for it). The swap lasts only the
    constructor, which does not await: nothing else can build a peer connection meanwhile."""
    module = vars(aiortc.rtcpeerconnection)
    own = module["RTCCertificate"]
    module["RTCCertificate"] = _Issuing(certificate)
    try:
        pc = RTCPeerConnection(configuration)
    finally:
        module["RTCCertificate"] = own
    return pc


def certificates(pc: RTCPeerConnection) -> list[RTCCertificate]:
    """The certificates a peer connection's DTLS transports use."""
    return list(pc._RTCPeerConnection__certificates)  # type: ignore[attr-defined]


# --- receivers that never decode ---------------------------------------------------------------


class _NoThread:
    """What a relay receiver gets instead of its decoder thread: starts nothing, and is
    false, so aiortc hands it no frames (RTCRtpReceiver checks the thread before queueing)
    and has nothing to join when the receiver stops."""

    def start(self) -> None:
        pass

    def join(self, timeout: float | None = None) -> None:
        pass

    def __bool__(self) -> bool:
        return False


class _DecoderThreads:
    """aiortc.rtcrtpreceiver's `threading` once a receiver skipped its decoder: a thread
    whose input queue belongs to such a receiver is a _NoThread, anything else real."""

    Event = threading.Event

    def __init__(self) -> None:
        self.skipping: weakref.WeakSet[queue.Queue[Any]] = weakref.WeakSet()

    def Thread(self, *args: Any, **kwargs: Any) -> Any:  # threading's name
        worker_args = kwargs.get("args", ())
        if len(worker_args) > 1 and worker_args[1] in self.skipping:
            return _NoThread()
        return threading.Thread(*args, **kwargs)


_DECODER_THREADS = _DecoderThreads()


def skip_decoder_thread(receiver: RTCRtpReceiver) -> None:
    """Start no decoder thread when aiortc starts this receiver (RTCRtpReceiver.receive(), as
    the connection comes up): a relay receiver's media goes to the RtpTap, and what aiortc
    would decode (a payload type nobody routed) nobody reads. Saves a thread start and join
    per m-line (~0.4 ms) and a parked thread per m-line while the call lasts. Other
    receivers of the process (a test's clients) decode as before."""
    vars(aiortc.rtcrtpreceiver)["threading"] = _DECODER_THREADS
    _DECODER_THREADS.skipping.add(receiver._RTCRtpReceiver__decoder_queue)  # type: ignore[attr-defined]


def decoder_thread(receiver: RTCRtpReceiver) -> Any:
    """The receiver's decoder thread (None before receive(); a false _NoThread if skipped)."""
    return receiver._RTCRtpReceiver__decoder_thread  # type: ignore[attr-defined]


# --- shadows ---------------------------------------------------------------------------------


class Shadow(Generic[F]):
    """A method of one aiortc/aioice instance replaced by ours (an instance attribute).

    Lifecycle: installed at construction → restored (restore(), idempotent). `original`
    is the bound method it shadows; callers keep it to hand work back.
    """

    __slots__ = ("_name", "_obj", "_restored", "original")

    def __init__(self, obj: Any, name: str, replacement: F) -> None:
        if name in vars(obj):
            raise AlreadyShadowed(f"{type(obj).__name__}.{name} is already shadowed")
        self._obj = obj
        self._name = name
        self._restored = False
        self.original: F = getattr(obj, name)
        setattr(obj, name, replacement)

    def restore(self) -> None:
        """Give the instance its own method back; idempotent."""
        if not self._restored:
            self._restored = True
            vars(self._obj).pop(self._name, None)


def shadow_handle_rtp_data(dtls: Any, replacement: F) -> Shadow[F]:
    """What RTCDtlsTransport._recv_next() awaits with each unprotected RTP packet
    (data, arrival_time_ms=...)."""
    return Shadow(dtls, "_handle_rtp_data", replacement)


def shadow_handle_rtcp_data(dtls: Any, replacement: F) -> Shadow[F]:
    """What RTCDtlsTransport._recv_next() awaits with each unprotected RTCP compound (data)."""
    return Shadow(dtls, "_handle_rtcp_data", replacement)


def shadow_send_rtcp(sender: Any, replacement: F) -> Shadow[F]:
    """What RTCRtpSender._run_rtcp() awaits with each compound it sends (packets)."""
    return Shadow(sender, "_send_rtcp", replacement)


def shadow_data_received(connection: Connection, replacement: F) -> Shadow[F]:
    """aioice's Connection.data_received(data, component): each non-STUN datagram."""
    return Shadow(connection, "data_received", replacement)


def shadow_datagram_received(protocol: StunProtocol, replacement: F) -> Shadow[F]:
    """A StunProtocol's datagram_received(data, addr) (asyncio/uvloop look it up per datagram)."""
    return Shadow(protocol, "datagram_received", replacement)


def shadow_put_nowait(queue: Any, replacement: F) -> Shadow[F]:
    """put_nowait(item) of the Connection's receive queue (aioice puts None when lost)."""
    return Shadow(queue, "put_nowait", replacement)


# --- the check -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Requirement:
    """One private name the relay depends on: `where` is the class, `what` how it is used."""

    where: str
    name: str
    what: str
    parameters: tuple[str, ...] = ()
    """Parameter names the relay passes by keyword (checked on methods)."""


REQUIRED: tuple[Requirement, ...] = (
    Requirement("RTCDtlsTransport", "_tx_srtp", "read: dtls_sink sends with it"),
    Requirement("RTCDtlsTransport", "_rx_srtp", "read: transport_tap unprotects with it"),
    Requirement("RTCDtlsTransport", "_rtp_router", "read: its ssrc_table routes new SSRCs"),
    Requirement("RTCDtlsTransport", "_recv_next", "relied on: calls the two handlers below"),
    Requirement(
        "RTCDtlsTransport", "_handle_rtp_data", "shadowed by RtpTap", ("data", "arrival_time_ms")
    ),
    Requirement("RTCDtlsTransport", "_handle_rtcp_data", "shadowed by RtcpTap", ("data",)),
    Requirement("RTCIceTransport", "_connection", "read: the aioice Connection"),
    Requirement("RTCIceTransport", "_send", "read: dtls_sink sends RTCP with it"),
    Requirement("Connection", "_nominated", "read: the nominated pair, per packet"),
    Requirement("Connection", "_protocols", "read: IceGuard gates each socket"),
    Requirement("Connection", "_queue", "read: IceGuard bounds it"),
    Requirement("Connection", "_remote_candidates", "read: IceGuard's proven sources"),
    Requirement("Connection", "_check_list", "read: IceGuard's proven sources"),
    Requirement("Connection", "data_received", "shadowed by RtpTap", ("data", "component")),
    Requirement("StunProtocol", "datagram_received", "shadowed by IceGuard", ("data", "addr")),
    Requirement("Candidate", "_network_host", "read: IceGuard's proven sources"),
    Requirement("RTCRtpTransceiver", "_codecs", "read and narrowed: negotiated codecs"),
    Requirement(
        "RTCRtpTransceiver", "_headerExtensions", "read, and extended: negotiated extension ids"
    ),
    Requirement("RTCRtpTransceiver", "_offerDirection", "read: the client's direction"),
    Requirement("RTCRtpSender", "_ssrc", "read: the SSRC the relay sends with"),
    Requirement("RTCRtpSender", "_rtx_ssrc", "read: the RTX SSRC"),
    Requirement("RTCRtpSender", "_run_rtcp", "relied on: calls _send_rtcp"),
    Requirement("RTCRtpSender", "_send_rtcp", "shadowed by SenderReportFilter", ("packets",)),
    Requirement("aiortc.rtcrtpreceiver", "RemoteBitrateEstimator", "replaced: lazy_estimator"),
    Requirement("aiortc.rtcrtpreceiver", "threading", "swapped: receivers without a decoder"),
    Requirement("RTCRtpReceiver", "_RTCRtpReceiver__decoder_queue", "read: tells a relay receiver"),
    Requirement("RTCRtpReceiver", "_RTCRtpReceiver__decoder_thread", "read: tests"),
    Requirement("aiortc.rtcpeerconnection", "RTCCertificate", "swapped: a shared certificate"),
    Requirement("RTCPeerConnection", "_RTCPeerConnection__certificates", "read: the certificate"),
    Requirement(
        "RTCCertificate", "_create_ssl_context", "overridden: one context", ("srtp_profiles",)
    ),
    Requirement("aioice.ice", "get_host_addresses", "replaced: cached per worker"),
    Requirement(
        "aiortc.rtcpeerconnection", "find_common_codecs", "replaced: common_codecs, no deepcopy"
    ),
)
ABSENT: tuple[Requirement, ...] = (
    Requirement("MediaStreamTrack", "_stopped", "must stay free: SilentTrack sets it"),
)
"""Names the relay sets on aiortc subclasses, which aiortc must not use itself."""


def _samples() -> dict[str, object]:
    """Cheap real instances of each class in REQUIRED (no sockets, no tasks, ~15 ms)."""
    gatherer = RTCIceGatherer()
    ice = RTCIceTransport(gatherer)
    dtls = RTCDtlsTransport(ice, [RTCCertificate.generateCertificate()])
    sender = RTCRtpSender("video", dtls)
    receiver = RTCRtpReceiver("video", dtls)
    connection = ice._connection if hasattr(ice, "_connection") else gatherer._connection
    return {
        "RTCRtpReceiver": receiver,
        "RTCPeerConnection": RTCPeerConnection(),
        "RTCCertificate": RTCCertificate.generateCertificate(),
        "aiortc.rtcpeerconnection": aiortc.rtcpeerconnection,
        "aioice.ice": aioice.ice,
        "RTCDtlsTransport": dtls,
        "RTCIceTransport": ice,
        "Connection": connection,
        "StunProtocol": StunProtocol(connection),
        "Candidate": Candidate("1", 1, "udp", 1, "192.0.2.1", 9, "host"),
        "RTCRtpTransceiver": RTCRtpTransceiver("video", receiver, sender),
        "RTCRtpSender": sender,
        "aiortc.rtcrtpreceiver": aiortc.rtcrtpreceiver,
        "MediaStreamTrack": _Track(),
    }


class _Track(MediaStreamTrack):
    kind = "video"

    async def recv(self) -> Any:
        raise NotImplementedError


async def _samples_in_loop() -> dict[str, object]:
    return _samples()


def _build_samples() -> dict[str, object]:
    """RTCRtpSender() asks asyncio.get_event_loop(): outside a running loop, lend it one."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(_samples_in_loop())
        finally:
            loop.close()
    return _samples()


def missing() -> list[str]:
    """Every requirement the installed aiortc/aioice fail, as "Class.name (what)"."""
    try:
        samples = _build_samples()
    except Exception as error:  # a constructor changed: that alone is an incompatibility
        return [f"building sample aiortc objects ({type(error).__name__}: {error})"]
    gaps: list[str] = []
    for req in REQUIRED:
        sample = samples[req.where]
        if not hasattr(sample, req.name):
            gaps.append(f"{req.where}.{req.name} ({req.what})")
            continue
        if req.parameters:
            try:
                names = inspect.signature(getattr(sample, req.name)).parameters
            except (TypeError, ValueError):
                continue
            lacking = [p for p in req.parameters if p not in names]
            if lacking:
                gaps.append(f"{req.where}.{req.name} parameter(s) {', '.join(lacking)}")
    for req in ABSENT:
        if hasattr(samples[req.where], req.name):
            gaps.append(f"{req.where}.{req.name} now exists in aiortc ({req.what})")
    return gaps


def check() -> None:
    """Raise AiortcIncompatible naming every missing private attribute; once per process."""
    gaps = missing()
    if gaps:
        raise AiortcIncompatible(gaps)


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "(unknown version)"
