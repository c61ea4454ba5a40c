"""The waiting line: VIP first, then priority, then longest wait; picks the least-loaded agent."""

from __future__ import annotations

import math
from dataclasses import dataclass

from signaling.routing.presence import AgentState, PresenceRegistry
from signaling.types import PRIORITY_RANK, TicketPriority


@dataclass(frozen=True)
class QueueEntry:
    chat_id: int
    org_id: int
    topic: str
    language: str
    vip: bool
    priority: TicketPriority
    queued_at: float
    customer_name: str
    group_id: int | None
    # The agent who just handed this chat back (transfer to a group) does not get it again.
    avoid_user_id: int | None = None

    @property
    def order(self) -> tuple[int, int, float, int]:
        return (0 if self.vip else 1, -PRIORITY_RANK[self.priority], self.queued_at, self.chat_id)

    def to_wire(self, position: int) -> dict[str, object]:
        return {
            "chat_id": self.chat_id,
            "topic": self.topic,
            "language": self.language,
            "vip": self.vip,
            "priority": self.priority.value,
            "queued_at": self.queued_at,
            "customer_name": self.customer_name,
            "group_id": self.group_id,
            "position": position,
        }


@dataclass(frozen=True)
class WaitEstimate:
    position: int
    agents_online: int
    expected_wait_seconds: int | None

    def to_wire(self, chat_id: int) -> dict[str, object]:
        return {
            "chat_id": chat_id,
            "position": self.position,
            "agents_online": self.agents_online,
            "expected_wait_seconds": self.expected_wait_seconds,
        }


class ChatQueue:
    def __init__(self, presence: PresenceRegistry) -> None:
        self._presence = presence
        self._entries: dict[int, QueueEntry] = {}

    def __contains__(self, chat_id: int) -> bool:
        return chat_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, entry: QueueEntry) -> None:
        self._entries[entry.chat_id] = entry

    def remove(self, chat_id: int) -> QueueEntry | None:
        return self._entries.pop(chat_id, None)

    def ordered(self, org_id: int | None = None) -> list[QueueEntry]:
        entries = list(self._entries.values())
        if org_id is not None:
            entries = [e for e in entries if e.org_id == org_id]
        return sorted(entries, key=lambda e: e.order)

    def best_agent(self, entry: QueueEntry) -> AgentState | None:
        """Least-loaded free agent with the skill and language; ties go to the longest idle."""
        candidates = [
            a
            for a in self._presence.in_org(entry.org_id)
            if a.can_take(entry.topic, entry.language) and a.user_id != entry.avoid_user_id
        ]
        if not candidates:
            return None
        return min(candidates, key=lambda a: (a.load / a.max_chats, a.last_assigned, a.user_id))

    def position(self, entry: QueueEntry) -> int:
        """1-based place among chats waiting for the same topic and language."""
        ahead = [
            e
            for e in self.ordered(entry.org_id)
            if e.topic == entry.topic and e.language == entry.language and e.order < entry.order
        ]
        return len(ahead) + 1

    def estimate(self, entry: QueueEntry, handle_seconds: float) -> WaitEstimate:
        """Expected wait: each serving agent frees a slot every handle_seconds / max_chats."""
        serving = [
            a for a in self._presence.in_org(entry.org_id) if a.serves(entry.topic, entry.language)
        ]
        position = self.position(entry)
        if not serving:
            return WaitEstimate(position=position, agents_online=0, expected_wait_seconds=None)
        slots_per_second = sum(a.max_chats for a in serving) / max(handle_seconds, 1.0)
        wait = math.ceil(position / slots_per_second)
        return WaitEstimate(
            position=position, agents_online=len(serving), expected_wait_seconds=wait
        )
