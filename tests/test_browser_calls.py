"""Calls in the real pages, in headless Chromium with a fake camera, microphone and screen:
the widget on /demo and the agent console on /agent ring, answer, see each other's camera,
share a screen, point and draw on it, mute, and hang up — through the real server and a real
relay worker. What each side decodes is read from its own RTCPeerConnection.getStats()."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import av
import pytest
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Locator,
    Page,
    expect,
)

from loadtest.clients import Staff
from tests.conftest import Server, start_server
from tests.reviewable_call import ready_recording
from tests.test_browser import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    SocketCutter,
    Tab,
    chat_card,
    customer_says,
    launched_chromium,
    sign_in_and_go_online,
    start_widget_chat,
)

pytestmark = pytest.mark.browser

CALL_ARGS = [
    *CHROMIUM_ARGS,
    "--auto-select-desktop-capture-source=Entire screen",
    "--autoplay-policy=no-user-gesture-required",
]
CALL_TIMEOUT_MS = 20_000

# Test-side instrumentation (not part of the pages): remember every RTCPeerConnection a page
# makes, so the test can read getStats() of the receiver of one m-line.
TRACK_PEER_CONNECTIONS = """
(() => {
  const Native = window.RTCPeerConnection;
  const made = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); made.push(this); }
  };
  window.__testPeerConnections = made;
})();
"""

# framesDecoded of the receiver of m-line `index` (0 audio, 1 camera, 2 screen) of the page's
# newest open peer connection.
FRAMES_DECODED = """
async (index) => {
  const open = window.__testPeerConnections.filter((pc) => pc.connectionState !== 'closed');
  const pc = open[open.length - 1];
  if (!pc) return -1;
  const transceiver = pc.getTransceivers()[index];
  if (!transceiver) return -2;
  const report = await transceiver.receiver.getStats();
  for (const stat of report.values()) {
    if (stat.type === 'inbound-rtp') return stat.framesDecoded || 0;
  }
  return 0;
}
"""
CAMERA, SCREEN = 1, 2

# The start of a getStats() reading of the page's newest open peer connection: `pc`, its
# `report`, the `pair` ICE selected and that pair's `local` candidate (the caller goes on).
SELECTED_PAIR = """
  const open = window.__testPeerConnections.filter((pc) => pc.connectionState !== 'closed');
  const pc = open[open.length - 1];
  const report = await pc.getStats();
  let pair = null;
  for (const s of report.values()) {
    const selected = s.type === 'transport' && s.selectedCandidatePairId;
    if (selected) pair = report.get(selected);
  }
  const local = pair && report.get(pair.localCandidateId);
