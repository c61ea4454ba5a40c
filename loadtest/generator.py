"""One load-generator process: its own simulated agents and the journeys given to it.

Started by the runner through loadtest/rpc.py (spawn, so it starts clean); it serves
`op_<name>` requests. Journeys of one process share one aiohttp session and the clip,
which is read once from the file the runner encoded. The process watches its own CPU and
event-loop lag: a generator that cannot keep time makes every figure it reports too high,
and the runner says so instead of blaming the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp

from loadtest.clients import Staff
from loadtest.journeys import STAGES, JourneyContext, JourneyResult, run_journey
from loadtest.rpc import serve
from media.clip import Clip


class Generator:
    def __init__(self, process: int, clip_path: str) -> None:
        self.process = process
        self.clip = Clip.load(Path(clip_path))
        self.ctx: JourneyContext | None = None
        self.results: list[JourneyResult] = []
        self._reported = 0
        self._running: set[asyncio.Task[JourneyResult]] = set()
        self._driver: asyncio.Task[None] | None = None
        self._lags: list[float] = []
        self._lag_task: asyncio.Task[None] | None = None
        self._cpu_began = (time.process_time(), time.monotonic())
        self._cpu_last = self._cpu_began
        self.started = 0

    async def op_setup(
        self,
        url: str,
        org: str,
        language: str,
        agents: list[tuple[str, str]],
        talk_seconds: float,
        messages: int,
        admin: tuple[str, str] | None = None,
        decode: bool = False,
    ) -> int:
        """Sign the agents in, connect them, put them online; returns how many are."""
        loop = asyncio.get_running_loop()
        self._lag_task = loop.create_task(self._watch_lag())
        http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        staff: dict[int, Staff] = {}
        for email, password in agents:
            agent = Staff(url, http=http)
            await agent.sign_in(email, password)
            await agent.connect()
            await agent.go_online()
            staff[int(agent.user["id"])] = agent
        admin_staff = None
        if admin is not None:
            admin_staff = Staff(url, http=http)
            await admin_staff.sign_in(*admin)
        self.ctx = JourneyContext(
            url=url,
            org=org,
            language=language,
            http=http,
            agents=staff,
            clip=self.clip,
            talk_seconds=talk_seconds,
            messages=messages,
            admin=admin_staff,
            frame_index=None if decode else self.clip.video_index(),
        )
        return len(staff)

    async def op_run(
        self,
        start_at: float,
        arrivals: list[tuple[float, str, int]] | None = None,
        concurrency: int = 0,
        scenarios: list[str] | None = None,
        weights: list[float] | None = None,
        duration: float = 0.0,
        ramp: float = 0.0,
        limit: int = 0,
        seed: int = 1,
    ) -> None:
        """Start journeys in the background, from `start_at` (Unix time): at the given
        arrival offsets, or keeping `concurrency` running (`limit` in all, 0: no limit)
        until `duration` has passed, each slot starting within `ramp`."""
        if arrivals is not None:
            work = self._arrivals(start_at, arrivals)
        else:
            work = self._closed_loop(
                start_at, concurrency, scenarios or [], weights or [], duration, ramp, limit, seed
            )
        self._driver = asyncio.get_running_loop().create_task(work)

    async def _sleep_until(self, unix: float) -> None:
        await asyncio.sleep(max(0.0, unix - time.time()))

    def _start(self, scenario: str, journey: int) -> asyncio.Task[JourneyResult]:
        assert self.ctx is not None
        result = JourneyResult(scenario, journey, self.process, time.time())
        self.results.append(result)
        self.started += 1
        task = asyncio.get_running_loop().create_task(
            run_journey(self.ctx, scenario, result, lambda: None)
        )
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return task

    async def _arrivals(self, start_at: float, arrivals: list[tuple[float, str, int]]) -> None:
        for offset, scenario, journey in arrivals:
            await self._sleep_until(start_at + offset)
            self._start(scenario, journey)
        await asyncio.gather(*self._running, return_exceptions=True)

    async def _closed_loop(
        self,
        start_at: float,
        concurrency: int,
        scenarios: list[str],
        weights: list[float],
        duration: float,
        ramp: float,
        limit: int,
        seed: int,
    ) -> None:
        rng = random.Random(seed * 1000 + self.process)
        numbers = iter(range(self.process, 1 << 30, 1 << 10))
        queue = list(scenarios) if limit else []
        end = start_at + duration

        def more() -> bool:
            if limit:
                return bool(queue)
            return time.time() < end

        def pick() -> str:
            return queue.pop(0) if limit else rng.choices(scenarios, weights)[0]

        async def slot(index: int) -> None:
            await self._sleep_until(start_at + ramp * index / max(1, concurrency))
            while more():
                await self._start(pick(), next(numbers))

        await asyncio.gather(*(slot(i) for i in range(concurrency)))

    async def op_progress(self) -> dict[str, Any]:
        """Journeys by stage, and the results finished since the last call."""
        stages = dict.fromkeys(STAGES, 0)
        for result in self.results:
            stages[result.stage] += 1
        # Report in order; a journey still running holds back the ones after it.
        done: list[dict[str, Any]] = []
        for result in self.results[self._reported :]:
            if result.ended_at is None:
                break
            done.append(result.to_wire())
        self._reported += len(done)
        return {
            "stages": stages,
            "finished": done,
            "running": len(self._running),
            "driving": self._driver is not None and not self._driver.done(),
            "generator": self._generator_now(),
        }

    def _generator_now(self) -> dict[str, Any]:
        cpu, wall = time.process_time(), time.monotonic()
        last_cpu, last_wall = self._cpu_last
        self._cpu_last = (cpu, wall)
        recent = self._lags[-40:]
        return {
            "cpu_pct": round(100.0 * (cpu - last_cpu) / max(1e-6, wall - last_wall), 1),
            "loop_lag_ms": round(max(recent), 1) if recent else 0.0,
        }

    async def op_finish(self, wait: float) -> dict[str, Any]:
        """Wait for the journeys (bounded), then report the rest and the process' figures."""
        if self._driver is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._driver), wait)
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        progress = await self.op_progress()
        cpu0, wall0 = self._cpu_began
        lags = sorted(self._lags)
        progress["totals"] = {
            "cpu_pct": round(
                100.0 * (time.process_time() - cpu0) / max(1e-6, time.monotonic() - wall0), 1
            ),
            "loop_lag_p95_ms": round(lags[int(0.95 * (len(lags) - 1))], 1) if lags else 0.0,
            "loop_lag_max_ms": round(lags[-1], 1) if lags else 0.0,
            "journeys": self.started,
        }
        return progress

    async def _watch_lag(self, every: float = 0.05) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + every
            await asyncio.sleep(every)
            self._lags.append(max(0.0, (loop.time() - due) * 1000))

    async def close(self) -> None:
        if self._lag_task is not None:
            self._lag_task.cancel()
        if self.ctx is None:
            return
        staff = [*self.ctx.agents.values(), *([self.ctx.admin] if self.ctx.admin else [])]
        await asyncio.gather(*(s.close() for s in staff), return_exceptions=True)
        await self.ctx.http.close()


def main(conn: Connection, process: int, clip_path: str) -> None:
    """Process entry point (multiprocessing spawn target)."""
    logging.basicConfig(level=logging.ERROR)
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:  # pragma: no cover - Windows
        runner = asyncio.run
    runner(serve(conn, Generator(process, clip_path)))
