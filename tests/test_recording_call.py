"""Recorded calls end to end: real aiortc peers through a real relay worker process, the
relay's raw track files converted (no decoding) and checked by decoding them with PyAV.

One recorded VP8 call with screen share both ways serves the file, sync, composite and
leak checks (it is the slow part: ~15 s); H.264 and pause/resume have their own calls.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import av
import numpy as np
import pytest

from loadtest.recorded_call import (
    AGENT,
    BURST_PERIOD,
    CAMERA,
    CUSTOMER,
    ROOM,
    SCREEN,
    TONES,
    RecordedCall,
    Sender,
    recorded_call,
    sleep_for,
    started_ms,
)
from loadtest.relay_peer import RelayPeer
from media.recording.composite import composite, default_layout
from media.recording.convert import OutputFile, TrackReport, convert, paused_spans
from media.recording.decoded import audio_samples, video_frames
from media.recording.sync import burst_offsets, frame_offsets
from media.stamps import read_stamp
from media.tone import dominant_frequency, tone_level_dbfs
from relay.control.pool import RelayPool

SKEW_LIMIT_MS = 100


def stamps(output: OutputFile, base_ms: float) -> list[tuple[int, float]]:
    return frame_offsets(output, base_ms)


def audio_offsets(output: OutputFile, base_ms: float, sender: Sender) -> list[float]:
    assert sender.tone is not None and sender.tone.started_at is not None
    return burst_offsets(output, base_ms, sender.tone.started_at, BURST_PERIOD)


@pytest.fixture(scope="module")
def vp8_call(tmp_path_factory: pytest.TempPathFactory) -> tuple[RecordedCall, list[OutputFile]]:
    directory = tmp_path_factory.mktemp("vp8") / "recording"
    call = asyncio.run(recorded_call(directory, sleep_for(6.0)))
    reports: list[TrackReport] = []
    started = time.monotonic()
    outputs = convert(directory, directory.parent / "out", reports=reports)
    print(f"convert: {time.monotonic() - started:.2f} s for", [r.packets for r in reports])
    return call, outputs


def by_role(outputs: list[OutputFile]) -> dict[tuple[str, str], OutputFile]:
    return {(o.participant, o.role): o for o in outputs}


def test_the_recorded_call_gives_one_playable_file_per_participant_and_role(
    vp8_call: tuple[RecordedCall, list[OutputFile]],
) -> None:
    call, outputs = vp8_call
    assert call.summary is not None and call.summary.outcome == "complete", call.summary
    assert call.summary.tracks == 6 and call.summary.dropped_bytes == 0
    assert [e.state for e in call.events] == ["recording", "stopped"]
    files = by_role(outputs)
    assert sorted(files) == sorted(
        (p, r) for p in ("customer", "agent") for r in ("audio", "camera", "screen")
    )
    base = started_ms(call.directory)
    for participant in (CUSTOMER, AGENT):
        sender = call.senders[participant]
        for role, fps in (("camera", CAMERA.fps), ("screen", SCREEN.fps)):
            output = files[(participant, role)]
            assert output.mime == "video/webm" and output.path.stat().st_size == output.bytes
            found = stamps(output, base)
            numbers = [n for n, _offset in found]
            assert numbers == sorted(set(numbers)), f"{participant} {role}: out of order or twice"
            # Nothing lost after the first keyframe on loopback: at most a frame or two.
            assert numbers[-1] - numbers[0] + 1 - len(numbers) <= 2, numbers
            track = sender.camera if role == "camera" else sender.screen
            assert track is not None and track.started_at is not None
            first_capture = track.started_at * 1000 + numbers[0] * 1000 / fps
            expected = call.sent_until[(participant, role)] * 1000 - first_capture
            assert abs(output.duration_ms - expected) <= 500, (participant, role, output, expected)
        audio = files[(participant, "audio")]
        assert audio.mime == "audio/webm"
        samples, _first = audio_samples(audio.path)
        assert sender.tone is not None and sender.tone.started_at is not None
        expected = (call.sent_until[(participant, "audio")] - sender.tone.started_at) * 1000
        assert abs(samples.shape[1] / 48 - expected) <= 500, (participant, audio, expected)
        assert abs(audio.duration_ms - expected) <= 500
        burst = samples[0, : 48_000 * 4]
        assert abs(dominant_frequency(burst, 48_000) - TONES[participant]) < 5
        other = TONES[AGENT if participant == CUSTOMER else CUSTOMER]
        assert (
            tone_level_dbfs(burst, 48_000, TONES[participant])
            > tone_level_dbfs(burst, 48_000, other) + 30
        )


def test_audio_camera_and_screen_of_the_recording_are_in_sync(
    vp8_call: tuple[RecordedCall, list[OutputFile]],
) -> None:
    """Skew against the wall clock: a frame's place in its file vs its stamp's capture
    time, a tone burst's place vs when it was sent; audio-video and screen-camera of each
    participant, and the two participants' cameras, within 100 ms."""
    call, outputs = vp8_call
    files = by_role(outputs)
    base = started_ms(call.directory)
    measured: dict[tuple[str, str], float] = {}
    for participant in (CUSTOMER, AGENT):
        for role in ("camera", "screen"):
            offsets = [o for _n, o in stamps(files[(participant, role)], base)]
            measured[(participant, role)] = statistics.median(offsets)
        offsets = audio_offsets(files[(participant, "audio")], base, call.senders[participant])
        assert len(offsets) >= 4, offsets
        measured[(participant, "audio")] = statistics.median(offsets)
    print("offsets from capture, ms:", {f"{p}.{r}": round(v, 1) for (p, r), v in measured.items()})
    for participant in (CUSTOMER, AGENT):
        camera = measured[(participant, "camera")]
        assert abs(measured[(participant, "audio")] - camera) <= SKEW_LIMIT_MS, measured
        assert abs(measured[(participant, "screen")] - camera) <= SKEW_LIMIT_MS, measured
    assert abs(measured[(CUSTOMER, "camera")] - measured[(AGENT, "camera")]) <= SKEW_LIMIT_MS