"""

# The codec of what the m-line `index` receives and sends, from the newest peer connection.
CODECS_IN_USE = """
async (index) => {
  const open = window.__testPeerConnections.filter((pc) => pc.connectionState !== 'closed');
  const transceiver = open[open.length - 1].getTransceivers()[index];
  const used = {};
  for (const [side, type, part] of [['received', 'inbound-rtp', transceiver.receiver],
                                     ['sent', 'outbound-rtp', transceiver.sender]]) {
    const report = await part.getStats();
    const codecs = {};
    for (const s of report.values()) if (s.type === 'codec') codecs[s.id] = s.mimeType;
    for (const s of report.values()) if (s.type === type) used[side] = codecs[s.codecId] || null;
  }
  return used;
}
"""

# A client that prefers H.264 (as Safari does): whatever codec order a page asks for,
# H.264 goes first.
PREFER_H264 = """
(() => {
  const native = RTCRtpTransceiver.prototype.setCodecPreferences;
  const isH264 = (codec) => /\\/H264$/i.test(codec.mimeType);
  RTCRtpTransceiver.prototype.setCodecPreferences = function (codecs) {
    return native.call(this, [...codecs.filter(isH264), ...codecs.filter((c) => !isH264(c))]);
  };
})();
"""

# What a page's newest peer connection sends and receives, for failure messages.
RTP_REPORT = """
async () => {
  const open = window.__testPeerConnections.filter((pc) => pc.connectionState !== 'closed');
  const pc = open[open.length - 1];
  if (!pc) return 'no peer connection';
  const report = await pc.getStats();
  const codecs = {};
  for (const s of report.values()) if (s.type === 'codec') codecs[s.id] = s.mimeType;
  const keep = ['mid', 'packetsReceived', 'bytesReceived', 'framesDecoded', 'keyFramesDecoded',
    'pliCount', 'nackCount', 'firCount', 'packetsSent', 'framesEncoded', 'keyFramesEncoded'];
  const lines = [pc.connectionState];
  for (const s of report.values()) {
    if (s.type !== 'inbound-rtp' && s.type !== 'outbound-rtp') continue;
    const fields = keep.filter((k) => k in s).map((k) => `${k}=${s[k]}`).join(' ');
    lines.push(`${s.type} ${s.kind} ${codecs[s.codecId] || '?'} ${fields}`);
  }
  return lines.join(' | ');
}
"""

# A screen source for pages that cannot (or should not) capture the real screen: a canvas
# with a moving bar, captured at 15 fps. The pages use window.__liveassistScreenSource when
# it is defined instead of getDisplayMedia().
CANVAS_SCREEN_SOURCE = """
() => {
  window.__liveassistScreenSource = () => {
    const canvas = Object.assign(document.createElement('canvas'), {width: 960, height: 540});
    const ctx = canvas.getContext('2d');
    let x = 0;
    setInterval(() => {
      ctx.fillStyle = '#f4f6f9';
      ctx.fillRect(0, 0, 960, 540);
      ctx.fillStyle = '#2f5bea';
      ctx.fillRect(x, 200, 160, 140);
      x = (x + 12) % 800;
    }, 66);
    const stream = canvas.captureStream(15);
    window.__testScreenTrack = stream.getVideoTracks()[0];  // for the test's "stop sharing"
    return stream;
  };
}
"""

# How much of an overlay canvas is painted (alpha > 0), in pixels.
PAINTED_PIXELS = """
(canvas) => {
  const ctx = canvas.getContext('2d');
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted += 1;
  return painted;
}
"""


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with launched_chromium(CALL_ARGS) as chromium:
        yield chromium


async def open_tab(browser: Browser, url: str, *, width: int = 1280, init: str = "") -> Tab:
    """A page in its own context; `init` is more test-side script to run before the page's."""
    context = await browser.new_context(locale="en-US", viewport={"width": width, "height": 900})
    context.set_default_timeout(CALL_TIMEOUT_MS)
    await context.add_init_script(TRACK_PEER_CONNECTIONS + init)
    tab = Tab(await context.new_page())

    # Warnings and errors from the page show up in the output of a failing test.
    def report(message: ConsoleMessage) -> None:
        if message.type in ("warning", "error"):
            print(f"[{url}] {message.type}: {message.text}")

    tab.page.on("console", report)
    await tab.page.goto(url)
    return tab


async def frames_decoded(page: Page, index: int) -> int:
    return int(await page.evaluate(FRAMES_DECODED, index))


async def wait_frames(page: Page, index: int, *, more_than: int = 0, timeout: float = 20) -> int:
    """Poll getStats until the m-line's receiver has decoded more than `more_than` frames."""
    deadline = time.monotonic() + timeout
    frames = await frames_decoded(page, index)
    while frames <= more_than and time.monotonic() < deadline:
        await page.wait_for_timeout(250)
        frames = await frames_decoded(page, index)
    if frames <= more_than:
        report = await page.evaluate(RTP_REPORT)
        raise AssertionError(f"m-line {index}: {frames} frames decoded; rtp: {report}")
    return frames


async def wait_painted(canvas: Locator, timeout: float = 10) -> int:
    deadline = time.monotonic() + timeout
    painted = int(await canvas.evaluate(PAINTED_PIXELS))
    while painted == 0 and time.monotonic() < deadline:
        await canvas.page.wait_for_timeout(100)
        painted = int(await canvas.evaluate(PAINTED_PIXELS))
    return painted


async def staff_get(page: Page, path: str) -> Any:
    """A REST GET with the signed-in agent's bearer token (from this tab's sign-in)."""
    return await page.evaluate(
        """async (path) => {
            const token = JSON.parse(sessionStorage.getItem('liveassist.staff')).token;
            const response = await fetch(path, {headers: {Authorization: `Bearer ${token}`}});
            return {status: response.status, body: await response.json()};
        }""",
        path,
    )


