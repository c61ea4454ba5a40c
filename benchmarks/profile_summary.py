"""Where a py-spy profile's samples go, from py-spy's raw (collapsed) output: the share of
samples under named frames (inclusive), each sample once in the stage of its innermost named
frame (exclusive: the stage table of docs/benchmarks.md, "Chat: the cost of one message"),
and by the kind of code its leaf frame is in.

    .venv/bin/python -m benchmarks.profile_summary PROFILE.txt [PROFILE.txt ...]

Collapsed stacks are `frame;frame;...;leaf COUNT`, root first; a frame is
`function (file:line)`. Used for the chat path's profile in docs/benchmarks.md.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

INCLUSIVE = {
    "event handling (the namespace's trigger_event)": "LiveAssistNamespace.trigger_event",
    "ChatService.send": "ChatService.send",
    "  fan-out (Notifier.to_chat)": "Notifier.to_chat",
    "  message views": "message_views",
    "  the message writer (chat/message_writer.py)": "message_writer.py",
    "payload parsing (wire.parse)": "parse (signaling/wire.py",
    "the gate (GuardedServer._handle_eio_message)": "GuardedServer._handle_eio_message",
    "rate limiting (ratelimit.py)": "signaling/ratelimit.py",
    "JSON encode (json.dumps)": "dumps (json/",
    "JSON decode (json.loads)": "loads (json/",
    "SQLAlchemy (any frame)": "sqlalchemy/",
    "aiosqlite (loop side and its thread)": "aiosqlite/core.py",
    "sqlite writer thread (write_in_thread)": "_worker (concurrent/futures/thread.py",
    "Engine.IO socket (send/receive)": "engineio/async_socket.py",
    "aiohttp websocket reader/writer": "aiohttp/_websocket",
    "ack send (socketio _send_packet)": "AsyncServer._send_packet",
}

STAGES = [
    ("fan-out: Notifier.to_chat (encode, queue per recipient)", "Notifier.to_chat"),
    ("ack: encode and queue (socketio _send_packet)", "AsyncServer._send_packet"),
    ("payload validation (wire.parse)", "parse (signaling/wire.py"),
    ("rate limiting (ratelimit.py)", "signaling/ratelimit.py"),
    ("ChatService.send (before: its statements, SQLAlchemy, aiosqlite hops)", "ChatService.send"),
    ("message batch in the writer's transaction (MessageWriter._apply)", "MessageWriter._apply"),
    ("the writer thread's transaction around it", "Database.write_in_thread.<locals>"),
    ("hand-off to the writer thread (loop side)", "Database.write_in_thread"),
    ("message writer, loop side (other)", "MessageWriter"),
    ("aiosqlite: each statement's trip to its thread and back", "aiosqlite/core.py"),
    ("namespace: lock, session, answer, metrics", "LiveAssistNamespace"),
    ("socketio: event dispatch task", "_handle_event_internal"),
    ("gate + Socket.IO packet decode (GuardedServer)", "GuardedServer._handle_eio_message"),
    ("Engine.IO writer task (websocket send)", "writer (engineio/async_socket.py"),
    ("Engine.IO reader (websocket receive, packet decode)", "engineio/async_socket.py"),
    ("/healthz (the benchmark polls it once a second)", "healthz ("),
    ("other HTTP (aiohttp request handling)", "RequestHandler"),
    ("thread pool machinery (writer thread)", "concurrent/futures/thread.py"),
    ("socket reads (transport)", "_read_ready"),
]
"""Each sample goes to the stage of the innermost frame that names one: exclusive shares."""

FALLBACK = [
    ("SQLAlchemy in a greenlet (the async engine running a statement)", "sqlalchemy/"),
]
"""Stages for samples with no frame of STAGES (greenlet-rooted stacks start afresh)."""

BUCKETS = [
    ("sqlite3 / asyncpg driver", ("sqlite3", "asyncpg/", "aiosqlite/")),
    ("SQLAlchemy", ("sqlalchemy/",)),
    ("JSON", ("json/", "signaling/jsonutil.py")),
    ("wire validation", ("signaling/wire.py",)),
    ("python-socketio", ("socketio/",)),
    ("python-engineio", ("engineio/",)),
    ("aiohttp", ("aiohttp/", "multidict", "yarl/")),
    ("asyncio", ("asyncio/", "uvloop")),
    ("signaling (our code)", ("signaling/",)),
    ("greenlet", ("greenlet",)),
    ("logging", ("logging/",)),
]


def read(path: Path) -> Counter[str]:
    stacks: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks[stack] += int(count)
    return stacks


def bucket(leaf: str) -> str:
    for name, needles in BUCKETS:
        if any(n in leaf for n in needles):
            return name
    return "other"


def stage(stack: str) -> str:
    frames = stack.split(";")
    for stages in (STAGES, FALLBACK):
        for frame in reversed(frames):
            for name, needle in stages:
                if needle in frame:
                    return name
    return "event loop and other"


def summary(stacks: Counter[str]) -> str:
    total = sum(stacks.values()) or 1
    lines = [f"{total} samples", "", "inclusive (share of samples with the frame on the stack):"]
    for label, needle in INCLUSIVE.items():
        hits = sum(n for stack, n in stacks.items() if needle in stack)
        lines.append(f"  {100 * hits / total:5.1f} %  {label}")
    stages: Counter[str] = Counter()
    for stack, n in stacks.items():
        stages[stage(stack)] += n
    lines += ["", "by stage (each sample once, at its innermost named stage):"]
    for name, n in stages.most_common():
        lines.append(f"  {100 * n / total:5.1f} %  {name}")
    leaves: Counter[str] = Counter()
    for stack, n in stacks.items():
        leaves[bucket(stack.rsplit(";", 1)[-1])] += n
    lines += ["", "by leaf frame (where the CPU was when sampled):"]
    for name, n in leaves.most_common():
        lines.append(f"  {100 * n / total:5.1f} %  {name}")
    top: Counter[str] = Counter()
    for stack, n in stacks.items():
        top[stack.rsplit(";", 1)[-1]] += n
    lines += ["", "hottest leaf frames:"]
    for frame, n in top.most_common(15):
        lines.append(f"  {100 * n / total:5.1f} %  {frame}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    for name in sys.argv[1:] if argv is None else argv:
        print(f"== {name}")
        print(summary(read(Path(name))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
