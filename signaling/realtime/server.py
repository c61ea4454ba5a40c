"""The Socket.IO server with a gate in front of python-socketio's dispatch.

python-socketio hands any event name a client sends to the namespace, including its own
`connect` and `disconnect`: a client that sent `["connect", {"REMOTE_ADDR": …}]` ran the
connect handler with an environ of its choosing. Here every frame is decoded once, then:

- frames that are not Socket.IO text packets (binary, undecodable JSON, NaN, lone
  surrogates, unknown packet types) count against the connection's rate limit like events,
  are logged as one throttled line (never with a traceback), and get an `invalid_payload`
  ack when their ack id can be read;
- every packet costs a token of the connection's and the address's rate limits *before*
  any handler runs (so a flood is refused at the door, not queued);
- an event reaches its namespace only if its name is one of that namespace's protocol
  events and its frame is within the event's size limit; anything else is answered with
  `unknown_event` / `invalid_payload` / `payload_too_large` and runs nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any

import socketio
from aiohttp import web
from socketio import packet

from signaling import jsonutil
from signaling.errors import (
    InvalidPayload,
    LiveAssistError,
    PayloadTooLarge,
    RateLimited,
    UnknownEvent,
)
from signaling.log_throttle import ThrottledLog
from signaling.ratelimit import RateLimiter, RateLimits
from signaling.realtime import lean_socket
from signaling.realtime.engine_sweep import SweepingEngineServer

log = logging.getLogger(__name__)

RESERVED_EVENTS = frozenset({"connect", "disconnect", "connect_error"})
"""Socket.IO's own event names: never dispatched from the wire."""
STRIKES = 50
"""Frames refused `rate_limited` (beyond a refill at the connection's rate) after which a
connection is closed; at least twice the connection's burst."""
FLOOD_PENALTY = 0.25
"""Share of its address's burst that a connection closed for flooding costs that address,
so a client that reconnects to flood again soon finds its address refused."""
_HEADER = re.compile(
    r'(?P<type>\d)(?:\d+-)?(?P<nsp>/[^,]*,)?(?P<id>\d{1,15})?(?:\["(?P<name>[A-Za-z0-9_.]{1,64})")?'
)
"""Packet type, namespace, ack id and (for events) the name: enough to answer a frame
without decoding its JSON."""


class WirePacket(packet.Packet):  # type: ignore[misc]
    """Socket.IO packets read and written with the strict JSON of signaling.jsonutil."""

    json = jsonutil
    uses_binary_events = False


PEER_KEY = "liveassist.peer"
"""Where a connection's environ keeps its peer address, read once at connect."""


def client_ip(environ: dict[str, Any]) -> str:
    request = environ.get("aiohttp.request")
    if request is not None and request.remote:
        return str(request.remote)
    return str(environ.get("REMOTE_ADDR") or "unknown")