async def drag(
    page: Page, target: Locator, start: tuple[float, float], end: tuple[float, float]
) -> None:
    """Press at `start`, move to `end`, release; points are fractions of the element's box."""
    box = await target.bounding_box()
    assert box is not None
    x0, y0 = box["x"] + box["width"] * start[0], box["y"] + box["height"] * start[1]
    x1, y1 = box["x"] + box["width"] * end[0], box["y"] + box["height"] * end[1]
    await page.mouse.move(x0, y0)
    await page.mouse.down()
    for step in range(1, 9):
        await page.mouse.move(x0 + (x1 - x0) * step / 8, y0 + (y1 - y0) * step / 8)
    await page.mouse.up()


async def chat_with_agent(
    server: Server, browser: Browser, name: str, *, customer_init: str = ""
) -> tuple[Tab, Tab, Locator]:
    """A customer on /demo whose chat the agent on /agent has taken."""
    customer = await open_tab(browser, f"{server.url}/demo", init=customer_init)
    await start_widget_chat(customer, name=name)
    await customer_says(customer, "Can I show you my screen?")
    agent = await open_tab(browser, f"{server.url}/agent", width=1600)
    await sign_in_and_go_online(agent, server)
    card = chat_card(agent.page, name)
    await expect(
        card.locator(".la-msg__text", has_text="Can I show you my screen?")
    ).to_be_visible()
    return customer, agent, card


# ---- scenarios -------------------------------------------------------------------------------


