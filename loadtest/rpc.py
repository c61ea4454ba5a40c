"""Calls between the benchmark's processes: a spawned child serves `op_<name>` coroutines over
a Pipe; the parent awaits their results. The pipe is read with loop.add_reader (no thread),
so a child's media loop is not disturbed by a helper thread. call_all() asks every child at
once, within a time bound, reporting progress while it waits."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from multiprocessing.connection import Connection
from typing import Any

logger = logging.getLogger(__name__)


class RemoteError(RuntimeError):
    """An op raised in the child; the message carries its type and text."""


class Child:
    """Parent's handle on one spawned child process (lifecycle: start() → stop())."""

    def __init__(self, name: str, target: Callable[..., None], *args: Any) -> None:
        self.name = name
        self._target, self._args = target, args
        self._conn: Connection | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self.pid = 0

    async def start(self) -> None:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(
            target=self._target, args=(child, *self._args), name=self.name, daemon=True
        )
        process.start()
        child.close()
        self._conn, self._process = parent, process
        self.pid = process.pid or 0
        asyncio.get_running_loop().add_reader(parent.fileno(), self._readable)
        await self.call("ping", timeout=60)

    def _readable(self) -> None:
        assert self._conn is not None
        try:
            request_id, ok, value = self._conn.recv()
        except (EOFError, OSError):
            asyncio.get_running_loop().remove_reader(self._conn.fileno())
            for waiting in self._pending.values():
                if not waiting.done():
                    waiting.set_exception(RemoteError(f"{self.name} exited"))
            return
        future = self._pending.pop(int(request_id), None)
        if future is not None and not future.done():
            if ok:
                future.set_result(value)
            else:
                future.set_exception(RemoteError(f"{self.name}: {value}"))

    async def call(self, op: str, timeout: float = 60.0, **args: Any) -> Any:
        if self._conn is None:
            raise RemoteError(f"{self.name} is not running")
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        self._conn.send((request_id, op, args))
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(request_id, None)

    async def stop(self) -> None:
        """Ask the child to finish, then wait (killing it after 10 s); idempotent."""
        if self._conn is not None:
            with contextlib.suppress(RemoteError, TimeoutError, OSError):
                await self.call("shutdown", timeout=10)
            with contextlib.suppress(ValueError, OSError):
                asyncio.get_running_loop().remove_reader(self._conn.fileno())
            self._conn.close()
            self._conn = None
        process = self._process
        if process is not None:
            await asyncio.to_thread(process.join, 10)
            if process.is_alive():
                process.kill()
                await asyncio.to_thread(process.join, 5)
            self._process = None


async def call_all(
    children: Sequence[Child],
    op: str,
    args: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *,
    timeout: float,
    progress: Callable[[], None] | None = None,
    every: float = 5.0,
) -> list[Any]:
    """`op` on every child at once (the same `args` for all, or args[i] for children[i]);
    their results in children's order. While waiting, progress() runs every `every` seconds.
    The first failure (an op raising, a child exiting or not answering within `timeout`)
    raises RemoteError; the other answers are then not waited for."""
    each = [args] * len(children) if isinstance(args, Mapping) else list(args)
    if len(each) != len(children):
        raise ValueError(f"{len(each)} sets of arguments for {len(children)} children")

    async def one(child: Child, kwargs: Mapping[str, Any]) -> Any:
        try:
            return await child.call(op, timeout=timeout, **kwargs)
        except TimeoutError:
            raise RemoteError(f"{child.name} did not answer {op} within {timeout:.0f} s") from None

    calls = [
        asyncio.ensure_future(one(child, kwargs))
        for child, kwargs in zip(children, each, strict=True)
    ]
    try:
        pending: set[asyncio.Future[Any]] = set(calls)
        while pending:
            done, pending = await asyncio.wait(
                pending, timeout=every, return_when=asyncio.FIRST_EXCEPTION
            )
            for finished in done:
                finished.result()  # raises the first failure
            if pending and progress is not None:
                progress()
        return [call.result() for call in calls]
    finally:
        for call in calls:
            call.cancel()


async def serve(conn: Connection, handler: object) -> None:
    """Run `handler.op_<name>(**args)` for each request until 'shutdown' or EOF."""
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    tasks: set[asyncio.Task[None]] = set()

    async def run(request_id: int, op: str, args: dict[str, Any]) -> None:
        try:
            if op == "ping":
                result: Any = os.getpid()
            else:
                result = await getattr(handler, f"op_{op}")(**args)
            reply: tuple[int, bool, Any] = (request_id, True, result)
        except Exception as error:
            logger.exception("op %s failed", op)
            reply = (request_id, False, f"{type(error).__name__}: {error}")
        with contextlib.suppress(OSError):
            conn.send(reply)

    def readable() -> None:
        try:
            request_id, op, args = conn.recv()
        except (EOFError, OSError):
            done.set()
            return
        if op == "shutdown":
            done.set()
            task = asyncio.ensure_future(_shutdown(handler, conn, request_id))
        else:
            task = asyncio.ensure_future(run(request_id, op, args))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    loop.add_reader(conn.fileno(), readable)
    await done.wait()
    loop.remove_reader(conn.fileno())
    await asyncio.gather(*tasks, return_exceptions=True)


async def _shutdown(handler: object, conn: Connection, request_id: int) -> None:
    close = getattr(handler, "close", None)
    if close is not None:
        try:
            await close()
        except Exception:
            logger.exception("closing %s failed", type(handler).__name__)
    with contextlib.suppress(OSError):
        conn.send((request_id, True, None))
