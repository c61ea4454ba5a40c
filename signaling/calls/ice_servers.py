"""call.ice_servers: the STUN and TURN servers a participant of a call is handed, in the shape
RTCPeerConnection's `iceServers` takes, its TURN entry with credentials of its own.

Only a party to a ringing or running call gets them, so TURN credentials cannot be farmed
by opening chats; each names its call and holder ("call-12-customer-5"), so one found in the
wrong hands, or in the TURN server's log, says whose it was, and it expires on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from signaling.auth.tokens import Principal
from signaling.auth.turn_credentials import turn_credential
from signaling.calls.service import CallService
from signaling.config import Config
from signaling.protocol import events as ev


class IceServers:
    """calls.ice_servers and turn.secret/ttl_seconds, turned into RTCIceServer dictionaries."""

    def __init__(self, urls: Sequence[str], secret: str = "", ttl_seconds: int = 3600) -> None:
        self.stun = [url for url in urls if url.startswith("stun")]
        self.turn = [url for url in urls if url.startswith("turn")]
        if self.turn and not secret:
            raise ValueError("TURN servers need the shared secret (turn.secret)")
        self._secret = secret
        self._ttl = ttl_seconds

    @classmethod
    def from_config(cls, config: Config) -> IceServers:
        return cls(config.calls.ice_servers, config.turn.secret, config.turn.ttl_seconds)

    def for_holder(self, holder: str, *, now: float | None = None) -> dict[str, Any]:
        """{"ice_servers": [{urls, username?, credential?}], "expires_at": datetime | None}."""
        servers: list[dict[str, Any]] = []
        expires_at = None
        if self.stun:
            servers.append({"urls": list(self.stun)})
        if self.turn:
            issued = turn_credential(self._secret, holder, self._ttl, now=now)
            servers.append(
                {
                    "urls": list(self.turn),
                    "username": issued.username,
                    "credential": issued.credential,
                }
            )
            expires_at = datetime.fromtimestamp(issued.expires_at, UTC)
        return {"ice_servers": servers, "expires_at": expires_at}


class CallIceServers:
    """Answers call.ice_servers for the call's customer and agent."""

    def __init__(self, calls: CallService, servers: IceServers) -> None:
        self._calls = calls
        self._servers = servers

    async def handout(self, principal: Principal, req: ev.CallRef) -> dict[str, Any]:
        call, party = await self._calls.unfinished(principal, req.call_id)
        return self._servers.for_holder(f"call-{call['id']}-{party.value}-{principal.subject_id}")