async def test_video_call_screen_share_annotations_and_hang_up(
    server: Server, browser: Browser
) -> None:
    began = time.monotonic()
    marks: dict[str, float] = {}
    customer, agent, card = await chat_with_agent(server, browser, "Carla")
    cpage, apage = customer.page, agent.page
    widget_call = cpage.locator(".la-call")
    agent_call = card.locator(".la-call")
    marks["chat ready"] = time.monotonic() - began

    # The customer calls with one click; the agent's console rings (Accept is not focused by
    # itself: the agent may be typing, issue 15).
    await cpage.locator("[data-call-start=video]").click()
    await expect(widget_call).to_have_attribute("data-call-state", "ringing")
    await expect(widget_call.locator("[data-call-action=cancel]")).to_be_visible()
    accept = agent_call.locator("[data-call-action=accept]")
    await expect(accept).to_be_visible()
    await expect(accept).not_to_be_focused()
    await expect(agent_call.locator("[data-call-action=decline]")).to_be_visible()
    call_id = int(await agent_call.get_attribute("data-call-id") or 0)
    # While it rings, the caller's peer connection and offer are built (ICE gathered), so
    # joining once answered is one round trip; that same connection then carries the call.
    await cpage.wait_for_function(  # a function, not an expression: CSP forbids eval
        "() => window.__testPeerConnections.length === 1"
        " && window.__testPeerConnections[0].iceGatheringState === 'complete'"
    )
    await accept.focus()  # the agent goes to Accept ...
    await apage.keyboard.press("Enter")  # ... and answers from the keyboard
    marks["answered"] = time.monotonic() - began

    await expect(widget_call).to_have_attribute("data-link", "connected")
    await expect(agent_call).to_have_attribute("data-link", "connected")
    marks["connected"] = time.monotonic() - began
    assert await cpage.evaluate("window.__testPeerConnections.length") == 1
    assert await apage.evaluate("window.__testPeerConnections.length") == 1
    # Both see the other's camera: frames decoded on the camera m-line, on both sides.
    await wait_frames(apage, CAMERA)
    await wait_frames(cpage, CAMERA)
    marks["camera frames both ways"] = time.monotonic() - began
    for call in (widget_call, agent_call):
        tile = call.locator("[data-tile=remote-camera]")
        await expect(tile).to_be_visible()
        await expect(tile).to_have_attribute("data-main", "true")
        await expect(tile).not_to_have_attribute("data-frames", "0")
        await expect(call.locator("[data-tile=local-camera]")).to_be_visible()
    await expect(agent_call.locator("[data-tile=remote-screen]")).to_be_hidden()
    # Escape in the widget minimises it at most; it never hangs up.
    await cpage.locator("[data-call-action=mute]").focus()
    await cpage.keyboard.press("Escape")
    await cpage.locator(".la-launcher").click()
    await expect(widget_call).to_have_attribute("data-call-state", "active")

    # The customer shares the screen: the agent decodes it on the screen m-line and shows it
    # large, with the camera as a small picture-in-picture.
    share = cpage.locator("[data-call-action=screen]")
    await share.click()
    await expect(share).to_have_attribute("aria-pressed", "true")
    remote_screen = agent_call.locator("[data-tile=remote-screen]")
    await expect(remote_screen).to_be_visible()
    await expect(remote_screen).to_have_attribute("data-main", "true")
    await expect(agent_call.locator("[data-tile=remote-camera]")).to_have_attribute(
        "data-main", "false"
    )
    await wait_frames(apage, SCREEN)
    marks["screen frames at the agent"] = time.monotonic() - began
    await expect(remote_screen).not_to_have_attribute("data-frames", "0")
    await apage.wait_for_function(
        "el => el.videoWidth > 0", arg=await remote_screen.locator("video").element_handle()
    )
    screen_box = await remote_screen.bounding_box()
    camera_box = await agent_call.locator("[data-tile=remote-camera]").bounding_box()
    assert screen_box and camera_box
    assert screen_box["width"] > 2.5 * camera_box["width"], (screen_box, camera_box)
    await customer.shot("call-customer-sharing")
    await agent.shot("call-agent-sees-screen")

    # The agent draws an arrow, then points; the customer's page draws both over its own
    # screen preview.
    await agent_call.locator("[data-call-tool=arrow]").click()
    await expect(agent_call.locator("[data-call-tool=arrow]")).to_have_attribute(
        "aria-pressed", "true"
    )
    overlay = remote_screen.locator("canvas.la-call__overlay")
    seen = cpage.locator("[data-tile=local-screen] canvas.la-call__overlay")
    await expect(cpage.locator("[data-tile=local-screen]")).to_be_visible()
    # Each mark is checked as soon as it is drawn: marks fade after 4 s (ttl_ms).
    await drag(apage, overlay, (0.3, 0.3), (0.6, 0.55))
    await expect(seen).to_have_attribute("data-kinds", re.compile(r"\barrow\b"))
    assert await wait_painted(seen) > 50, "the arrow is painted"
    await agent_call.locator("[data-call-tool=freehand]").click()
    await drag(apage, overlay, (0.2, 0.7), (0.45, 0.8))
    await expect(seen).to_have_attribute("data-kinds", re.compile(r"\bfreehand\b"))
    await agent_call.locator("[data-call-tool=pointer]").click()
    box = await overlay.bounding_box()
    assert box is not None
    for step in range(12):
        await apage.mouse.move(
            box["x"] + box["width"] * (0.4 + step / 60), box["y"] + box["height"] * 0.5
        )
        await apage.wait_for_timeout(40)
    await expect(seen).to_have_attribute("data-kinds", re.compile(r"\bpointer\b"))
    assert await wait_painted(seen) > 50, "the pointer is painted"
    total = int(await seen.get_attribute("data-total") or 0)
    assert 3 <= total <= 14, f"{total} annotations received (2 shapes + throttled pointer moves)"
    await customer.shot("call-customer-annotated")
    # Customers only see marks: no drawing tools in the widget.
    await expect(widget_call.locator("[data-call-tool]")).to_have_count(0)

    # Mute and camera toggles: aria-pressed flips, and the other side hears of it (call.media).
    mute = cpage.locator("[data-call-action=mute]")
    await mute.click()
    await expect(mute).to_have_attribute("aria-pressed", "true")
    await expect(agent_call).to_have_attribute("data-their-audio", "false")
    await mute.click()
    await expect(mute).to_have_attribute("aria-pressed", "false")
    await expect(agent_call).to_have_attribute("data-their-audio", "true")
    camera = agent_call.locator("[data-call-action=camera]")
    await expect(camera).to_have_attribute("aria-pressed", "true")
    await camera.click()
    await expect(camera).to_have_attribute("aria-pressed", "false")
    await expect(widget_call.locator("[data-tile=remote-camera]")).to_be_hidden()
    await expect(widget_call).to_have_attribute("data-their-camera", "false")

    # Both sides report stats every 5 s and show the quality the server graded (MOS).
    for call in (widget_call, agent_call):
        badge = call.locator(".la-call__quality")
        await expect(badge).to_have_attribute("data-level", re.compile("^(good|fair|poor)$"))
        await expect(badge).to_contain_text("MOS")
    # Beside the browsers' own figures, the relay's measure of the other side's link
    # (call.link: round trip and loss each way, from the relay's RTCP with Chromium).
    await expect(agent_call.locator(".la-call__quality")).to_have_attribute(
        "title", re.compile(r"Relay measures theirs: \w+, \d+ ms, [\d.]+% lost sending")
    )
    marks["quality shown"] = time.monotonic() - began

    # The agent hangs up: it ends for both, and the call's record says so.
    await agent_call.locator("[data-call-action=hangup]").click()
    await expect(card.locator(".la-call")).to_have_count(0)
    await expect(cpage.locator(".la-call")).to_have_count(0)
    await expect(cpage.locator(".la-msg--event", has_text="Video call ended")).to_have_count(1)
    await expect(card.locator(".la-msg--event", has_text="Video call ended")).to_have_count(1)
    marks["hung up"] = time.monotonic() - began
    got = await staff_get(apage, f"/api/calls/{call_id}")
    assert got["status"] == 200, got
    record = got["body"]
    assert record["state"] == "ended" and record["end_reason"] == "hung_up"
    assert record["ended_by"] == "agent"
    assert record["media_used"] == {"audio": True, "camera": True, "screen": True}
    kinds = [event["kind"] for event in record["events"]]
    annotations = [e["detail"] for e in record["events"] if e["kind"] == "annotation"]
    assert {a["kind"] for a in annotations} >= {"arrow", "freehand", "pointer"}, kinds
    arrow = next(a for a in annotations if a["kind"] == "arrow")
    assert arrow["surface"] == "customer_screen"
    assert record["quality_samples"], "call.stats samples are stored"
    (x0, y0), (x1, y1) = arrow["points"]
    assert x0 < x1 and y0 < y1 and all(0 <= v <= 1 for v in (x0, y0, x1, y1))
    # Stopped devices: no camera or screen left capturing on either page.
    for page in (cpage, apage):
        live = await page.evaluate(
            "window.__testPeerConnections.filter(pc => pc.connectionState !== 'closed').length"
        )
        assert live == 0
    print("\ntimings (s since start): " + ", ".join(f"{k} {v:.1f}" for k, v in marks.items()))
    customer.assert_no_script_errors()
    agent.assert_no_script_errors()


