"""A Call's `rev`: a number that grows with every change, so a client can tell a late ack
from a newer `call.updated` (docs/protocol.md §8).

A live call's changes happen in memory between the writes of its row, and a crash loses
them; the next process must still hand out larger numbers. So a revision is a hybrid clock:
the wall clock in milliseconds, or one more than the last revision when that is larger.
"""

from __future__ import annotations

import time


def next_rev(previous: int, now_ms: int | None = None) -> int:
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    return max(previous + 1, now_ms)
