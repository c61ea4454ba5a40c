"""A background watch on the server's /healthz, once a second: how long each answer takes
(an event-loop stall shows up here as one slow answer, whatever caused it) and how many
sockets the server counts. Progress lines read the latest sample instead of asking again."""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from types import TracebackType

from benchmarks import rest

TIMEOUT = 20.0


@dataclass(frozen=True)
class HealthSample:
    at: float  # time.monotonic() when asked
    answer_ms: float | None  # None: no answer within TIMEOUT
    customers: int
    staff: int


class HealthWatch:
    def __init__(self, base_url: str, interval: float = 1.0) -> None:
        self._url = base_url
        self._interval = interval
        self._samples: list[HealthSample] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="health-watch", daemon=True)

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(TIMEOUT + 1)

    def _run(self) -> None:
        while not self._stop.is_set():
            asked = time.monotonic()
            sample = HealthSample(asked, None, -1, -1)
            with contextlib.suppress(OSError, ValueError, KeyError):
                customers, staff = rest.connected_sockets(self._url, timeout=TIMEOUT)
                sample = HealthSample(asked, (time.monotonic() - asked) * 1000, customers, staff)
            with self._lock:
                self._samples.append(sample)
            self._stop.wait(max(0.0, self._interval - (time.monotonic() - asked)))

    def latest(self, since: float = 0.0) -> HealthSample | None:
        """The newest answered sample asked at or after `since`, if any."""
        with self._lock:
            answered = [s for s in self._samples if s.answer_ms is not None and s.at >= since]
        return answered[-1] if answered else None

    def worst_ms(self, since: float, until: float | None = None) -> float:
        """The slowest answer asked in [since, until]; the TIMEOUT if one never came."""
        until = time.monotonic() if until is None else until
        with self._lock:
            window = [s for s in self._samples if since <= s.at <= until]
        if not window:
            return float("nan")
        return max(TIMEOUT * 1000 if s.answer_ms is None else s.answer_ms for s in window)
