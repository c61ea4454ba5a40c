"""Converted recordings play in Chromium's <video> and <audio>: VP8 in WebM, H.264 in MP4,
Opus in WebM, served with HTTP Range like the review page will, each playing from start to
end at its recorded length (never faster: gaps stay gaps)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import async_playwright

from loadtest.recorded_call import AGENT, CUSTOMER, recorded_call, sleep_for
from media.recording.convert import OutputFile, convert
from tests.conftest import free_port

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"]
PLAY = """async ([tag, src]) => {
  const media = document.createElement(tag);
  media.muted = true;
  media.src = src;
  document.body.append(media);
  await new Promise((ok, fail) => {
    media.onloadedmetadata = ok;
    media.onerror = () => fail(new Error(`${src}: error ${media.error && media.error.code}`));
  });
  const started = performance.now();
  media.playbackRate = 4;
  await media.play();
  await new Promise((ok) => { media.onended = ok; });
  const quality = tag === "video" ? media.getVideoPlaybackQuality() : null;
  return {
    duration: media.duration,
    played: (performance.now() - started) / 1000,
    width: tag === "video" ? media.videoWidth : 0,
    frames: quality ? quality.totalVideoFrames : 0,
  };
}"""


async def test_chromium_plays_every_converted_file_at_its_length(tmp_path: Path) -> None:
    directory = tmp_path / "recording"
    # The customer sends H.264 (MP4), the agent VP8 (WebM): each side its own first choice.
    await recorded_call(
        directory, sleep_for(3.0), video_codecs=("H264", "VP8"), agent_codecs=("VP8", "H264")
    )
    outputs = convert(directory, tmp_path / "out")
    kinds = {(o.participant, o.role): o.mime for o in outputs}
    assert kinds[(CUSTOMER, "camera")] == "video/mp4"
    assert kinds[(AGENT, "camera")] == "video/webm"
    assert kinds[(AGENT, "audio")] == "audio/webm"
    app = web.Application()
    app.router.add_static("/files/", tmp_path / "out")  # answers Range requests
    app.router.add_get("/", _blank_page)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with async_playwright() as playwright:
            chromium = await playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=ARGS
            )
            try:
                page = await chromium.new_page()
                await page.goto(f"http://127.0.0.1:{port}/")
                for output in outputs:
                    await _plays(page, output)
            finally:
                await chromium.close()
    finally:
        await runner.cleanup()


async def _blank_page(_request: web.Request) -> web.Response:
    return web.Response(text="<!doctype html><body></body>", content_type="text/html")


async def _plays(page: object, output: OutputFile) -> None:
    tag = "audio" if output.role == "audio" else "video"
    result = await asyncio.wait_for(
        page.evaluate(PLAY, [tag, f"/files/{output.path.name}"]),  # type: ignore[attr-defined]
        30,
    )
    seconds = output.duration_ms / 1000
    assert abs(result["duration"] - seconds) <= 0.15, (output, result)
    # Played at 4x: never much faster than its length (a player that skipped gaps would be).
    assert result["played"] >= seconds / 4 * 0.8, (output, result)
    if tag == "video":
        assert result["width"] > 0 and result["frames"] > 0, (output, result)
