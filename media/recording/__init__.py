"""Call recording after the relay: raw track files (written by relay/rtc/recorder.py) ->
standard files, a composite review file, and recovery of a crashed worker's recording.

The job runner's process uses:

    convert(recording_dir, out_dir, progress) -> list[OutputFile]
    paused_spans(recording_dir) -> list[tuple[int, int]]
    composite(outputs | recording_dir, out_path, progress) -> OutputFile
    recover(recording_dir) -> RecoveryReport

The relay worker needs only `rawfile` and `manifest` (stdlib); importing this package
there also loads PyAV and numpy, which aiortc has loaded already. docs/recording-format.md
describes the files.
"""

from media.recording.composite import composite
from media.recording.convert import OutputFile, convert, paused_spans
from media.recording.recover import RecoveryReport, recover

__all__ = ["OutputFile", "RecoveryReport", "composite", "convert", "paused_spans", "recover"]
