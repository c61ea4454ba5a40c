"""The four ways a stream gets from one publisher to one subscriber, behind one interface.

Every path connects the same load generator (benchmarks.call_publisher / call_subscriber
processes) and reports the pid of the process that forwards media, measured from outside.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Protocol

from benchmarks import call_decoded_relay
from benchmarks.janus_client import JanusSession
from benchmarks.janus_server import JanusServer
from loadtest.rpc import Child
from relay.control.pool import RelayPool
from relay.interface import EventLoopKind, ParticipantId, RoomId


class CallPath(Protocol):
    name: str
    label: str
    decode: bool
    """True when the path re-encodes, so subscribers must read stamps from pixels."""

    @property
    def relay_pid(self) -> int | None: ...

    async def start(self) -> None: ...

    async def connect(self, stream: int, pub: Child, sub: Child) -> None: ...

    async def stop(self) -> None: ...


class OurRelay:
    """(a) relay/: one RelayPool worker process; one room per stream."""

    name, label, decode = "relay", "our relay (relay/, 1 worker)", False

    def __init__(self, event_loop: EventLoopKind = "uvloop") -> None:
        if event_loop != "uvloop":  # the default is "relay"; the other loop is a variant
            self.name = f"relay_{event_loop}"
            self.label = f"our relay on the {event_loop} loop (1 worker)"
        self._pool = RelayPool(workers=1, capacity=10_000, event_loop=event_loop)

    @property
    def relay_pid(self) -> int | None:
        return self._pool.workers[0].pid

    async def start(self) -> None:
        await self._pool.start()

    async def connect(self, stream: int, pub: Child, sub: Child) -> None:
        room = RoomId(f"stream-{stream}")
        await self._pool.open_room(room)
        for client, who in [(pub, "pub"), (sub, "sub")]:
            args = {"decode": False} if client is sub else {}
            offer = await client.call("offer", stream=stream, **args)
            answer = await self._pool.join(room, ParticipantId(who), offer)
            await client.call("answer", stream=stream, sdp=answer)

    async def counters(self) -> dict[str, Any]:
        """The worker's counters (relay/metrics.py), to tell what a run did to them."""
        stats = await self._pool.stats()
        return dict(stats.workers[0].metrics)

    async def stop(self) -> None:
        await self._pool.stop()


class DecodedRelay:
    """(b) aiortc MediaRelay: decode, then VP8/Opus re-encode per subscriber."""

    name, label, decode = "mediarelay", "aiortc MediaRelay (decode + re-encode)", True

    def __init__(self, bitrate: int) -> None:
        self._child = Child("decoded-relay", call_decoded_relay.main, bitrate)

    @property
    def relay_pid(self) -> int | None:
        return self._child.pid

    async def start(self) -> None:
        await self._child.start()

    async def connect(self, stream: int, pub: Child, sub: Child) -> None:
        offer = await pub.call("offer", stream=stream)
        await pub.call(
            "answer", stream=stream, sdp=await self._child.call("publish", stream=stream, sdp=offer)
        )
        offer = await sub.call("offer", stream=stream, decode=True)
        await sub.call(
            "answer",
            stream=stream,
            sdp=await self._child.call("subscribe", stream=stream, sdp=offer),
        )

    async def stop(self) -> None:
        await self._child.stop()


class PeerToPeer:
    """(c) no relay: the publisher's offer goes straight to the subscriber."""

    name, label, decode = "p2p", "peer-to-peer (no relay)", False

    @property
    def relay_pid(self) -> int | None:
        return None

    async def start(self) -> None:
        pass

    async def connect(self, stream: int, pub: Child, sub: Child) -> None:
        offer = await pub.call("offer", stream=stream)
        answer = await sub.call("accept", stream=stream, sdp=offer, decode=False)
        await pub.call("answer", stream=stream, sdp=answer)

    async def stop(self) -> None:
        pass


class Janus:
    """(d) Janus VideoRoom over its HTTP API: one room per stream."""

    name, label, decode = "janus", "Janus 1.1.2 VideoRoom", False

    def __init__(self, workdir: Path) -> None:
        self.server = JanusServer(workdir)
        self._session: JanusSession | None = None
        self._rooms = itertools.count(1000)

    @property
    def relay_pid(self) -> int | None:
        return self.server.pid

    async def start(self) -> None:
        await self.server.start()
        self._session = JanusSession(self.server.url)
        await self._session.open()

    async def connect(self, stream: int, pub: Child, sub: Child) -> None:
        session = self._session
        assert session is not None
        room = next(self._rooms)
        publisher = await session.attach()
        await session.message(
            publisher,
            {
                "request": "create",
                "room": room,
                "publishers": 1,
                "audiocodec": "opus",
                "videocodec": "vp8",
                "bitrate": 0,
                "fir_freq": 0,
            },
        )
        offer = await pub.call("offer", stream=stream)
        joined, answer = await session.message(
            publisher,
            {
                "request": "joinandconfigure",
                "room": room,
                "ptype": "publisher",
                "audio": True,
                "video": True,
            },
            {"type": "offer", "sdp": offer},
        )
        assert answer is not None, "Janus sent no answer to the publisher"
        await pub.call("answer", stream=stream, sdp=answer["sdp"])
        await session.webrtcup(publisher)
        subscriber = await session.attach()
        _, offer_jsep = await session.message(
            subscriber,
            {
                "request": "join",
                "room": room,
                "ptype": "subscriber",
                "streams": [{"feed": joined["id"]}],
            },
        )
        assert offer_jsep is not None, "Janus sent no offer to the subscriber"
        answer_sdp = await sub.call("accept", stream=stream, sdp=offer_jsep["sdp"], decode=False)
        await session.message(
            subscriber, {"request": "start"}, {"type": "answer", "sdp": answer_sdp}
        )

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        await self.server.stop()