async def test_agent_calls_customer_declines_then_reload_rejoins(
    server: Server, browser: Browser
) -> None:
    customer, agent, card = await chat_with_agent(server, browser, "Dana")
    cpage, apage = customer.page, agent.page
    agent_call = card.locator(".la-call")
    widget_call = cpage.locator(".la-call")

    # An audio call from the agent, declined by the customer from the keyboard.
    await card.locator("[data-call-start=audio]").click()
    await expect(agent_call).to_have_attribute("data-call-state", "ringing")
    await expect(cpage.locator("[data-call-action=accept]")).not_to_be_focused()
    await cpage.locator("[data-call-action=accept]").focus()
    await cpage.keyboard.press("Tab")
    await expect(cpage.locator("[data-call-action=decline]")).to_be_focused()
    await cpage.keyboard.press("Enter")
    await expect(agent_call).to_have_count(0)
    await expect(widget_call).to_have_count(0)
    await expect(card.locator(".la-msg--event", has_text="Audio call declined")).to_have_count(1)
    await expect(card.locator(".la-call-log__item")).to_have_attribute(
        "data-end-reason", "declined"
    )

    # A video call from the agent, accepted; then the customer's page reloads mid-call.
    await card.locator("[data-call-start=video]").click()
    await cpage.locator("[data-call-action=accept]").click()
    await expect(agent_call).to_have_attribute("data-link", "connected")
    await expect(widget_call).to_have_attribute("data-link", "connected")
    await wait_frames(apage, CAMERA)
    cutter = SocketCutter()
    await cutter.attach(cpage)  # from the reload on, the customer's socket can be cut
    await cpage.reload()
    await expect(agent_call.locator(".la-call__notice--them")).to_contain_text(
        re.compile("Dana is reconnecting|Waiting for Dana")
    )
    await expect(cpage.locator(".la-call")).to_have_attribute("data-link", "connected")
    await expect(agent_call.locator(".la-call__notice--them")).to_be_hidden()
    await wait_frames(cpage, CAMERA)
    # the agent's receiver is fresh from the relay's point of view: frames keep coming
    before = await frames_decoded(apage, CAMERA)
    await wait_frames(apage, CAMERA, more_than=before)

    # The customer's signaling socket drops (media keeps flowing meanwhile): the agent sees
    # them reconnecting; when the socket is back the page joins again with a fresh connection.
    peer_connections = "window.__testPeerConnections.length"
    made = await cpage.evaluate(peer_connections)
    await cutter.cut()
    await expect(agent_call.locator(".la-call__notice--them")).to_contain_text(
        "Dana is reconnecting"
    )
    await cutter.restore(cpage)
    await cpage.wait_for_function(f"() => {peer_connections} === {made + 1}")  # a fresh one
    await expect(agent_call.locator(".la-call__notice--them")).to_be_hidden()
    await expect(widget_call).to_have_attribute("data-link", "connected")
    await wait_frames(cpage, CAMERA)
    before = await frames_decoded(apage, CAMERA)
    await wait_frames(apage, CAMERA, more_than=before)

    # The agent shares their own screen (a canvas here) and draws a circle on their preview
    # of it; the customer sees the screen and the circle.
    await apage.evaluate(CANVAS_SCREEN_SOURCE)
    await agent_call.locator("[data-call-action=screen]").click()
    own = agent_call.locator("[data-tile=local-screen]")
    await expect(own).to_be_visible()
    await expect(own).to_have_attribute("data-main", "true")
    theirs = widget_call.locator("[data-tile=remote-screen]")
    await expect(theirs).to_be_visible()
    await wait_frames(cpage, SCREEN)
    await agent_call.locator("[data-call-tool=circle]").click()
    await drag(apage, own.locator("canvas"), (0.5, 0.5), (0.6, 0.5))
    await expect(theirs.locator("canvas")).to_have_attribute(
        "data-kinds", re.compile(r"\bcircle\b")
    )
    assert await wait_painted(theirs.locator("canvas")) > 50
    await customer.shot("call-customer-sees-agent-screen")
    await agent_call.locator("[data-call-tool=clear]").click()
    await expect(theirs.locator("canvas")).to_have_attribute("data-count", "0")
    # Sharing ends from outside the page (the browser's own "Stop sharing" ends the track).
    await apage.evaluate(
        "() => { const t = window.__testScreenTrack; t.stop();"
        " t.dispatchEvent(new Event('ended')); }"
    )
    await expect(agent_call.locator("[data-call-action=screen]")).to_have_attribute(
        "aria-pressed", "false"
    )
    await expect(own).to_be_hidden()
    await expect(theirs).to_be_hidden()

    # The customer hangs up this time.
    await cpage.locator("[data-call-action=hangup]").click()
    await expect(agent_call).to_have_count(0)
    await expect(cpage.locator(".la-msg--event", has_text="Video call ended")).to_have_count(1)
    ARTIFACTS.mkdir(exist_ok=True)
    customer.assert_no_script_errors()
    agent.assert_no_script_errors()


