"""What a relay worker process sets up for itself once, before its first room.

Each change is process-wide, so it is made here, in the worker (relay/control/worker_host.py),
in benchmarks that stand for one and in the load generator (loadtest/calls.py, whose
hundred clients are the run's overhead), never in a process whose other peer connections
(a test's clients) should behave as aiortc's own.
"""

from __future__ import annotations

import gc

from relay.rtc import common_codecs, host_addresses, lazy_estimator


def prepare() -> None:
    """Receivers build their bandwidth estimator lazily; host addresses are cached; codecs
    are negotiated without deep copies."""
    lazy_estimator.install()
    host_addresses.install()
    common_codecs.install()


def freeze_startup_heap() -> None:
    """Move everything alive now (the imported modules of aiortc, av, numpy…: ~100,000
    objects) out of the garbage collector's sight. A full collection otherwise walks them
    all, and joins allocate enough to set one off every few dozen: 2 ms of CPU per join
    on average in the relay join benchmark, 0.3 ms after the freeze."""
    gc.collect()
    gc.freeze()
