"""The server's Engine.IO socket (signaling/realtime/lean_socket.py): the same protocol as
python-engineio's, without a task per frame, and a closed connection freed at once."""

from __future__ import annotations

import asyncio
import gc
import json
import time
from collections import Counter

import aiohttp

from loadtest.clients import Customer
from tests.conftest import Server
from tests.raw_socketio import RawSocket

SERVER_SIDE_KINDS = (
    "engineio.async_socket.AsyncSocket",
    "signaling.realtime.lean_socket.LeanSocket",
    "aiohttp.web_request.Request",
    "aiohttp.web_ws.WebSocketResponse",
    "aiohttp.web_protocol.RequestHandler",
)


def _cyclic_garbage() -> Counter[str]:
    """What a full collection finds unreachable now, by type (then freed as usual)."""
    gc.collect()
    flags = gc.get_debug()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        return Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage)
    finally:
        gc.set_debug(flags)
        gc.garbage.clear()


async def _until(condition: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not callable(condition) or not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_closed_connections_leave_no_cycles_for_the_collector(server: Server) -> None:
    """A closed socket used to stay as a reference cycle (~60 objects: aiohttp's request and
    websocket, the Engine.IO socket, its tasks, the OSError that ended its read) until a full
    collection found it; at 16,000 sockets that collection stops the process for seconds."""
    eio = server.runtime.sio.eio
    _cyclic_garbage()  # what earlier tests left
    people = [await server.customer(name=f"Closes {n}") for n in range(8)]
    for person in people:
        await person.say("hello")
    for person in people:
        await person.close()
    await _until(lambda: not eio.sockets)
    left = _cyclic_garbage()
    assert not {kind: n for kind, n in left.items() if kind in SERVER_SIDE_KINDS}


async def test_a_polling_client_upgrades_to_websocket_and_chats(server: Server) -> None:
    """Browsers start on long-polling and upgrade (the probe handshake is ours to keep)."""
    person = Customer(server.url)
    await person.open_chat(name="Polly")
    await person.connect(transports=["polling", "websocket"])
    try:
        await _until(lambda: person.sio.eio.current_transport == "websocket")
        sent = await person.say("over the upgraded socket")
        stored = await person.request("chat.sync", {"chat_id": person.chat_id})
        assert [m["id"] for m in stored["messages"]][-1] == sent["id"]
    finally:
        await person.close()


async def test_pings_keep_an_answering_client_and_drop_a_silent_one(server: Server) -> None:
    eio = server.runtime.sio.eio
    eio.ping_interval, eio.ping_timeout = 0.3, 0.3
    answering = RawSocket(server.url, "/customer")
    silent = aiohttp.ClientSession()
    person = Customer(server.url)
    try:
        await person.open_chat(name="Pings")
        assert person.token is not None
        await answering.connect(person.token)  # answers every ping by itself
        ws = await silent.ws_connect(answering.url)
        assert (await ws.receive_str(timeout=5)).startswith("0")
        await ws.send_str(f"40/customer,{json.dumps({'token': person.token})}")
        pings = 0
        started = time.monotonic()
        async with asyncio.timeout(10):
            async for message in ws:  # never answers: closed within interval + timeout
                pings += message.data == "2"
        silent_for = time.monotonic() - started
        assert pings >= 1 and silent_for < 3.0, (pings, silent_for)
        await asyncio.sleep(1.5)  # several more ping cycles for the answering one
        assert not answering.closed.is_set()
        sync = answering.event(1, f'["chat.sync",{{"chat_id":{person.chat_id}}}]')
        await answering.send(sync)
        assert (await answering.ack(1))["ok"]
    finally:
        await answering.close()
        await silent.close()
        await person.close()


async def _polling_client(
    http: aiohttp.ClientSession, base: str, namespace: str, token: str
) -> tuple[str, str]:
    """A long-polling Engine.IO client connected to `namespace`: (its sid, its URL)."""
    url = f"{base}/socket.io/?EIO=4&transport=polling"
    async with http.get(url) as response:
        opened = await response.text()
    assert opened.startswith("0"), opened
    sid = json.loads(opened[1:])["sid"]
    url = f"{url}&sid={sid}"
    async with http.post(url, data=f"40{namespace},{json.dumps({'token': token})}") as response:
        assert response.status == 200
    async with http.get(url) as response:  # the namespace's connect answer
        assert (await response.text()).startswith(f"40{namespace},")
    return sid, url


async def _poll_and_pong(http: aiohttp.ClientSession, url: str, stop: asyncio.Event) -> None:
    """What a browser on long-polling does: poll, answer each ping with a pong."""
    while not stop.is_set():
        async with http.get(url) as response:
            frames = (await response.text()).split("\x1e")
        if "2" in frames:
            async with http.post(url, data="3"):
                pass


async def test_the_sweep_drops_a_polling_client_that_stopped_and_keeps_one_that_polls(
    server: Server,
) -> None:
    """A long-polling client has no reader of its own to time out: the Engine.IO server's
    sweep (signaling/realtime/engine_sweep.py) closes it once a ping has gone unanswered
    for the ping timeout, and leaves a client that answers alone."""
    eio = server.runtime.sio.eio
    eio.ping_interval, eio.ping_timeout = 0.3, 0.4
    stopped_person, polling_person = Customer(server.url), Customer(server.url)
    await stopped_person.open_chat(name="Stops polling")
    await polling_person.open_chat(name="Keeps polling")
    assert stopped_person.token is not None and polling_person.token is not None
    stop = asyncio.Event()
    async with aiohttp.ClientSession() as http:
        stopped, _ = await _polling_client(http, server.url, "/customer", stopped_person.token)
        polling, url = await _polling_client(http, server.url, "/customer", polling_person.token)
        poller = asyncio.create_task(_poll_and_pong(http, url, stop))
        try:
            await _until(lambda: stopped not in eio.sockets, seconds=5)
            assert polling in eio.sockets and not eio.sockets[polling].closed
            await asyncio.sleep(1.0)  # more ping cycles: the polling one stays
            assert polling in eio.sockets and not eio.sockets[polling].closed
        finally:
            stop.set()
            await asyncio.wait_for(poller, 5)
            await stopped_person.close()
            await polling_person.close()


async def test_a_sweep_forgets_closed_sockets_and_counts_what_it_closed(server: Server) -> None:
    eio = server.runtime.sio.eio
    person = await server.customer(name="Sweep")
    sid = list(eio.sockets)[-1]
    socket = eio.sockets[sid]
    assert await eio.sweep() == 0  # a live, answering socket is left alone
    socket.last_ping = time.time() - eio.ping_timeout - 1  # as if its pong never came
    assert await eio.sweep() == 1
    await _until(lambda: sid not in eio.sockets)
    await person.close()