async def test_poor_quality_steps_down_to_audio_then_chat_and_chinese_labels(
    server: Server, browser: Browser
) -> None:
    customer, agent, card = await chat_with_agent(server, browser, "Erin")
    cpage, apage = customer.page, agent.page
    agent_call = card.locator(".la-call")
    widget_call = cpage.locator(".la-call")
    await cpage.locator("[data-call-start=video]").click()
    await card.locator("[data-call-action=accept]").click()
    await expect(agent_call).to_have_attribute("data-link", "connected")
    await expect(widget_call).to_have_attribute("data-link", "connected")
    await expect(widget_call).to_have_attribute("data-their-camera", "true")
    call_id = int(await agent_call.get_attribute("data-call-id") or 0)
    chat_id = int(await card.get_attribute("data-chat-id") or 0)

    # The server suggests a step down (as after calls.poor_samples poor samples in a row): the
    # agent is offered screen only / audio / chat; the customer is not asked.
    suggestion = {"call_id": call_id, "to": "screen_only", "applied": False, "reason": "poor"}
    await server.runtime.notifier.to_chat_staff(chat_id, "call.downgrade", suggestion)
    prompt = agent_call.locator(".la-call__downgrade")
    await expect(prompt).to_be_visible()
    await expect(prompt.locator("[data-downgrade]")).to_have_count(3)
    await expect(widget_call.locator(".la-call__downgrade")).to_be_hidden()
    await prompt.locator("[data-downgrade=audio]").click()
    # Applied on both sides: cameras off, each side hears of the other's (call.media).
    for call in (agent_call, widget_call):
        await expect(call.locator("[data-call-action=camera]")).to_have_attribute(
            "aria-pressed", "false"
        )
        await expect(call).to_have_attribute("data-their-camera", "false")
        await expect(call.locator("[data-tile=remote-camera]")).to_be_hidden()
        await expect(call.locator(".la-call__notice--info")).to_contain_text("audio only")

    # The interface language switches mid-call, call labels included.
    await cpage.locator(".la-panel__lang").click()
    await expect(widget_call.locator(".la-call__title")).to_have_text("与 Alex Agent 视频通话")
    await expect(widget_call.locator("[data-call-action=hangup]")).to_have_attribute(
        "aria-label", "挂断"
    )
    await cpage.locator(".la-panel__lang").click()

    # Next step: back to chat. The call ends with poor_quality; the chat goes on.
    await server.runtime.notifier.to_chat_staff(
        chat_id, "call.downgrade", {**suggestion, "to": "chat"}
    )
    await prompt.locator("[data-downgrade=chat]").click()
    await expect(agent_call).to_have_count(0)
    await expect(widget_call).to_have_count(0)
    await expect(
        cpage.locator(".la-msg--event", has_text="Back to chat (poor connection)")
    ).to_have_count(1)
    got = await staff_get(apage, f"/api/calls/{call_id}")
    assert got["body"]["end_reason"] == "poor_quality", got
    await customer_says(customer, "Chat is fine, thanks")
    await expect(card.locator(".la-msg__text", has_text="Chat is fine, thanks")).to_have_count(1)
    customer.assert_no_script_errors()
    agent.assert_no_script_errors()


