"""Headless Chromium as benchmarks.bad_network's publisher and subscriber (`--clients chromium`).

Each side is one Chromium (Debian's /usr/bin/chromium, driven through Playwright) launched
from a loadtest.rpc Child that has entered its network namespace first
(bad_network_viewer.in_netns), so every socket Chromium opens lives there. One page per
stream runs benchmarks/bad_network_page.js:

- publisher: a 640x480 canvas at 30 fps (moving shapes and a moving patch of noise) stamped
  with its frame number in a strip of black and white blocks, sent as VP8 (preferred with
  setCodecPreferences) by Chromium's own encoder, which adapts its bitrate to the
  congestion control's estimate, plus a 440 Hz WebAudio tone as Opus. Every drawn frame's
  (number, time) is the reference.
- subscriber: plays the stream in a <video> and, for every presented frame
  (requestVideoFrameCallback), reads the stamp back: (number, presentation time). Its
  inbound-rtp getStats() is sampled every 250 ms, so the report takes deltas over the
  measured window (loss, bytes, audio concealment, freezes, NACKs, PLIs).

Latency is the subscriber's presentation time minus the publisher's draw time, so it holds
capture, encode, network, jitter buffer, decode and rendering: more than the aiortc run's
"handed to the sender → left the decoder". Page times (performance.timeOrigin +
performance.now(), wall-clock ms) become time.monotonic() seconds here, with the offset
between the two clocks taken at conversion (same machine, same clocks).

ICE: no STUN; host candidates only, not hidden behind mDNS names
(--disable-features=WebRtcHideLocalIpsWithMdns), and each SDP is returned once gathering is
complete. The ops are those benchmarks.call_paths' paths call on the aiortc clients.

Cleanup: a child closes its Chromium when asked to shut down or when the orchestrator's
pipe closes (even after a kill -9 of the orchestrator); Playwright ends it on Ctrl-C; and
netns.cleanup() ends whatever still runs in the namespaces.
"""

from __future__ import annotations

import asyncio
import logging
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, async_playwright

from loadtest.rpc import serve

CHROMIUM = "/usr/bin/chromium"
PAGE_SCRIPT = Path(__file__).with_name("bad_network_page.js")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]
Drawn = tuple[int, float, float]
"""(frame number, draw time, draw time): call_publisher's (number, due, handed over)."""
RECEIVING_FRAMES = 30
"""receiving(): one of the last this many presented frames carried a readable stamp."""


def to_monotonic(times_ms: list[float]) -> list[float]:
    """Wall-clock ms from a page → this machine's time.monotonic() seconds."""
    offset = time.monotonic() - time.time()
    return [t / 1000 + offset for t in times_ms]