def test_recording_leaves_no_thread_task_or_file_behind(
    vp8_call: tuple[RecordedCall, list[OutputFile]],
) -> None:
    call, _outputs = vp8_call
    before, after = call.before, call.after
    assert before is not None and after is not None
    assert after.recordings == 0 and after.rooms == 0 and after.peer_connections == 0
    assert after.threads <= before.threads, (before, after)
    assert after.tasks <= before.tasks, (before, after)
    assert after.open_files <= before.open_files, (before, after)


def test_the_composite_shows_the_screen_large_the_cameras_small_and_both_voices(
    vp8_call: tuple[RecordedCall, list[OutputFile]], tmp_path: Path
) -> None:
    call, outputs = vp8_call
    out = tmp_path / "composite.webm"
    result = composite(outputs, out)
    start = min(o.start_offset_ms for o in outputs)
    end = max(o.start_offset_ms + o.duration_ms for o in outputs)
    assert result.kind == "composite" and result.start_offset_ms == start
    assert abs(result.duration_ms - (end - start)) <= 50
    layout = default_layout()
    base = started_ms(call.directory) + start
    screen_offsets, camera_offsets = [], []
    frames = 0
    for seconds, frame in video_frames(out):
        frames += 1
        wall = base + seconds * 1000
        # The customer's screen fills the canvas: 640x360 scaled 2x, the stamp readable
        # at the canvas's own block size.
        stamp = read_stamp(frame)
        if stamp is not None:
            screen_offsets.append(wall - stamp.sent_at_ms)
        luma = frame.to_ndarray(format="gray")
        for index in (0, 1):
            box = layout.pip(index, CAMERA.width, CAMERA.height)
            crop = luma[box.y : box.y + box.height, box.x : box.x + box.width]
            pip_stamp = read_stamp(av.VideoFrame.from_ndarray(np.ascontiguousarray(crop), "gray"))
            if pip_stamp is not None:
                camera_offsets.append((index, wall - pip_stamp.sent_at_ms))
    assert frames >= (end - start) / 1000 * 14
    assert len(screen_offsets) >= frames * 0.7, (len(screen_offsets), frames)
    assert len([1 for i, _o in camera_offsets if i == 0]) >= frames * 0.7
    assert len([1 for i, _o in camera_offsets if i == 1]) >= frames * 0.7
    # Each picture is the one captured at that moment (screen at 5 fps: held ≤ 200 ms).
    assert abs(statistics.median(screen_offsets)) <= 250, statistics.median(screen_offsets)
    assert abs(statistics.median(o for _i, o in camera_offsets)) <= 150
    mix, _first = audio_samples(out, stream=0)
    apart, _first = audio_samples(out, channels=2, stream=1)
    for row, participant in enumerate((CUSTOMER, AGENT)):
        tone = TONES[participant]
        other = TONES[AGENT if participant == CUSTOMER else CUSTOMER]
        assert tone_level_dbfs(mix[0], 48_000, tone) > -35
        assert (
            tone_level_dbfs(apart[row], 48_000, tone)
            > tone_level_dbfs(apart[row], 48_000, other) + 20
        )


def test_an_h264_call_is_recorded_into_mp4_that_decodes_in_order(tmp_path: Path) -> None:
    directory = tmp_path / "recording"
    call = asyncio.run(recorded_call(directory, sleep_for(3.0), video_codecs=("H264",)))
    assert call.summary is not None and call.summary.outcome == "complete"
    outputs = by_role(convert(directory, tmp_path / "out"))
    base = started_ms(directory)
    for participant in (CUSTOMER, AGENT):
        offsets: dict[str, float] = {}
        for role, fps in (("camera", CAMERA.fps), ("screen", SCREEN.fps)):
            output = outputs[(participant, role)]
            assert output.mime == "video/mp4" and output.path.suffix == ".mp4"
            with av.open(str(output.path)) as container:
                assert container.streams.video[0].codec_context.name == "h264"
                assert (container.streams.video[0].width, container.streams.video[0].height) == (
                    (CAMERA.width, CAMERA.height)
                    if role == "camera"
                    else (SCREEN.width, SCREEN.height)
                )
            found = stamps(output, base)
            numbers = [n for n, _offset in found]
            assert numbers == sorted(set(numbers)) and len(numbers) >= 2 * fps, numbers
            offsets[role] = statistics.median(o for _n, o in found)
        audio = outputs[(participant, "audio")]
        assert audio.mime == "audio/webm"
        offsets["audio"] = statistics.median(audio_offsets(audio, base, call.senders[participant]))
        print(participant, "offsets from capture, ms:", offsets)
        assert abs(offsets["screen"] - offsets["camera"]) <= SKEW_LIMIT_MS, offsets
        assert abs(offsets["audio"] - offsets["camera"]) <= SKEW_LIMIT_MS, offsets


