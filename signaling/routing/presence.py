"""Agent presence: status chosen by the agent, sockets that are connected, chats being handled.

An agent with no socket left goes offline only after a grace period, so a page reload or a
short network drop does not take their chats away.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from signaling.types import Presence


@dataclass
class AgentState:
    user_id: int
    org_id: int
    name: str
    skills: frozenset[str]
    languages: frozenset[str]
    max_chats: int
    group_ids: frozenset[int]
    is_admin: bool = False
    status: Presence = Presence.OFFLINE
    sids: set[str] = field(default_factory=set)
    chats: set[int] = field(default_factory=set)
    last_assigned: float = 0.0
    offline_timer: asyncio.TimerHandle | None = None

    @property
    def load(self) -> int:
        return len(self.chats)

    def can_take(self, topic: str, language: str) -> bool:
        """Free to receive this new chat now: online and connected (not within the grace
        period of a reload or a restart), below capacity, with skill and language."""
        if self.status is not Presence.ONLINE or not self.sids or self.load >= self.max_chats:
            return False
        if language not in self.languages:
            return False
        return topic == "general" or topic in self.skills

    def serves(self, topic: str, language: str) -> bool:
        """Could take this chat when free (used for wait estimates)."""
        return (
            self.status is Presence.ONLINE
            and language in self.languages
            and (topic == "general" or topic in self.skills)
        )

    def to_wire(self) -> dict[str, object]:
        return {
            "user_id": self.user_id,
            "name": self.name,
            "status": self.status.value,
            "load": self.load,
            "max_chats": self.max_chats,
        }


class PresenceRegistry:
    """In-process registry of agents known to this signaling server."""

    def __init__(self) -> None:
        self._agents: dict[int, AgentState] = {}

    def get(self, user_id: int) -> AgentState | None:
        return self._agents.get(user_id)

    def put(self, state: AgentState) -> AgentState:
        existing = self._agents.get(state.user_id)
        if existing is not None:
            # Refresh profile fields (skills may have changed) but keep live state.
            existing.name, existing.skills, existing.languages = (
                state.name,
                state.skills,
                state.languages,
            )
            existing.max_chats, existing.group_ids = state.max_chats, state.group_ids
            return existing
        self._agents[state.user_id] = state
        return state

    def in_org(self, org_id: int) -> list[AgentState]:
        return [a for a in self._agents.values() if a.org_id == org_id]

    def all(self) -> list[AgentState]:
        return list(self._agents.values())

    def online_count(self) -> int:
        return sum(1 for a in self._agents.values() if a.status is Presence.ONLINE)
