"""The garbage collector's schedule (signaling/collector.py): young collections on a timer,
full ones once the server has emptied or after a long time, never after CPython's promotion
count; start-up objects are frozen; stop gives CPython its own schedule back; `liveassist
serve` runs it after its start-up."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

import pytest

from signaling import collector
from signaling.collector import Collector, Turnover, full_collection_due
from tests.test_cli import environment, serve_process


@pytest.mark.parametrize(
    ("closed", "held", "peak_held", "seconds", "due"),
    [
        (0, 0, 0, 10.0, False),
        (16000, 10, 16000, 10.0, False),  # not twice within MIN_SPACING, even when emptied
        (4000, 12000, 16000, 60.0, False),  # churn while busy: walking 12,000 would stall
        (8000, 4001, 16000, 60.0, False),
        (12000, 4000, 16000, 60.0, True),  # emptied to a quarter of the peak: cheap now
        (499, 0, 499, 60.0, False),  # a small, steady server: at least MIN_CLOSED
        (500, 0, 600, 60.0, True),
        (0, 16000, 16000, 6 * 3600.0 - 1, False),
        (0, 16000, 16000, 6 * 3600.0, True),  # never quiet: MAX_INTERVAL
    ],
)
def test_a_full_collection_waits_for_an_emptied_server_or_time(
    closed: int, held: int, peak_held: int, seconds: float, due: bool
) -> None:
    assert full_collection_due(Turnover(closed, held, peak_held, seconds)) is due


async def test_start_freezes_collects_young_on_a_timer_stop_undoes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(collector, "YOUNG_SECONDS", 0.005)
    monkeypatch.setattr(collector, "CHECK_SECONDS", 0.01)
    monkeypatch.setattr(collector, "MIN_SPACING", 0.0)
    before = gc.get_threshold()
    held, closed = [1000], [0]
    schedule = Collector(held=lambda: held[0], closed=lambda: closed[0])
    full = gc.get_stats()[2]["collections"]
    schedule.start()
    try:
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (before[0], before[1], collector.NEVER)
        started = gc.get_stats()[2]["collections"]
        assert started == full + 1  # the one before freezing
        young = gc.get_stats()[1]["collections"]
        await asyncio.sleep(0.1)
        assert gc.get_stats()[1]["collections"] >= young + 5  # on the timer
        closed[0], held[0] = 500, 251
        await asyncio.sleep(0.1)
        assert gc.get_stats()[2]["collections"] == started
        held[0] = 250  # a quarter of the most held, MIN_CLOSED closed
        for _ in range(100):
            await asyncio.sleep(0.01)
            if gc.get_stats()[2]["collections"] > started:
                break
        assert gc.get_stats()[2]["collections"] == started + 1
    finally:
        await schedule.stop()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


async def test_serve_runs_the_schedule_after_its_start_up(tmp_path: Path) -> None:
    env = environment(LIVEASSIST_LOG_LEVEL="INFO")
    with serve_process(tmp_path / "data", "--workers", "1", env=env) as (process, *_, err):
        for _ in range(100):
            if "start-up objects frozen" in err.read_text():
                break
            await asyncio.sleep(0.05)
        assert "start-up objects frozen" in err.read_text()
        process.terminate()
        assert await asyncio.to_thread(process.wait, 15) == 0
    assert "Traceback" not in err.read_text()