def test_a_paused_span_holds_no_media_and_keeps_its_length(tmp_path: Path) -> None:
    directory = tmp_path / "recording"
    produced_at_pause: dict[tuple[str, str], float] = {}

    async def pause_two_seconds(
        pool: RelayPool, _customer: RelayPeer, _agent: RelayPeer, call: RecordedCall
    ) -> None:
        await asyncio.sleep(2.0)
        call.marks["paused"] = time.time()
        for participant, sender in call.senders.items():
            for role, until in sender.sent_until().items():
                produced_at_pause[(participant, role)] = until
        await pool.pause_recording(ROOM)
        await asyncio.sleep(2.0)
        call.marks["resumed"] = time.time()
        await pool.resume_recording(ROOM)
        await asyncio.sleep(2.5)

    call = asyncio.run(recorded_call(directory, pause_two_seconds))
    assert [e.state for e in call.events] == ["recording", "paused", "recording", "stopped"]
    base = started_ms(directory)
    spans = paused_spans(directory)
    assert len(spans) == 1, spans
    paused_ms, resumed_ms = spans[0]
    assert abs(paused_ms - (call.marks["paused"] * 1000 - base)) <= 100
    assert abs((resumed_ms - paused_ms) - 2000) <= 150, spans
    outputs = by_role(convert(directory, tmp_path / "out"))
    for participant in (CUSTOMER, AGENT):
        for role in ("camera", "screen"):
            output = outputs[(participant, role)]
            times = [
                base + output.start_offset_ms + seconds * 1000
                for seconds, _frame in video_frames(output.path)
            ]
            inside = [t for t in times if paused_ms + 50 < t - base < resumed_ms - 50]
            assert not inside, f"{participant} {role}: frames inside the pause"
            gap = max(b - a for a, b in itertools.pairwise(times))
            # The gap is the pause (2 s), plus how far the sender lagged behind its frames'
            # slots when the pause came (what it had not sent by then arrived after the
            # pause and is rightly left out; ~0 on a quiet machine, seconds on a starved
            # one), plus at most the wait for the keyframe asked for at the resume, plus one
            # frame interval.
            lag = max(call.marks["paused"] - produced_at_pause[(participant, role)], 0.0) * 1000
            interval = 1000 / (CAMERA.fps if role == "camera" else SCREEN.fps)
            assert 2000 - 300 <= gap <= 2000 + lag + 300 + interval, (participant, role, gap, lag)
        audio = outputs[(participant, "audio")]
        samples, first = audio_samples(audio.path)
        origin = base + audio.start_offset_ms + first * 1000
        lo = round((paused_ms + 100 - (origin - base)) * 48)
        hi = round((resumed_ms - 100 - (origin - base)) * 48)
        assert hi - lo > 48 * 1500
        assert float(np.abs(samples[0, lo:hi]).max()) < 0.01, "sound inside the pause"
        # Audio before and after still lines up with its bursts (the gap kept its length);
        # a burst sent inside the pause is left out, its onset was not recorded.
        sender = call.senders[participant]
        assert sender.tone is not None and sender.tone.started_at is not None
        offsets = burst_offsets(
            audio,
            base,
            sender.tone.started_at,
            BURST_PERIOD,
            skip=[(base + paused_ms, base + resumed_ms)],
        )
        assert len(offsets) >= 4, offsets
        assert max(offsets) - min(offsets) <= SKEW_LIMIT_MS, offsets


def test_ffprobe_reads_every_file_with_its_duration(
    vp8_call: tuple[RecordedCall, list[OutputFile]], tmp_path: Path
) -> None:
    if shutil.which("ffprobe") is None:
        pytest.skip("ffprobe is not installed (Debian package ffmpeg; make test installs it)")
    _call, outputs = vp8_call
    for output in outputs:
        probe = subprocess.run(
            [
                "ffprobe",
                "-v",
                "error",
                "-show_entries",
                "format=duration:stream=codec_name",
                "-of",
                "json",
                str(output.path),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        report = json.loads(probe.stdout)
        codec = report["streams"][0]["codec_name"]
        assert codec == ("opus" if output.role == "audio" else "vp8"), report
        assert abs(float(report["format"]["duration"]) * 1000 - output.duration_ms) <= 100