async def test_a_client_preferring_h264_sends_h264_and_receives_vp8(
    server: Server, browser: Browser
) -> None:
    customer, agent, card = await chat_with_agent(
        server, browser, "Hiro", customer_init=PREFER_H264
    )
    await customer.page.locator("[data-call-start=video]").click()
    await card.locator("[data-call-action=accept]").click()
    await wait_frames(agent.page, CAMERA)
    await wait_frames(customer.page, CAMERA)
    # The relay forwards each direction in the codec its sender chose, without transcoding:
    # H.264 from the customer (offered first), VP8 from the agent's console (its first).
    assert await customer.page.evaluate(CODECS_IN_USE, CAMERA) == {
        "sent": "video/H264",
        "received": "video/VP8",
    }
    assert await agent.page.evaluate(CODECS_IN_USE, CAMERA) == {
        "sent": "video/VP8",
        "received": "video/H264",
    }
    frames = await frames_decoded(agent.page, CAMERA)
    await wait_frames(agent.page, CAMERA, more_than=frames + 10)
    seen_by_agent = await frames_decoded(agent.page, CAMERA)
    # The customer's camera stops reaching the relay while its flags still say "on" (a
    # frozen device or a broken uplink): the console says so instead of a frozen picture.
    await customer.page.evaluate(
        "() => window.__testPeerConnections.at(-1).getTransceivers()[1].sender.replaceTrack(null)"
    )
    call = card.locator(".la-call")
    await expect(call).to_have_attribute("data-their-stalled", "camera", timeout=12_000)
    badge = call.locator(".la-call__quality")
    await expect(badge).to_be_visible()
    await expect(badge).to_have_attribute("data-level", "poor")
    await expect(badge).to_have_text("Their video stopped arriving")
    await customer.page.locator("[data-call-action=hangup]").click()
    await expect(card.locator(".la-call")).to_have_count(0)
    customer.assert_no_script_errors()
    agent.assert_no_script_errors()

    # Recorded (the default policy) as sent, without transcoding: the customer's H.264
    # camera into MP4, the console's VP8 into WebM, both voices in Opus; each decodes.
    qa = Staff(server.url)
    await qa.sign_in("qa@demo.local", server.passwords["qa@demo.local"])
    try:
        (listed,) = (await qa.rest("GET", "/api/recordings"))["items"]
        recording = await ready_recording(qa, listed["call_id"], listed["ticket_id"])
    finally:
        await qa.close()
    files = {(f["participant"], f["role"]): f for f in recording["files"]}
    assert files[("customer", "camera")]["mime"] == "video/mp4"
    assert files[("agent", "camera")]["mime"] == "video/webm"
    assert files[("customer", "audio")]["mime"] == files[("agent", "audio")]["mime"] == "audio/webm"
    folder = server.runtime.recorder_root / "org1" / f"call{listed['call_id']}" / "files" / "tracks"
    codecs = {path.name: decoded(path) for path in folder.iterdir()}
    assert codecs["customer.camera.mp4"][0] == "h264" and codecs["agent.camera.webm"][0] == "vp8"
    assert codecs["customer.audio.webm"][0] == codecs["agent.audio.webm"][0] == "opus"
    # Everything the agent saw of the customer's camera (it stops soon after, see above) is
    # in the recording; the voices ran the whole call.
    assert codecs["customer.camera.mp4"][1] >= seen_by_agent - 2, (codecs, seen_by_agent)
    assert codecs["agent.camera.webm"][1] >= 10, codecs
    assert min(codecs["customer.audio.webm"][1], codecs["agent.audio.webm"][1]) >= 100, codecs


