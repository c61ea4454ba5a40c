"""When to restart a relay worker that died, and when to call it a crash loop.

A worker that dies once is replaced at once: its calls are waiting to move. One that keeps
dying is restarted with exponential backoff, and after `loop_exits` exits within `window`
seconds it is reported as crash-looping (log line, /healthz) instead of being restarted
silently forever at full speed.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field


@dataclass
class RestartPolicy:
    first_delay: float = 0.0
    base_delay: float = 0.5
    max_delay: float = 30.0
    window: float = 60.0
    loop_exits: int = 3
    exits: deque[float] = field(default_factory=deque)
    restarts: int = 0
    """Replacements started so far."""
    last_exit_code: int | None = None

    def exited(self, code: int | None, now: float | None = None) -> float:
        """Record an unplanned exit; the delay before the replacement starts."""
        now = time.monotonic() if now is None else now
        self.last_exit_code = code
        self.exits.append(now)
        while self.exits and now - self.exits[0] > self.window:
            self.exits.popleft()
        recent = len(self.exits)
        if recent <= 1:
            return self.first_delay
        return min(self.max_delay, self.base_delay * 2.0 ** (recent - 2))

    def crash_loop(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        return sum(1 for at in self.exits if now - at <= self.window) >= self.loop_exits