class GuardedServer(socketio.AsyncServer):  # type: ignore[misc]
    def __init__(self, limits: RateLimits, *, max_event_bytes: int, **kwargs: Any) -> None:
        super().__init__(serializer=WirePacket, **kwargs)
        self._limits = limits
        self._max_event_bytes = max_event_bytes
        """For events without a limit of their own (limits.max_event_bytes)."""
        self._largest_frame = max_event_bytes
        """The largest frame any event may have; larger ones are refused undecoded."""
        self._strikes = RateLimiter(
            rate=limits.per_connection.rate,
            burst=max(STRIKES, 2 * limits.per_connection.burst),
            what="frames past the rate limit",
        )
        """Refused frames per connection; running out closes the connection."""
        self._log = ThrottledLog(log)
        self.refused: dict[str, int] = {}
        """Frames refused at the gate so far, by reason (for tests and /healthz)."""
        self.connections_closed = 0
        """Engine.IO connections closed so far (signaling/collector.py schedules by it)."""
        # Engine.IO decodes its own framing outside any error handling: a frame that is not
        # an Engine.IO packet (an empty one, say) ends that socket's request with an
        # exception. Say so in one line instead of a traceback per frame.
        self._eio_handle_request = self.eio.handle_request
        self.eio.handle_request = self._handle_engineio_request

    async def _handle_engineio_request(self, request: web.Request) -> web.StreamResponse:
        if "sid" not in request.query:  # a new connection: refused before Engine.IO's work
            try:
                await self._limits.connects_per_ip.hit(request.remote or "unknown")
            except RateLimited as limited:
                self._count("rate_limited_connection")
                return web.json_response(
                    {"error": limited.to_wire()},
                    status=429,
                    headers={"Retry-After": str(max(1, round(limited.retry_after)))},
                )
        try:
            response: web.StreamResponse = await self._eio_handle_request(request)
        except Exception as error:
            self._count("bad_engineio_frame")
            self._log.warning(
                "bad_engineio_frame",
                "closed a Socket.IO connection from %s: not an Engine.IO frame (%s)",
                request.remote,
                type(error).__name__,
            )
            return web.Response(status=400)
        return response

    def _engineio_server_class(self) -> type[SweepingEngineServer]:
        return SweepingEngineServer

    def register_namespace(self, namespace_handler: Any) -> None:
        super().register_namespace(namespace_handler)
        limits: dict[str, int] = getattr(namespace_handler, "event_max_bytes", {})
        self._largest_frame = max([self._largest_frame, *limits.values()])

    # ---- python-socketio hooks ------------------------------------------------------------
    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        # What a refusal needs (type, namespace, ack id) comes from the frame's header, so
        # a frame over the limits is answered without decoding its JSON.
        header = frame_header(data)
        kind = int(header["type"]) if header else None
        try:
            self._admit(eio_sid, kind)
        except RateLimited as limited:
            self._count("rate_limited")
            await self._refuse(eio_sid, header, limited)
            await self._strike(eio_sid)
            return
        if header is None:
            why = (
                "binary frames are not part of the protocol"
                if isinstance(data, bytes)
                else ("not a Socket.IO packet")
            )
            await self._bad_frame(eio_sid, None, why)
            return
        if len(data) > self._largest_frame:  # characters: each is at least one byte
            self._count("payload_too_large")
            limit = self._event_limit(header["nsp"], header["name"])
            too_large = PayloadTooLarge(
                f"event frame is at least {len(data)} bytes; the limit is {limit}"
            )
            await self._refuse(eio_sid, header, too_large)
            return
        if reads_fast(header):
            await self._event_frame(eio_sid, header, data)
            return
        try:
            pkt = self.packet_class(encoded_packet=data)
        except (ValueError, TypeError, IndexError, RecursionError) as error:
            await self._bad_frame(eio_sid, header, _why(error))
            return
        if kind == packet.EVENT:
            await self._checked_event(eio_sid, header, data, pkt.namespace, pkt.id, pkt.data)
        elif kind == packet.CONNECT:
            await self._handle_connect(eio_sid, pkt.namespace, pkt.data)
        elif kind == packet.DISCONNECT:
            await self._handle_disconnect(eio_sid, pkt.namespace, self.reason.CLIENT_DISCONNECT)
        elif kind == packet.ACK:
            await self._handle_ack(eio_sid, pkt.namespace, pkt.id, pkt.data)
        else:
            await self._bad_frame(eio_sid, header, f"packet type {kind} is not accepted")

    async def _event_frame(self, eio_sid: str, header: re.Match[str], data: str) -> None:
        """An event frame read from the header already matched: what python-socketio's
        decode would find (namespace, ack id, then the JSON from `["name"` on), without
        reading the frame a second time."""
        try:
            namespace, ack_id, args = read_event(header, data)
        except (ValueError, TypeError, RecursionError) as error:
            await self._bad_frame(eio_sid, header, _why(error))
            return
        await self._checked_event(eio_sid, header, data, namespace, ack_id, args)

    async def _checked_event(
        self,
        eio_sid: str,
        header: re.Match[str],
        data: str,
        namespace: str | None,
        ack_id: int | None,
        args: Any,
    ) -> None:
        try:
            self._check_event(namespace, args, data)
        except LiveAssistError as refused:
            self._count(refused.code)
            await self._refuse(eio_sid, header, refused)
            return
        await self._handle_event(eio_sid, namespace, ack_id, args)

    async def _handle_event(
        self, eio_sid: str, namespace: str | None, ack_id: int | None, args: list[Any]
    ) -> None:
        """An admitted event to its namespace in a task of its own, and the answer back as
        an ack frame. python-socketio does the same through four more layers per event
        (its handler lookup with a catch-all, a coroutine check, a log line, a packet object
        for the ack): a few percent of a chat message's CPU (docs/benchmarks.md)."""
        namespace = namespace or "/"
        handler = self.namespace_handlers.get(namespace)
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if handler is None or sid is None or not self.manager.is_connected(sid, namespace):
            return  # python-socketio drops these too: the namespace was never joined
        task = asyncio.ensure_future(self._answer(handler, eio_sid, sid, namespace, ack_id, args))
        _answering.add(task)
        task.add_done_callback(_answering.discard)

    async def _answer(
        self,
        handler: Any,
        eio_sid: str,
        sid: str,
        namespace: str,
        ack_id: int | None,
        args: list[Any],
    ) -> None:
        answer = await handler.trigger_event(args[0], sid, *args[1:])
        if ack_id is not None:
            await self.eio.send(eio_sid, ack_frame(namespace, ack_id, answer))

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> Any:
        lean_socket.adopt(self.eio.sockets.get(eio_sid))
        environ[PEER_KEY] = client_ip(environ)  # aiohttp works it out anew per read
        return await super()._handle_eio_connect(eio_sid, environ)

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        self.connections_closed += 1
        self._limits.per_connection.forget(eio_sid)
        self._strikes.forget(eio_sid)
        await super()._handle_eio_disconnect(eio_sid, reason)

    # ---- the gate -------------------------------------------------------------------------
    def _admit(self, eio_sid: str, kind: int | None) -> None:
        """Events, acks and unreadable frames spend the connection's budget; every frame
        spends the address's."""
        if kind not in (packet.CONNECT, packet.DISCONNECT):
            self._limits.per_connection.hit(eio_sid)
        self._limits.per_ip.hit(self.ip_of(eio_sid))

    async def _strike(self, eio_sid: str) -> None:
        """A client told `rate_limited` that keeps sending anyway is closed: answering
        each frame it sends costs the server more than it costs the client."""
        try:
            self._strikes.hit(eio_sid)
        except RateLimited:
            self._strikes.forget(eio_sid)
            self._count("closed_for_flooding")
            ip = self.ip_of(eio_sid)
            self._log.warning(
                "flood_close", "closed a Socket.IO connection from %s: it kept flooding", ip
            )
            self._limits.per_ip.penalize(ip, FLOOD_PENALTY * self._limits.per_ip.burst)
            connects = self._limits.connects_per_ip
            await connects.penalize(ip, FLOOD_PENALTY * connects.burst)
            request = self.environ.get(eio_sid, {}).get("aiohttp.request")
            await self.eio.disconnect(eio_sid)
            # Engine.IO would go on reading (and dispatching) what the client still sends.
            transport = getattr(request, "transport", None)
            if transport is not None:
                transport.abort()

    def ip_of(self, eio_sid: str) -> str:
        """The peer address as aiohttp saw it (never anything a client wrote)."""
        environ = self.environ.get(eio_sid, {})
        return str(environ.get(PEER_KEY) or client_ip(environ))

    def _check_event(self, namespace: str | None, args: Any, frame: str) -> None:
        if not isinstance(args, list) or not args or not isinstance(args[0], str):
            raise InvalidPayload("an event is a JSON array starting with the event's name")
        name = args[0]
        handler = self.namespace_handlers.get(namespace or "/")
        events: dict[str, Any] = getattr(handler, "events", {})
        if name in RESERVED_EVENTS or name not in events:
            shown = name if len(name) <= 64 else name[:64] + "…"
            raise UnknownEvent(f"unknown event {shown!r} on {namespace or '/'}")
        max_bytes = self._event_limit(namespace, name)
        if 4 * len(frame) <= max_bytes:  # a character is at most 4 bytes of UTF-8
            return
        frame_bytes = len(frame.encode("utf-8", "surrogatepass"))
        if frame_bytes > max_bytes:
            raise PayloadTooLarge(f"event frame is {frame_bytes} bytes; the limit is {max_bytes}")

    def _event_limit(self, namespace: str | None, name: str | None) -> int:
        """The largest frame event `name` may have in `namespace` (bytes of UTF-8)."""
        handler = self.namespace_handlers.get((namespace or "/").rstrip(","))
        limits: dict[str, int] = getattr(handler, "event_max_bytes", {})
        return limits.get(name or "", self._max_event_bytes)

    # ---- refusing -------------------------------------------------------------------------
    async def _refuse(
        self, eio_sid: str, header: re.Match[str] | None, error: LiveAssistError
    ) -> None:
        """Answer a refused frame: an error ack for an event with an ack id, a connect
        error for a namespace connect; nothing else has anyone waiting for an answer."""
        if header is None:
            return
        kind = int(header["type"])
        namespace = header["nsp"][:-1] if header["nsp"] else None
        if kind == packet.EVENT and header["id"]:
            await self._send_ack_error(eio_sid, namespace, int(header["id"]), error)
        elif kind == packet.CONNECT:
            await self._send_packet(
                eio_sid,
                self.packet_class(
                    packet.CONNECT_ERROR,
                    data={"message": error.message, "data": error.to_wire()},
                    namespace=namespace,
                ),
            )

    async def _send_ack_error(
        self, eio_sid: str, namespace: str | None, ack_id: int, error: LiveAssistError
    ) -> None:
        await self._send_packet(
            eio_sid,
            self.packet_class(
                packet.ACK,
                namespace=namespace,
                id=ack_id,
                data=[{"ok": False, "error": error.to_wire()}],
            ),
        )

    async def _bad_frame(self, eio_sid: str, header: re.Match[str] | None, why: str) -> None:
        """Refuse a frame we cannot read as a packet (it has already spent its rate-limit
        token): one throttled log line, and an answer when its ack id can be read."""
        self._count("bad_frame")
        self._log.warning(
            "bad_frame", "refused a malformed frame from %s: %s", self.ip_of(eio_sid), why
        )
        await self._refuse(eio_sid, header, InvalidPayload(f"malformed event: {why}"))

    def _count(self, reason: str) -> None:
        self.refused[reason] = self.refused.get(reason, 0) + 1