def _stats(snapshots: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """getStats() samples with their time in monotonic seconds."""
    times = to_monotonic([s["t"] for s in snapshots])
    return [{**s, "t": t} for s, t in zip(snapshots, times, strict=True)]


class _Pages:
    """One Chromium; one page per stream, each made a publisher or subscriber by `side`."""

    side = ""

    def __init__(self, browser: Browser) -> None:
        self._browser = browser
        self.pages: dict[int, Page] = {}
        self.errors: dict[int, list[str]] = {}

    async def open(self, stream: int) -> Page:
        if stream in self.pages:
            raise ValueError(f"stream {stream} is already open")
        page = self.pages[stream] = await self._browser.new_page()
        errors = self.errors[stream] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.set_content("<!doctype html><html><body></body></html>")
        await page.add_script_tag(path=str(PAGE_SCRIPT))
        await page.evaluate(f"window.side = new bench.{self.side}()")
        return page

    async def run(self, stream: int, script: str, arg: Any = None) -> Any:
        """`script` (a function of the page's side object and `arg`) on the stream's page."""
        page = self.pages[stream]
        try:
            return await page.evaluate(f"([arg]) => ({script})(window.side, arg)", [arg])
        except Exception as error:
            errors = "; ".join(self.errors.get(stream, []))
            detail = f" (page errors: {errors})" if errors else ""
            raise RuntimeError(f"{error}{detail}") from None

    async def op_close_all(self) -> None:
        pages, self.pages = self.pages, {}
        self.errors.clear()
        await asyncio.gather(*(page.close() for page in pages.values()), return_exceptions=True)

    async def close(self) -> None:
        await self.op_close_all()


class Publishers(_Pages):
    """Chromium publishers by stream number; the ops call_publisher.Publishers has."""

    side = "Publisher"

    def __init__(self, browser: Browser) -> None:
        super().__init__(browser)
        self._drawn: dict[int, list[Drawn]] = {}
        self._stats: dict[int, list[dict[str, Any]]] = {}

    async def op_offer(self, stream: int) -> str:
        await self.open(stream)
        self._drawn[stream], self._stats[stream] = [], []
        return str(await self.run(stream, "(side) => side.offer()"))

    async def op_answer(self, stream: int, sdp: str) -> None:
        await self.run(stream, "(side, sdp) => side.answer(sdp)", sdp)

    async def _pull(self, stream: int) -> None:
        taken = await self.run(stream, "(side) => side.take()")
        numbers = [int(n) for n, _ in taken["drawn"]]
        times = to_monotonic([float(t) for _, t in taken["drawn"]])
        self._drawn[stream] += [(n, t, t) for n, t in zip(numbers, times, strict=True)]
        self._stats[stream] += _stats(taken["stats"])

    async def op_collect(self, start: float, end: float) -> dict[int, list[Drawn]]:
        """Frames drawn (number, time, time) in [start, end]; older records are dropped."""
        window: dict[int, list[Drawn]] = {}
        for stream in list(self.pages):
            await self._pull(stream)
            drawn = self._drawn[stream]
            window[stream] = [d for d in drawn if start <= d[2] <= end]
            drawn[:] = [d for d in drawn if d[2] > end]
        return window

    async def op_sender_stats(self, stream: int, start: float, end: float) -> list[dict[str, Any]]:
        """The publisher's outbound-rtp samples in [start, end]; older ones are dropped."""
        await self._pull(stream)
        stats = self._stats[stream]
        window = [s for s in stats if start <= s["t"] <= end]
        stats[:] = [s for s in stats if s["t"] > end]
        return window

    async def op_close_all(self) -> None:
        await super().op_close_all()
        self._drawn.clear()
        self._stats.clear()


class Viewers(_Pages):
    """Chromium subscribers by stream number; the ops bad_network_viewer.Viewers has."""

    side = "Subscriber"

    def __init__(self, browser: Browser) -> None:
        super().__init__(browser)
        self._presented: dict[int, list[tuple[int, float]]] = {}
        self._stats: dict[int, list[dict[str, Any]]] = {}
        self._remote: dict[int, str] = {}

    async def _new(self, stream: int) -> None:
        await self.open(stream)
        self._presented[stream], self._stats[stream] = [], []

    async def op_offer(self, stream: int, decode: bool = False) -> str:
        await self._new(stream)
        return str(await self.run(stream, "(side) => side.offer()"))

    async def op_answer(self, stream: int, sdp: str) -> None:
        await self.run(stream, "(side, sdp) => side.answer(sdp)", sdp)

    async def op_accept(self, stream: int, sdp: str, decode: bool = False) -> str:
        await self._new(stream)
        return str(await self.run(stream, "(side, sdp) => side.accept(sdp)", sdp))

    async def _pull(self, stream: int) -> None:
        taken = await self.run(stream, "(side) => side.take()")
        numbers = [int(n) for n, _ in taken["presented"]]
        times = to_monotonic([float(t) for _, t in taken["presented"]])
        self._presented[stream] += list(zip(numbers, times, strict=True))
        self._stats[stream] += _stats(taken["stats"])
        self._remote[stream] = str(taken["remote"])

    async def op_receiving(self) -> list[int]:
        streams = []
        for stream in list(self.pages):
            await self._pull(stream)
            if any(n >= 0 for n, _ in self._presented[stream][-RECEIVING_FRAMES:]):
                streams.append(stream)
        return streams

    async def op_collect(self, stream: int) -> dict[str, Any]:
        """Presented frames and getStats() samples since the last collect (then forgotten),
        and the remote candidates."""
        await self._pull(stream)
        presented, self._presented[stream] = self._presented[stream], []
        stats, self._stats[stream] = self._stats[stream], []
        candidates = {
            " ".join(line.split()[4:6])
            for line in self._remote[stream].splitlines()
            if "candidate:" in line
        }
        return {"decoded": presented, "stats": stats, "remote_candidates": sorted(candidates)}

    async def op_close_all(self) -> None:
        await super().op_close_all()
        self._presented.clear()
        self._stats.clear()
        self._remote.clear()


async def _serve(conn: Connection, side: type[Publishers] | type[Viewers]) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=ARGS
        )
        try:
            await serve(conn, side(browser))
        finally:
            await browser.close()


def publisher_main(conn: Connection) -> None:
    """Process entry point (multiprocessing spawn target, after in_netns)."""
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(_serve(conn, Publishers))


def viewers_main(conn: Connection) -> None:
    """Process entry point (multiprocessing spawn target, after in_netns)."""
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(_serve(conn, Viewers))
