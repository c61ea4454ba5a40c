"""The recording's disk writer: a thread, so a slow or failing disk never holds up forwarding.

The event loop hands it whole chunks (about one second of one track) through a queue whose
pending bytes are bounded; when the disk does not keep up, submit() refuses and the caller
drops that chunk (and says so on the recording), never a media packet. The first write
error stops all writing: a torn record can only ever be the last one of a file.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from media.recording import manifest as manifest_file

logger = logging.getLogger(__name__)

DEFAULT_MAX_PENDING = 8 * 1024 * 1024
"""About half a minute of a 1:1 call with screen share both ways waiting for the disk."""

_OPEN, _APPEND, _MANIFEST, _CLOSE = "open", "append", "manifest", "close"
_Item = tuple[str, str, bytes | bytearray] | Callable[[], None]
T = TypeVar("T")


class DiskWriter:
    """Lifecycle: new → start() → close() (idempotent; waits for what was queued).

    Counters are written by the thread and read by the loop (ints: no torn reads). The
    loop's own blocking work for the recording (creating the directory) runs here too
    (`call`), so a recording adds exactly one thread and it is gone after close().
    """

    def __init__(self, directory: Path, *, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self.directory = directory
        self.max_pending = max_pending
        self.written = 0
        """Bytes written to track files (headers included)."""
        self.dropped = 0
        """Bytes the thread could not write (after an error)."""
        self.error: str | None = None
        """The first write error, readable (e.g. "No space left on device: agent.camera...")."""
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._pending = 0
        self._lock = threading.Lock()
        self._fds: dict[str, int] = {}
        self._thread: threading.Thread | None = None
        self._closed = False

    def start(self) -> None:
        if self._thread is None and not self._closed:
            self._thread = threading.Thread(
                target=self._run, name=f"recording-writer:{self.directory.name}", daemon=True
            )
            self._thread.start()

    @property
    def pending(self) -> int:
        return self._pending

    def open(self, name: str, header: bytes) -> None:
        """Create a track file (never an existing one) with its header."""
        self._put(_OPEN, name, header)

    def append(self, name: str, chunk: bytes | bytearray) -> bool:
        """Queue a chunk; False (nothing queued) when the disk is that far behind."""
        with self._lock:
            if self._pending + len(chunk) > self.max_pending:
                return False
            self._pending += len(chunk)
        self._queue.put((_APPEND, name, chunk))
        return True

    def write_manifest(self, body: bytes) -> None:
        self._put(_MANIFEST, "", body)

    def close_file(self, name: str) -> None:
        self._put(_CLOSE, name, b"")

    def _put(self, op: str, name: str, data: bytes | bytearray) -> None:
        """Open, close and manifest items are small and always queued, so the files a
        manifest names exist and no descriptor is left open."""
        with self._lock:
            self._pending += len(data)
        self._queue.put((op, name, data))

    async def call(self, function: Callable[[], T]) -> T:
        """Run `function` on the writer's thread, after what is queued; its result or error."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def settle(result: Any, error: BaseException | None) -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

        def run() -> None:
            try:
                result = function()
            except BaseException as error:
                loop.call_soon_threadsafe(settle, None, error)
            else:
                loop.call_soon_threadsafe(settle, result, None)

        if self._thread is None or self._closed:
            raise RuntimeError("the recording writer is not running")
        self._queue.put(run)
        return await future

    async def aclose(self) -> None:
        """Write what is queued, close every file and end the thread; idempotent."""
        if self._closed:
            return
        if self._thread is not None:
            await self.call(lambda: None)  # everything queued before is written
        self._closed = True
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()  # it has nothing left to do: returns at once
        self._close_fds()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                self._close_fds()
                return
            if callable(item):
                item()
                continue
            op, name, data = item
            with self._lock:
                self._pending -= len(data)
            if self.error is not None:
                if op in (_APPEND, _OPEN):
                    self.dropped += len(data)
                if op == _CLOSE:
                    self._close_fd(name)
                continue
            try:
                self._do(op, name, data)
            except OSError as error:
                self.error = f"{error.strerror or error}: {name or manifest_file.NAME}"
                logger.error("recording into %s failed: %s", self.directory, self.error)
                if op in (_APPEND, _OPEN):
                    self.dropped += len(data)
            except Exception:  # a bug: keep the thread alive so close() can end it
                logger.exception("recording writer failed")
                self.error = "internal error in the recording writer"

    def _do(self, op: str, name: str, data: bytes | bytearray) -> None:
        if op == _MANIFEST:
            manifest_file.write_atomically(self.directory, data)
        elif op == _OPEN:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC
            self._fds[name] = os.open(self.directory / name, flags, 0o640)
            self._write(name, data)
        elif op == _APPEND:
            self._write(name, data)
        elif op == _CLOSE:
            self._close_fd(name)

    def _write(self, name: str, data: bytes | bytearray) -> None:
        """Straight to the kernel (no user-space buffer): a killed process loses nothing
        that was handed over here."""
        fd = self._fds.get(name)
        if fd is None:
            self.dropped += len(data)  # its open failed before any error was noted
            return
        view = memoryview(data)
        while view:
            count = os.write(fd, view)
            self.written += count
            view = view[count:]

    def _close_fd(self, name: str) -> None:
        fd = self._fds.pop(name, None)
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                logger.warning("closing recording file %s failed", name)

    def _close_fds(self) -> None:
        for name in list(self._fds):
            self._close_fd(name)
