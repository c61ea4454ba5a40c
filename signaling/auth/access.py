"""Authorisation rules in one place: what each role may see and change.

Rules are plain functions over records, so REST handlers and Socket.IO events ask the same
question the same way and a test can walk every role through every rule.
"""

from __future__ import annotations

from collections.abc import Collection

from signaling.auth.tokens import Principal
from signaling.errors import Forbidden, NotFound
from signaling.store import Record
from signaling.types import Role


def require_role(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        allowed = ", ".join(role.value for role in roles)
        raise Forbidden(f"this needs one of the roles: {allowed}; you are {principal.role.value}")


def _same_org(principal: Principal, record: Record) -> bool:
    return bool(record["org_id"] == principal.org_id)


def can_view_chat(principal: Principal, chat: Record, group_ids: Collection[int]) -> bool:
    if not _same_org(principal, chat):
        return False
    if principal.role is Role.CUSTOMER:
        return bool(chat["id"] == principal.chat_id)
    if principal.role in (Role.ADMIN, Role.QA):
        return True
    return chat["assignee_id"] == principal.subject_id or chat["group_id"] in group_ids


def check_view_chat(
    principal: Principal, chat: Record | None, group_ids: Collection[int]
) -> Record:
    """The chat, if this caller may see it; otherwise the same NotFound as a missing chat,
    so ids of other people's chats cannot be probed."""
    if chat is None or not can_view_chat(principal, chat, group_ids):
        raise NotFound("no such chat")
    return chat


def check_write_chat(principal: Principal, chat: Record) -> None:
    """Posting messages: the customer of the chat, or the agent it is assigned to."""
    if principal.role is Role.CUSTOMER:
        if chat["id"] != principal.chat_id:
            raise NotFound("no such chat")
        return
    if principal.role is Role.AGENT and chat["assignee_id"] == principal.subject_id:
        return
    raise Forbidden("only the customer and the assigned agent may write in this chat")


def check_manage_chat(principal: Principal, chat: Record) -> None:
    """Transfer, close, escalate: the assigned agent or an admin of the organisation."""
    if not _same_org(principal, chat):
        raise NotFound("no such chat")
    if principal.role is Role.ADMIN:
        return
    if principal.role is Role.AGENT and chat["assignee_id"] == principal.subject_id:
        return
    raise Forbidden("only the assigned agent or an admin may do this with the chat")


def can_view_ticket(principal: Principal, ticket: Record, group_ids: Collection[int]) -> bool:
    if not _same_org(principal, ticket) or principal.role is Role.CUSTOMER:
        return False
    if principal.role in (Role.ADMIN, Role.QA):
        return True
    return ticket["assignee_id"] == principal.subject_id or ticket["group_id"] in group_ids


def check_view_ticket(
    principal: Principal, ticket: Record | None, group_ids: Collection[int]
) -> Record:
    if ticket is None or not can_view_ticket(principal, ticket, group_ids):
        raise NotFound("no such ticket")
    return ticket


def check_edit_ticket(principal: Principal, ticket: Record, group_ids: Collection[int]) -> None:
    check_view_ticket(principal, ticket, group_ids)
    if principal.role is Role.QA:
        raise Forbidden("QA reviewers read tickets; they do not change them")


def check_view_customer(principal: Principal, customer: Record | None) -> Record:
    if customer is None or principal.role is Role.CUSTOMER or not _same_org(principal, customer):
        raise NotFound("no such customer")
    return customer
