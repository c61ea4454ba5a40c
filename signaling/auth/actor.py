"""Who asks for a change, and from where: what a service needs to check the change and to
write its audit line, without knowing whether the request came over REST or a socket."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from signaling.auth.tokens import Principal
from signaling.store.audit import audit


@dataclass(frozen=True)
class Actor:
    principal: Principal
    ip: str | None = None
    """The address the request came from, as the audit log keeps it."""

    async def audit(
        self,
        conn: AsyncConnection,
        action: str,
        *,
        target_type: str | None = None,
        target_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """An audit-log line for what this actor just did, in the change's own transaction."""
        await audit(
            conn,
            org_id=self.principal.org_id,
            actor_type=self.principal.role.value,
            actor_id=self.principal.subject_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            detail=detail,
            ip=self.ip,
        )
