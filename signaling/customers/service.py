"""Changing a customer's record (staff who may see the customer): details, the VIP flag,
attributes. Every change is audited, and a new name is what chats show from then on."""

from __future__ import annotations

from typing import Any

from signaling.auth import access
from signaling.auth.actor import Actor
from signaling.db.database import Database
from signaling.store import Record
from signaling.store import customers as customer_store
from signaling.transcript.views import NameBook


class CustomerService:
    def __init__(self, db: Database, names: NameBook) -> None:
        self._db = db
        self._names = names

    async def update(self, actor: Actor, customer_id: int, changes: dict[str, Any]) -> Record:
        """Apply `changes` (column: new value); the customer as it is now."""
        async with self._db.write() as conn:
            customer = access.check_view_customer(
                actor.principal, await customer_store.customer_by_id(conn, customer_id)
            )
            await customer_store.update_customer(conn, customer["id"], changes)
            await actor.audit(
                conn,
                "customer.update",
                target_type="customer",
                target_id=customer["id"],
                detail={"fields": sorted(changes)},
            )
            updated = await customer_store.customer_by_id(conn, customer["id"])
        if "name" in changes:
            self._names.remember_customer(customer["id"], changes["name"])
        assert updated is not None
        return updated
