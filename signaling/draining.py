"""SIGTERM with server.drain_seconds: first unready, then closed. /healthz answers 503
"draining" while the server goes on serving, so a load balancer stops sending it new
connections; after the drain aiohttp's own graceful exit runs (signaling/shutdown.py tells
every socket `server.closing`, and the pages reconnect to a process that stays). A second
SIGTERM or Ctrl+C exits at once."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable

from aiohttp.web_runner import GracefulExit

log = logging.getLogger(__name__)


class Drain:
    """Lifecycle: serving → draining (signal) → exit (GracefulExit after `seconds`)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.draining = False

    def install(self) -> None:
        """Replace aiohttp's SIGTERM/SIGINT handlers (its run_app installed them just before
        the app started); with no drain time there is nothing to replace."""
        if self.seconds <= 0:
            return
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._signalled(loop))

    def _signalled(self, loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
        def handler() -> None:
            if self.draining:
                _exit()  # asked twice: go now
            self.draining = True
            log.warning("draining: /healthz unready for %.1f s, then closing", self.seconds)
            loop.call_later(self.seconds, _exit)

        return handler


def _exit() -> None:
    raise GracefulExit()
