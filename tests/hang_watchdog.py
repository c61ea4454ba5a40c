"""A test that hangs fails on its own, with every task's stack, instead of stalling the run.

An await with no bound (a close that never returns, a reply that never comes) would hold
the whole suite until CI's 90 minutes are up, and say nothing about where. After
HANG_SECONDS the watchdog prints every thread's and every asyncio task's stack and cancels
the test's tasks, so the test fails and the next one runs.
"""

from __future__ import annotations

import asyncio
import faulthandler
import gc
import os
import sys
import threading
from collections.abc import Iterator

import pytest

HANG_SECONDS = float(os.environ.get("TEST_HANG_SECONDS", "300"))
"""Well above the slowest test (about 60 s on 2 cores); the environment may lower it."""


def _running_loops() -> list[asyncio.AbstractEventLoop]:
    return [
        o for o in gc.get_objects() if isinstance(o, asyncio.AbstractEventLoop) and o.is_running()
    ]


def _dump_and_cancel() -> None:
    """Runs on the hung test's loop."""
    for task in asyncio.all_tasks():
        print(f"--- task {task.get_name()}", file=sys.stderr)
        task.print_stack(file=sys.stderr)
    for task in asyncio.all_tasks():
        task.cancel(f"the test hung for {HANG_SECONDS:.0f} s (tests/hang_watchdog.py)")


def _fire(nodeid: str) -> None:
    print(f"\n=== {nodeid} still running after {HANG_SECONDS:.0f} s: stacks", file=sys.stderr)
    faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
    for loop in _running_loops():
        loop.call_soon_threadsafe(_dump_and_cancel)
    sys.stderr.flush()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    """Set-up, the test and tear-down together: a fixture's close can hang as well."""
    timer = threading.Timer(HANG_SECONDS, _fire, args=(item.nodeid,))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