def decoded(path: Path) -> tuple[str, int]:
    """The codec of a recorded file's one stream, and how many frames of it decode."""
    with av.open(str(path)) as container:
        stream = container.streams[0]
        return stream.codec_context.name, sum(1 for _ in container.decode(stream))


async def test_unanswered_call_is_missed(browser: Browser, tmp_path: Path) -> None:
    # Long enough that a loaded machine still shows the ringing card before it is missed.
    server, runner = await start_server(tmp_path / "data", calls={"ring_seconds": 3})
    try:
        customer, agent, card = await chat_with_agent(server, browser, "Finn")
        await customer.page.locator("[data-call-start=audio]").click()
        await expect(card.locator("[data-call-action=accept]")).to_be_visible()
        await expect(card.locator(".la-call")).to_have_count(0)
        await expect(customer.page.locator(".la-call")).to_have_count(0)
        await expect(card.locator(".la-msg--event", has_text="Missed audio call")).to_have_count(1)
        await expect(customer.page.locator(".la-call-log__item")).to_have_attribute(
            "data-end-reason", "missed"
        )
        await expect(customer.page.locator(".la-call-log__item")).to_contain_text("No answer")
        await expect(agent.page.locator(".toast", has_text="Missed audio call")).to_be_visible()
        customer.assert_no_script_errors()
        agent.assert_no_script_errors()
    finally:
        for context in browser.contexts:  # pages first, so no socket holds the server open
            await context.close()
        await runner.cleanup()


async def test_pages_follow_their_call_to_another_relay_worker(
    browser: Browser, tmp_path: Path
) -> None:
    """kill -9 of the relay worker hosting a call: both pages are told (a new relay_session),
    each makes a fresh peer connection to the call's new room, and decodes the other's
    camera again within 5 s."""
    server, runner = await start_server(tmp_path / "data", relay={"workers": 2, "preload": True})
    try:
        customer, agent, card = await chat_with_agent(server, browser, "Mona")
        await customer.page.locator("[data-call-start=video]").click()
        await card.locator("[data-call-action=accept]").click()
        await wait_frames(agent.page, CAMERA)
        await wait_frames(customer.page, CAMERA)
        pool = server.runtime.relay.pool
        assert pool is not None
        live = next(iter(server.runtime.calls.live.values()))
        doomed = next(w for w in pool.workers if w.worker_id == live.relay_worker)
        assert doomed.pid is not None
        killed_at = time.monotonic()
        os.kill(doomed.pid, signal.SIGKILL)
        for page in (customer.page, agent.page):
            await page.wait_for_function(
                "() => window.__testPeerConnections.length === 2", timeout=10_000
            )
        await wait_frames(agent.page, CAMERA, timeout=10)
        await wait_frames(customer.page, CAMERA, timeout=10)
        took = time.monotonic() - killed_at
        assert took < 5.0, f"camera decoded again {took:.1f} s after the kill"
        await expect(customer.page.locator(".la-call")).to_have_attribute("data-link", "connected")
        await expect(card.locator(".la-call")).to_have_attribute("data-link", "connected")
        customer.assert_no_script_errors()
        agent.assert_no_script_errors()
    finally:
        for context in browser.contexts:
            await context.close()
        await runner.cleanup()
