"""Forward subscribers' PLI/FIR to the publisher at most once per interval, never dropping one."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from relay.packet.throttle import Throttle

SendRequest = Callable[[], Awaitable[None]]


class KeyframeRequester:
    """Rate-limits keyframe requests for one published stream.

    N subscribers losing the same packet all send a PLI; the publisher should see one.
    A request inside the quiet interval is deferred to its end rather than dropped.
    Lifecycle: open → closed (close() cancels a deferred request and pending sends).
    """

    def __init__(
        self,
        send: SendRequest,
        *,
        min_interval: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._base_interval = min_interval
        self.clock = clock
        self._throttle = Throttle(
            lambda: send, min_interval=min_interval, what="keyframe request", clock=clock
        )

    def set_round_trip(self, rtt: float) -> None:
        """A keyframe cannot come back sooner than a round trip: on a long leg, asking again
        within two of them only makes the publisher send a second one."""
        self._throttle.min_interval = max(self._base_interval, 2 * rtt)

    @property
    def min_interval(self) -> float:
        return self._throttle.min_interval

    @property
    def sent(self) -> int:
        return self._throttle.sent

    @property
    def suppressed(self) -> int:
        return self._throttle.suppressed

    def request(self) -> bool:
        """Ask for a keyframe; returns True if a request was sent now."""
        return self._throttle.trigger()

    async def close(self) -> None:
        """Cancel a deferred request and wait for in-flight sends; idempotent."""
        await self._throttle.close()
