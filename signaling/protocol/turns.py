"""Turns of one connection's events: they start in arrival order, one at a time, and are
answered in arrival order; a handler may hand the turn on before it is answered.

A connection's events used to hold its turn until answered, so a client's messages were
stored in the order it sent them. A chat message's place is fixed earlier, when it joins
the message writer's queue (signaling/chat/message_writer.py), while its answer waits for
the batch's commit: an agent writing in many chats then sent at most one message per
commit. Now the writer hands the turn on once the message is queued (`hand_on()`), the
connection's next event starts, and each answer still waits for the previous one, so
acks leave in the order the events came, as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

_current: ContextVar[Callable[[], None] | None] = ContextVar("connection_turn", default=None)


def hand_on() -> None:
    """The running event's place in its connection's order is fixed: let the next event of
    the connection start. A no-op outside a connection's turn (REST, forwarded events)."""
    release = _current.get()
    if release is not None:
        release()


class Turns:
    """The turns of one connection (lifecycle: made at its first event, dropped with it)."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._last_answer: asyncio.Future[None] | None = None

    async def run(self, event: Callable[[], Awaitable[T]]) -> T:
        """Run `event` in its turn; returns once every earlier event has returned."""
        await self._lock.acquire()
        previous = self._last_answer
        answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._last_answer = answered
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                self._lock.release()

        try:
            token = _current.set(release)
            try:
                result = await event()
            finally:
                _current.reset(token)
                release()
            if previous is not None and not previous.done():
                await previous
            return result
        finally:
            answered.set_result(None)
            if self._last_answer is answered:
                self._last_answer = None
