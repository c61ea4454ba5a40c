"""The load-generator processes seen from the orchestrator: start them, send each its
request, wait for every reply within a time bound (printing progress while waiting)."""

from __future__ import annotations

import contextlib
import multiprocessing
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import TypeVar

from benchmarks import loadgen
from benchmarks.protocol import Reply, Request, Stop, WorkerFailure

R = TypeVar("R")
PROGRESS_EVERY = 5.0


class WorkerError(RuntimeError):
    """A load generator failed a request, died, or did not answer in time."""


class WorkerPool:
    def __init__(self, count: int, base_url: str, *, seed: int = 1) -> None:
        # spawn, not fork: each load generator starts clean, with no copy of our state.
        context = multiprocessing.get_context("spawn")
        self._conns: list[Connection] = []
        self._procs: list[BaseProcess] = []
        for index in range(count):
            ours, theirs = context.Pipe()
            proc = context.Process(
                target=loadgen.main,
                args=(theirs, index, base_url, seed + index),
                name=f"loadgen-{index}",
                daemon=True,
            )
            self._conns.append(ours)
            self._procs.append(proc)

    def __len__(self) -> int:
        return len(self._procs)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._procs if p.pid is not None]

    def __enter__(self) -> WorkerPool:
        for proc in self._procs:
            proc.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def ask(
        self,
        requests: Sequence[Request],
        expect: type[R],
        *,
        timeout: float,
        progress: Callable[[], None] | None = None,
    ) -> list[R]:
        """Send requests[i] to worker i and return their replies, in worker order."""
        assert len(requests) == len(self._conns)
        for conn, request in zip(self._conns, requests, strict=True):
            conn.send(request)
        replies: dict[int, Reply] = {}
        deadline = time.monotonic() + timeout
        next_progress = time.monotonic() + PROGRESS_EVERY
        while len(replies) < len(self._conns):
            now = time.monotonic()
            if now > deadline:
                raise WorkerError(f"load generators did not answer within {timeout:.0f} s")
            for index, conn in enumerate(self._conns):
                if index not in replies and conn.poll(0.05):
                    try:
                        replies[index] = conn.recv()
                    except EOFError:
                        raise WorkerError(f"load generator {index} died") from None
            if progress is not None and now >= next_progress:
                progress()
                next_progress = now + PROGRESS_EVERY
        results: list[R] = []
        for index in range(len(self._conns)):
            reply = replies[index]
            if isinstance(reply, WorkerFailure):
                raise WorkerError(f"load generator {index}: {reply.request} failed: {reply.error}")
            if not isinstance(reply, expect):
                raise WorkerError(f"load generator {index} answered {type(reply).__name__}")
            results.append(reply)
        return results

    def ask_all(
        self,
        request: Request,
        expect: type[R],
        *,
        timeout: float,
        progress: Callable[[], None] | None = None,
    ) -> list[R]:
        return self.ask([request] * len(self), expect, timeout=timeout, progress=progress)

    def close(self, timeout: float = 40.0) -> None:
        """Ask every worker to close its sockets and exit; terminate whoever does not."""
        for conn in self._conns:
            with contextlib.suppress(OSError):  # already gone
                conn.send(Stop(timeout=timeout - 10))
        deadline = time.monotonic() + timeout
        for proc in self._procs:
            if proc.pid is None:
                continue
            proc.join(max(0.1, deadline - time.monotonic()))
            if proc.is_alive():
                proc.terminate()
                proc.join(5)
        for conn in self._conns:
            conn.close()
