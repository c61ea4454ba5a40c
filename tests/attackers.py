"""Hostile Socket.IO clients in a process of their own (so their CPU is not the server's):
`python -m tests.attackers URL SECONDS TOKEN...` floods the server from each token's
connection with junk frames and events as fast as it can, then prints what it sent.

Each connection alternates frames the gate must refuse cheaply: undecodable JSON, NaN,
lone surrogates, reserved event names, unknown events, binary frames, oversized frames
and valid events beyond the rate limit."""

from __future__ import annotations

import asyncio
import json
import sys
import time

import aiohttp

ATTACKER_ADDRESS = "127.0.0.2"
JUNK = [
    '42/customer,{id}["typing",{{"chat_id":NaN}}]',
    '42/customer,{id}["message.send",{{"chat_id":1,"client_msg_id":"a","text":"\\ud800"}}]',
    '42/customer,{id}["connect",{{"REMOTE_ADDR":"127.0.0.9"}},{{"token":"x"}}]',
    '42/customer,{id}["disconnect"]',
    '42/customer,{id}["chat.destroy",{{}}]',
    '42/customer,{id}["typing",{{"chat_id":1',
    '42/customer,{id}["typing",{{"chat_id":{chat}}}]',
    "42/customer,{id}[" + '"x",' * 8000 + '"y"]',
]


async def flood(url: str, token: str, chat_id: int, seconds: float) -> tuple[int, int]:
    """Frames sent and connections opened: a closed connection is reopened at once."""
    sent = [0]
    connects = 0
    ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    deadline = time.monotonic() + seconds
    # From an address of its own, as an attacker would be: the per-address limits that stop
    # it must not be what slows the control clients on 127.0.0.1 down.
    connector = aiohttp.TCPConnector(local_addr=(ATTACKER_ADDRESS, 0))
    async with aiohttp.ClientSession(connector=connector) as http:
        while time.monotonic() < deadline:
            connects += 1
            try:
                await _one_connection(http, ws_url, token, chat_id, deadline, sent)
            except (aiohttp.ClientError, ConnectionError, OSError):
                await asyncio.sleep(0.01)
    return sent[0], connects


async def _one_connection(
    http: aiohttp.ClientSession,
    ws_url: str,
    token: str,
    chat_id: int,
    deadline: float,
    sent: list[int],
) -> None:
    async with http.ws_connect(ws_url) as ws:
        await ws.receive_str()
        await ws.send_str("40/customer," + json.dumps({"token": token}))

        async def drain() -> None:
            async for message in ws:
                if message.type is aiohttp.WSMsgType.TEXT and message.data == "2":
                    await ws.send_str("3")

        reader = asyncio.create_task(drain())
        try:
            while time.monotonic() < deadline and not ws.closed:
                for pattern in JUNK:
                    await ws.send_str(pattern.format(id=sent[0], chat=chat_id))
                    sent[0] += 1
                await ws.send_bytes(b"\x00binary")
                sent[0] += 1
                await asyncio.sleep(0)  # let the reader answer pings
        finally:
            reader.cancel()


async def main(url: str, seconds: float, tokens: list[tuple[str, int]]) -> None:
    counts = await asyncio.gather(*(flood(url, t, c, seconds) for t, c in tokens))
    frames = sum(sent for sent, _ in counts)
    connects = sum(opened for _, opened in counts)
    print(json.dumps({"frames": frames, "connections": connects, "seconds": seconds}))


if __name__ == "__main__":
    url, seconds, *pairs = sys.argv[1:]
    chats = [(pairs[i], int(pairs[i + 1])) for i in range(0, len(pairs), 2)]
    asyncio.run(main(url, float(seconds), chats))
