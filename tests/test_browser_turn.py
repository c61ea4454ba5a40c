"""A call through a real coturn from the real widget in headless Chromium, with the ICE
transport policy "relay": the page takes the ICE servers signaling hands it (call.ice_servers,
with its own TURN credentials), may use relay candidates only, and still sends and receives
video — so every packet went through coturn. The agent is an aiortc participant, relay-only
too. The TURN server is tests/turn.py's, configured by docs/coturn/turnserver.conf; a second
TURN server in the list never answers (down, or its UDP dropped), and must not hold the call
back."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser

from loadtest.call_peer import CallPeer
from media.stamps import StampedVideoTrack
from tests.conftest import Server, start_server
from tests.test_browser import customer_says, launched_chromium, start_widget_chat
from tests.test_browser_calls import CALL_ARGS, CAMERA, SELECTED_PAIR, open_tab, wait_frames
from tests.test_calls import SMALL
from tests.turn import TurnServer

pytestmark = pytest.mark.browser

# Test-side: every RTCPeerConnection the page makes may use TURN relay candidates only, as a
# browser on a network that lets nothing else through would end up doing.
RELAY_ONLY = """
(() => {
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Native {
    constructor(config = {}) { super({ ...config, iceTransportPolicy: 'relay' }); }
  };
})();
"""

# The newest open peer connection: its configuration, its offer's candidate types, and the
# candidate pair it sends on.
ICE_REPORT = (
    "async () => {"
    + SELECTED_PAIR
    + """
  const remote = pair && report.get(pair.remoteCandidateId);
  const config = pc.getConfiguration();
  return {
    policy: config.iceTransportPolicy,
    servers: config.iceServers.map((s) => ({ urls: s.urls, username: s.username })),
    offered: [...pc.localDescription.sdp.matchAll(/ typ (\\w+)/g)].map((m) => m[1]),
    local: local && { type: local.candidateType, url: local.url },
    remote: remote && { type: remote.candidateType, address: remote.address },
  };
}
"""
)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with launched_chromium(CALL_ARGS) as chromium:
        yield chromium


@contextmanager
def silent_turn_url() -> Iterator[str]:
    """A TURN URL whose server never answers: a UDP socket that takes and drops everything."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        yield f"turn:127.0.0.1:{sink.getsockname()[1]}?transport=udp"


async def test_widget_with_relay_only_policy_calls_through_coturn(
    tmp_path: Path, browser: Browser, turn_server: TurnServer
) -> None:
    turn = turn_server
    with silent_turn_url() as silent:
        urls = [turn.url, turn.url.replace("=udp", "=tcp"), silent]
        srv, runner = await start_server(
            tmp_path / "d", calls={"ice_servers": urls}, turn={"secret": turn.secret}
        )
        try:
            await relay_only_call(srv, browser, turn, urls)
        finally:
            await runner.cleanup()


async def relay_only_call(srv: Server, browser: Browser, turn: TurnServer, urls: list[str]) -> None:
    agent = await srv.staff("agent1@demo.local")
    us: CallPeer | None = None
    try:
        customer = await open_tab(browser, f"{srv.url}/demo", init=RELAY_ONLY)
        page = customer.page
        await start_widget_chat(customer, name="Tess")
        await customer_says(customer, "Can we talk? Only TURN gets through here.")
        assigned = await agent.next("chat.assigned")
        await page.locator("[data-call-start=video]").click()
        call: dict[str, Any] = await agent.next(
            "call.ringing", where=lambda c: c["chat_id"] == assigned["chat"]["id"]
        )
        rang = time.monotonic()  # the page builds its peer connection from here on
        # aiortc takes the list's first TURN URL: coturn over UDP.
        us = CallPeer(agent, call["id"], {"camera": StampedVideoTrack(**SMALL)}, relay_only=True)
        await asyncio.gather(agent.request("call.accept", {"call_id": call["id"]}), us.prepare())
        await us.join()
        await agent.next(
            "call.updated", where=lambda c: c["participants"]["customer"]["state"] == "connected"
        )
        # The page's offer went out once it had relay candidates, without waiting the 8 s
        # its gathering allows for the silent server (web/static/js/call/peer.js).
        joined = time.monotonic() - rang
        assert joined < 4, f"the customer joined {joined:.1f} s after the call rang"

        # The agent's camera decoded in the page: two seconds of it (at 15 fps), so that its
        # bytes through coturn are measured on a video, not on the first keyframe.
        await wait_frames(page, CAMERA, more_than=30)
        await us.wait_frames("camera", 10)  # the page's fake camera, decoded by the agent
        ice: dict[str, Any] = await page.evaluate(ICE_REPORT)
        # The page built its peer connection with what call.ice_servers handed it: coturn,
        # with credentials naming this call's customer.
        assert ice["policy"] == "relay"
        (server,) = ice["servers"]
        assert server["urls"] == urls
        assert f":call-{call['id']}-customer-" in server["username"]
        # It offered relay candidates only (coturn's, over UDP and TCP), and sends through
        # one of them to the relay.
        assert ice["offered"] and set(ice["offered"]) == {"relay"}, ice
        assert ice["local"]["type"] == "relay" and ice["local"]["url"] in urls[:2], ice
        assert ice["remote"]["type"] == "host", ice  # the relay worker's own address

        await agent.request("call.hangup", {"call_id": call["id"]})
        await page.locator(".la-call").wait_for(state="detached")
        await us.close()
        customer.assert_no_script_errors()
        print(f"\ncustomer joined {joined:.2f} s after the call rang")
        # Before the server stops under it, and so that Chromium deletes every allocation:
        # coturn writes a session's usage only once it has ended (a CI run read 8.4 KB
        # sent to the customer while one of its sessions was still open).
        await page.context.close()
        for party in ("customer", "agent"):
            received, sent = await turn.usage(f"call-{call['id']}-{party}-", timeout=15)
            # Both directions of video passed through coturn, for each participant.
            assert received > 10_000 and sent > 10_000, (party, received, sent)
    finally:
        if us is not None:
            await us.close()
        await agent.close()
