"""Call recording after the relay: raw track files (written by relay/recorder.py) →
standard files, a composite review file, and recovery of a crashed worker's recording.

The relay worker imports only `rawfile` and `manifest` (stdlib only); the rest is for the
job runner's process:

    convert(recording_dir, out_dir, progress) -> list[OutputFile]
    paused_spans(recording_dir) -> list[tuple[int, int]]
    composite(outputs | recording_dir, out_path, progress) -> OutputFile
    recover(recording_dir) -> RecoveryReport

docs/recording-format.md describes the files.
"""
