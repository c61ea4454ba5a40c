"""Customers: guests from the widget, or known people identified by the host site."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from signaling.db.schema import customers
from signaling.store import Record, record, records


async def create_customer(
    conn: AsyncConnection,
    *,
    org_id: int,
    external_id: str | None,
    name: str | None,
    email: str | None,
    vip: bool = False,
    attributes: dict[str, Any] | None = None,
) -> Record:
    result = await conn.execute(
        insert(customers)
        .values(
            org_id=org_id,
            external_id=external_id,
            name=name,
            email=email,
            vip=vip,
            attributes=attributes or {},
        )
        .returning(*customers.c)
    )
    created = record(result.first())
    assert created is not None
    return created


async def customer_by_external_id(
    conn: AsyncConnection, org_id: int, external_id: str
) -> Record | None:
    query = select(customers).where(
        customers.c.org_id == org_id, customers.c.external_id == external_id
    )
    return record((await conn.execute(query)).first())


async def customer_by_id(conn: AsyncConnection, customer_id: int) -> Record | None:
    return record(
        (await conn.execute(select(customers).where(customers.c.id == customer_id))).first()
    )


def customer_name_sync(conn: Connection, customer_id: int) -> str | None:
    """A customer's name (None if unnamed or unknown), inside Database.write_in_thread."""
    name = conn.execute(select(customers.c.name).where(customers.c.id == customer_id)).scalar()
    return None if name is None else str(name)


async def update_customer(conn: AsyncConnection, customer_id: int, changes: dict[str, Any]) -> None:
    if changes:
        await conn.execute(update(customers).where(customers.c.id == customer_id).values(**changes))


async def list_customers(
    conn: AsyncConnection,
    org_id: int,
    *,
    q: str | None,
    vip: bool | None,
    limit: int,
    offset: int,
) -> tuple[list[Record], int]:
    where = [customers.c.org_id == org_id]
    if q:
        needle = q.lower()  # autoescape: "%" and "_" typed by a person are literal
        where.append(
            or_(
                func.lower(customers.c.name).contains(needle, autoescape=True),
                func.lower(customers.c.email).contains(needle, autoescape=True),
                func.lower(customers.c.external_id).contains(needle, autoescape=True),
            )
        )
    if vip is not None:
        where.append(customers.c.vip == vip)
    total = (
        await conn.execute(select(func.count()).select_from(customers).where(*where))
    ).scalar_one()
    rows = await conn.execute(
        select(customers).where(*where).order_by(customers.c.id.desc()).limit(limit).offset(offset)
    )
    return records(rows), int(total)
