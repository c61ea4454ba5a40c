"""One-line logs for what clients can trigger at will (bad frames, floods): a client must not
be able to fill the disk, so each kind of line is written at most once per interval and the
next line says how many were left out meanwhile."""

from __future__ import annotations

import logging
import time


class ThrottledLog:
    def __init__(self, logger: logging.Logger, *, interval: float = 10.0) -> None:
        self._logger = logger
        self._interval = interval
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, kind: str, message: str, *args: object) -> None:
        """Log `message` (one line, no traceback) unless `kind` was logged within the interval."""
        now = time.monotonic()
        last = self._last.get(kind)
        if last is not None and now - last < self._interval:
            self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
            return
        self._last[kind] = now
        left_out = self._suppressed.pop(kind, 0)
        if left_out:
            message += f" ({left_out} more like it in the last {self._interval:.0f} s not logged)"
        self._logger.warning(message, *args)


class OneLineFilter(logging.Filter):
    """For the loggers of libraries that read client input (Engine.IO, Socket.IO): what a
    client can provoke is logged as one line without its traceback, each message template
    at most once per interval."""

    def __init__(self, *, interval: float = 10.0) -> None:
        super().__init__()
        self._interval = interval
        self._last: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        template = str(record.msg)
        last = self._last.get(template)
        if last is not None and now - last < self._interval:
            return False
        if len(self._last) > 1000:
            self._last.clear()
        self._last[template] = now
        if record.exc_info and record.exc_info[1] is not None:
            record.msg = f"{template} ({type(record.exc_info[1]).__name__})"
        record.exc_info = None
        record.exc_text = None
        return True


def library_logger(name: str, level: int = logging.WARNING) -> logging.Logger:
    """A logger for a library's own messages, one line each and throttled."""
    logger = logging.getLogger(name)
    logger.setLevel(level)
    if not any(isinstance(f, OneLineFilter) for f in logger.filters):
        logger.addFilter(OneLineFilter())
    return logger
