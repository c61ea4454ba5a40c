"""How far converted files are from when their media was captured: stamped frames
(media/stamps.py) and tone bursts (media/tone.py) against the wall clock.

Skew between two tracks is the difference of their offsets; tests and the recording
benchmark hold it to ≤ 100 ms (audio-video, screen-camera).
"""

from __future__ import annotations

from collections.abc import Sequence

from media.recording.convert import OutputFile
from media.recording.decoded import SAMPLE_RATE, audio_samples, video_frames
from media.stamps import read_stamp
from media.tone import burst_onsets


class MissingStamp(AssertionError):
    """A frame of a stamped source came out without a readable stamp."""


def frame_offsets(output: OutputFile, started_ms: float) -> list[tuple[int, float]]:
    """(frame number, wall ms where the file shows the frame - its stamp's capture ms)
    for every frame; `started_ms` is the recording's start (manifest, Unix ms)."""
    found = []
    for seconds, frame in video_frames(output.path):
        stamp = read_stamp(frame)
        if stamp is None:
            raise MissingStamp(f"{output.path.name}: the frame at {seconds:.3f} s has no stamp")
        wall = started_ms + output.start_offset_ms + seconds * 1000
        found.append((stamp.number, wall - stamp.sent_at_ms))
    return found


def burst_offsets(
    output: OutputFile,
    started_ms: float,
    tone_started_at: float,
    period: float,
    *,
    skip: Sequence[tuple[float, float]] = (),
) -> list[float]:
    """For each tone burst the file holds: wall ms where it is - when it was sent (burst k
    starts at `tone_started_at` + k x `period`, Unix s; matched to the nearest).

    A burst sent inside one of the `skip` spans (Unix ms; a paused recording) is left out:
    only its tail after the span was recorded, so its onset shows where the span ends."""
    samples, first = audio_samples(output.path)
    origin = tone_started_at * 1000
    offsets = []
    for onset in burst_onsets(samples[0], SAMPLE_RATE):
        wall = started_ms + output.start_offset_ms + (first + onset) * 1000
        nominal = origin + round((wall - origin) / (period * 1000)) * period * 1000
        if any(start <= nominal < end for start, end in skip):
            continue
        offsets.append(wall - nominal)
    return offsets
