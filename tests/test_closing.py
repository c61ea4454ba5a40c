"""Stopping what talks to Redis is bounded (relay/cluster/closing.py): a retrying loop whose
cancellation reached it as a connection error still ends, and a task that will not end costs
its stopper a bounded wait and a warning, not a hang."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from relay.cluster.closing import cancel_requested, stop_tasks


async def _command_that_turns_cancellation_into_an_error() -> None:
    """What a client library may do: disconnect on cancellation and raise its own error."""
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        raise ConnectionError("connection closed while reading") from None


async def _retrying_loop(*, checks: bool, rounds: list[int]) -> None:
    while True:
        await asyncio.sleep(0.01)
        try:
            await _command_that_turns_cancellation_into_an_error()
        except Exception as error:
            if checks and cancel_requested():
                raise asyncio.CancelledError from error
            rounds.append(1)  # logged and retried at the next beat


async def test_a_retrying_loop_that_checks_ends_when_stopped() -> None:
    rounds: list[int] = []
    loop_task = asyncio.create_task(_retrying_loop(checks=True, rounds=rounds))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    assert await stop_tasks([loop_task], "a test loop", seconds=2.0)
    assert time.monotonic() - started < 1.0
    assert loop_task.cancelled() and rounds == []


async def test_a_task_that_will_not_end_costs_a_bounded_wait_and_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rounds: list[int] = []
    stubborn = asyncio.create_task(_retrying_loop(checks=False, rounds=rounds), name="stubborn")
    await asyncio.sleep(0.05)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="relay.cluster.closing"):
        assert not await stop_tasks([stubborn], "a test loop", seconds=0.3)
    waited = time.monotonic() - started
    assert 0.3 <= waited < 1.5
    assert "stopping a test loop" in caplog.text and "stubborn" in caplog.text
    assert not stubborn.done() and rounds  # it swallowed the cancellation and went on
    stubborn.cancel()  # caught again as a ConnectionError: end it the hard way
    for _ in range(100):
        stubborn.cancel()
        await asyncio.sleep(0)
        if stubborn.done():
            break
    await asyncio.wait([stubborn], timeout=1.0)


async def test_stopping_nothing_or_finished_tasks_is_immediate() -> None:
    finished = asyncio.create_task(asyncio.sleep(0))
    await finished
    assert await stop_tasks([], "nothing")
    assert await stop_tasks([finished], "a finished task")
