"""Media jobs: turning a call's raw capture into the files QA plays (convert), and the
downloadable composite on request. Never in a relay worker, never on the event loop: each
job runs in a child process of its own, one at a time, and reports progress as it goes.

Jobs live in the database, so a restart finds them again (running ones start over: a job
only writes its own output folder, then the database); a failed job is retried with
growing delays, then marked failed with its error, and so is its recording.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import shutil
import time
from collections.abc import Callable
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from relay.cluster.closing import cancel_requested
from relay.control.channel import ChannelClosed, FrameChannel, send_blocking, socket_of
from signaling.db.database import Database
from signaling.db.schema import utcnow
from signaling.store import recordings as store
from signaling.types import JobState, RecordingState
from signaling.webhooks import outbox

log = logging.getLogger(__name__)

ATTEMPTS = 3
RETRY_SECONDS = 30.0
"""A failed job waits this long, doubling each time, before its next attempt."""
PROGRESS_WRITES = 1.0
"""Seconds between progress writes to the database."""
FILES = "files"
"""The folder, inside a recording's, that holds what the jobs make."""


class MediaJobRunner:
    """Lifecycle: start() → runs queued jobs one at a time → stop() (the running job's
    process is killed; the job starts over next time)."""

    def __init__(
        self,
        db: Database,
        root: Path,
        *,
        encryption_key: bytes | None,
        poll_seconds: float = 2.0,
    ) -> None:
        self._db = db
        self._root = root
        self._key = encryption_key
        self._poll = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        self.done = 0
        self.failed = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="media-jobs")

    def wake(self) -> None:
        """A job was queued: look now rather than at the next poll."""
        self._wake.set()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self._process is not None and self._process.is_alive():
            self._process.kill()

    async def _run(self) -> None:
        while True:
            try:
                async with self._db.write() as conn:
                    job = await store.next_job(conn, utcnow())
                    if job is not None:
                        job = await store.update_job(
                            conn,
                            job["id"],
                            {
                                "state": JobState.RUNNING.value,
                                "attempts": job["attempts"] + 1,
                                "started_at": utcnow(),
                                "progress": 0.0,
                            },
                        )
                if job is None:
                    self._wake.clear()
                    # asyncio.timeout, not wait_for: on 3.11 wait_for may lose a cancel
                    # that arrives together with a wake, and stop() would wait forever.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self._poll):
                            await self._wake.wait()
                    continue
                await self._execute(job)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if cancel_requested():  # stopping: a failure from it is not one to retry
                    raise asyncio.CancelledError from error
                log.exception("media jobs: the runner failed; going on in %.0f s", self._poll)
                await asyncio.sleep(self._poll)

    async def _execute(self, job: dict[str, Any]) -> None:
        async with self._db.read() as conn:
            recording = await store.recording_by_id(conn, job["recording_id"])
        assert recording is not None
        started = time.monotonic()
        try:
            result = await self._in_child(job, recording["directory"])
        except JobError as error:
            await self._failed(job, recording, str(error))
            return
        await self._finished(job, recording, result, time.monotonic() - started)

    async def _in_child(self, job: dict[str, Any], directory: str) -> dict[str, Any]:
        """Run the job in a child process; its progress goes to the database as it comes."""
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = self._process = context.Process(
            target=child_main,
            args=(child, job["kind"], str(self._root), directory, self._key),
            name=f"media-job-{job['id']}",
            daemon=True,
        )
        process.start()
        child.close()
        channel = await FrameChannel.open(socket_of(parent))
        last_write = 0.0
        try:
            while True:
                try:
                    message = await channel.receive()
                except ChannelClosed:
                    await asyncio.to_thread(process.join, 10)
                    ended = f"the job's process ended (exit code {process.exitcode})"
                    raise JobError(ended) from None
                if "progress" in message and time.monotonic() - last_write > PROGRESS_WRITES:
                    last_write = time.monotonic()
                    async with self._db.write() as conn:
                        await store.update_job(
                            conn, job["id"], {"progress": float(message["progress"])}
                        )
                elif "error" in message:
                    raise JobError(str(message["error"]))
                elif "result" in message:
                    return dict(message["result"])
        finally:
            channel.close()
            await asyncio.to_thread(process.join, 10)
            if process.is_alive():
                process.kill()
            self._process = None

    async def _finished(
        self, job: dict[str, Any], recording: dict[str, Any], result: dict[str, Any], took: float
    ) -> None:
        kind = "composite" if job["kind"] == "composite" else "track"
        async with self._db.write() as conn:
            await store.drop_files(conn, recording["id"], kind)
            for produced in result["files"]:
                await store.add_file(conn, recording["id"], **produced)
            await store.update_job(
                conn,
                job["id"],
                {"state": JobState.DONE.value, "progress": 1.0, "finished_at": utcnow()},
            )
            if job["kind"] == "convert":
                ready = await store.update_recording(
                    conn,
                    recording["id"],
                    {"state": RecordingState.READY.value, "bytes": int(result["raw_bytes"])},
                )
                await outbox.recording_ready(conn, ready)
        self.done += 1
        media_ms = max((f["duration_ms"] for f in result["files"]), default=0)
        log.info(
            "media job %s (%s) of recording %s: %d file(s) in %.1f s (%.1fx real time)",
            job["id"],
            job["kind"],
            recording["id"],
            len(result["files"]),
            took,
            media_ms / 1000 / took if took else 0.0,
        )

    async def _failed(self, job: dict[str, Any], recording: dict[str, Any], error: str) -> None:
        self.failed += 1
        last = job["attempts"] >= ATTEMPTS
        log.error(
            "media job %s (%s) of recording %s failed (attempt %d of %d): %s",
            job["id"],
            job["kind"],
            recording["id"],
            job["attempts"],
            ATTEMPTS,
            error,
        )
        async with self._db.write() as conn:
            retry = utcnow() + timedelta(seconds=RETRY_SECONDS * 2 ** (job["attempts"] - 1))
            await store.update_job(
                conn,
                job["id"],
                {
                    "state": JobState.FAILED.value if last else JobState.QUEUED.value,
                    "error": error[:2000],
                    "not_before": None if last else retry,
                    "finished_at": utcnow() if last else None,
                },
            )
            if last and job["kind"] == "convert":
                await store.update_recording(
                    conn,
                    recording["id"],
                    {"state": RecordingState.FAILED.value, "reason": f"processing: {error}"[:2000]},
                )


