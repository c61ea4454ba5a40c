"""python-socketio's client managers with a sid → rooms index.

python-socketio (5.x) finds the rooms of a leaving socket by scanning every room of the
namespace (`BaseManager.basic_disconnect`; `get_rooms` likewise). Every customer sits in two
rooms (its sid and its chat), so one disconnect costs O(sockets) and N sockets closing at once
cost O(N²): 8,000 took the server 23 s and 16,000 did not finish in 45 s, the event loop frozen
throughout (docs/benchmarks.md, "Chat sockets"). Here every way a socket enters or leaves a
room (connect, `enter_room`, `leave_room`, `close_room`, disconnect, and the same requests
arriving from other processes through Redis) ends in `basic_enter_room` / `basic_leave_room`,
which also keep `_rooms_of[namespace][sid]`; a disconnect then visits only that socket's rooms.

`manager.rooms` stays python-socketio's own structure, unchanged: the index sits beside it.
tests/test_room_index.py checks, on random operation sequences, that both managers end in the
same state as python-socketio's unpatched classes.
"""

from __future__ import annotations

from typing import Any

import socketio

Room = str | None
"""A room name; None is python-socketio's room of every socket of a namespace."""


class IndexedManager(socketio.AsyncManager):  # type: ignore[misc]
    """The in-process manager (python-socketio's default), with a disconnect in O(rooms of
    that socket) instead of O(rooms of the namespace)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A dict used as an ordered set: keyed by strings and None only, it is not tracked
        # by the garbage collector (a set would be: one more object per socket to walk).
        self._rooms_of: dict[str, dict[str, dict[Room, None]]] = {}
        """namespace → sid → the rooms that sid is in (None included), in joining order."""

    def basic_enter_room(
        self, sid: str, namespace: str, room: Room, eio_sid: str | None = None
    ) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        self._rooms_of.setdefault(namespace, {}).setdefault(sid, {})[room] = None

    def basic_leave_room(self, sid: str, namespace: str, room: Room) -> None:
        super().basic_leave_room(sid, namespace, room)
        of_namespace = self._rooms_of.get(namespace)
        mine = of_namespace.get(sid) if of_namespace is not None else None
        if of_namespace is None or mine is None:
            return
        mine.pop(room, None)
        if not mine:
            del of_namespace[sid]
            if not of_namespace:
                del self._rooms_of[namespace]

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        """python-socketio 5.x's BaseManager.basic_disconnect, with the rooms taken from the
        index instead of a scan of the namespace."""
        if namespace not in self.rooms:
            return
        for room in list(self._rooms_of.get(namespace, {}).get(sid, ())):
            self.basic_leave_room(sid, namespace, room)
        self.callbacks.pop(sid, None)
        for pending in (self.pending_connect, self.pending_disconnect):
            sids = pending.get(namespace)
            if sids is not None and sid in sids:
                sids.remove(sid)
                if not sids:
                    del pending[namespace]

    def get_rooms(self, sid: str, namespace: str) -> list[str]:
        """The rooms of `sid` (its own among them), in the order it joined them (python-
        socketio lists them in the order the rooms were created; nothing here relies on
        either)."""
        mine = self._rooms_of.get(namespace, {}).get(sid, {})
        return [room for room in mine if room is not None]


class IndexedRedisManager(IndexedManager, socketio.AsyncRedisManager):  # type: ignore[misc]
    """python-socketio's Redis manager (several signaling processes) with the same index:
    room changes published by other processes end in the same basic_* methods."""