_answering: set[asyncio.Task[None]] = set()
"""Events being answered (the loop keeps only weak references to tasks)."""


def ack_frame(namespace: str, ack_id: int, answer: Any) -> str:
    """The Socket.IO ACK packet carrying `answer`, as python-socketio's encoder writes it
    (no answer: an empty argument list)."""
    prefix = "" if namespace == "/" else namespace + ","
    body = "" if answer is None else jsonutil.dumps(answer)
    return f"{packet.ACK}{prefix}{ack_id}[{body}]"


def frame_header(data: Any) -> re.Match[str] | None:
    """Packet type, namespace, ack id and event name of a text frame (None: not a packet)."""
    return _HEADER.match(data) if isinstance(data, str) else None


def reads_fast(header: re.Match[str] | None) -> bool:
    """Whether `read_event` can read the frame: an event with its name in view and a
    namespace without a query (python-socketio decodes anything else)."""
    if header is None or header["type"] != "2" or not header["name"]:
        return False
    return "?" not in (header["nsp"] or "")


def read_event(header: re.Match[str], data: str) -> tuple[str | None, int | None, Any]:
    """(namespace, ack id, arguments) of an event frame whose header matched, as
    python-socketio's decode reads them; raises ValueError for JSON that is not strict."""
    namespace = header["nsp"][:-1] if header["nsp"] else None
    ack_id = int(header["id"]) if header["id"] else None
    return namespace, ack_id, jsonutil.loads(data[header.start("name") - 2 :])


def _why(error: BaseException) -> str:
    """A short reason for the client and the log; never the client's bytes."""
    if isinstance(error, jsonutil.NotJson):
        return str(error)
    if isinstance(error, RecursionError):
        return "the JSON is nested too deeply"
    if isinstance(error, json.JSONDecodeError):
        return "the payload is not valid JSON"
    return "not a Socket.IO packet"
