"""The hang watchdog turns a hung test into one failure with its stacks; the run goes on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HUNG = """
import asyncio

async def test_waits_forever():
    await asyncio.Event().wait()

def test_runs_after_it():
    assert True
"""


def test_a_hung_test_fails_with_its_stack_and_the_next_one_runs(tmp_path: Path) -> None:
    (tmp_path / "test_hung.py").write_text(HUNG)
    (tmp_path / "conftest.py").write_text(
        "from tests.hang_watchdog import pytest_runtest_protocol  # noqa: F401\n"
    )
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "TEST_HANG_SECONDS": "2", "PYTHONPATH": str(root)}
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"),
            *("-o", "asyncio_mode=auto", "-o", "asyncio_default_fixture_loop_scope=function"),
            str(tmp_path),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "1 failed, 1 passed" in out, out
    assert "test_waits_forever still running after 2 s" in out
    assert "--- task" in out and "in test_waits_forever" in out  # the hung task's stack
    assert "CancelledError: the test hung for 2 s" in out