class JobError(Exception):
    """A job that did not finish; its message is kept on the job (and the recording)."""


# ---- in the child process ----------------------------------------------------------------------
def child_main(conn: Connection, kind: str, root: str, directory: str, key: bytes | None) -> None:
    """Process entry point: run one job, report progress and the result over the pipe."""
    sock = socket_of(conn, blocking=True)
    last = 0.0

    def progress(fraction: float) -> None:
        nonlocal last
        if time.monotonic() - last >= 0.25:
            last = time.monotonic()
            send_blocking(sock, {"progress": max(0.0, min(1.0, fraction))})

    try:
        result = run_job(kind, Path(root), directory, key, progress)
        send_blocking(sock, {"result": result})
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server stopped (or was killed): its next start runs the job again
    except Exception as error:  # reported to the parent, which retries or gives up
        with contextlib.suppress(OSError):
            send_blocking(sock, {"error": f"{type(error).__name__}: {error}"})
    finally:
        sock.close()


def run_job(
    kind: str,
    root: Path,
    directory: str,
    key: bytes | None,
    progress: Callable[[float], None],
) -> dict[str, Any]:
    """convert: recover what a crash left torn, then one file per participant and role;
    composite: one downloadable file of the whole call. Files are encrypted at rest when a
    key is configured. Returns the files (paths relative to the recordings root)."""
    import media.recording as media  # the media stack: in the child only

    folder = root / directory
    out = folder / FILES
    raw_bytes = sum(
        p.stat().st_size for p in folder.rglob("*") if p.is_file() and FILES not in p.parts
    )
    if kind == "convert":
        media.recover(folder)
        shutil.rmtree(out / "tracks", ignore_errors=True)  # a retry starts clean
        produced = media.convert(folder, out / "tracks", progress)
    elif kind == "composite":
        shutil.rmtree(out / "composite", ignore_errors=True)
        produced = [media.composite(folder, out / "composite" / "call.webm", progress)]
    else:
        raise ValueError(f"unknown media job {kind!r}")
    files = []
    for item in produced:
        path = Path(item.path)
        if key is not None:
            from signaling.recordings.crypto import encrypt_file

            encrypted = path.with_name(path.name + ".enc")
            encrypt_file(path, encrypted, key)
            path.unlink()
            path = encrypted
        files.append(
            {
                "kind": item.kind,
                "participant": item.participant,
                "role": item.role,
                "path": str(path.relative_to(root)),
                "mime": item.mime,
                "duration_ms": int(item.duration_ms),
                "start_offset_ms": int(item.start_offset_ms),
                "bytes": path.stat().st_size,
            }
        )
    return {"files": files, "raw_bytes": raw_bytes}
