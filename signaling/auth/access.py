"""Authorisation rules in one place: what each role may see and change.

Rules are plain functions over records, so REST handlers and Socket.IO events ask the same
question the same way and a test can walk every role through every rule. Lists ask the same
rules as SQL through `ListScope`, built here from the same facts.

What a staff member may see:
- chats and tickets: admins and QA reviewers every one of their organisation; agents those
  assigned to them or in one of their groups. A ticket carries its chat transcripts: whoever
  may see the ticket reads them with it (that is how an escalation group follows up).
- calls: admins and QA reviewers every one of their organisation; agents only their own
  calls; customers only the call of their one chat.
- knowledge-base articles: admins read every one of their organisation, drafts included;
  everyone else (agents, QA reviewers, customers with their chat's token) the published ones
  of their organisation. Macros are filled only from a chat the staff member may write in.
- QA reviews of calls: admins and QA reviewers read and write every one of their
  organisation; agents read the done reviews of their own calls (never drafts, never their
  history) and write none; customers never see one. Rubrics: admins write them, admins and
  QA reviewers read them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from signaling.auth.tokens import Principal
from signaling.errors import Forbidden, NotFound
from signaling.store import Record
from signaling.types import ReviewState, Role


@dataclass(frozen=True)
class ListScope:
    """The `can_view_*` rules as filters for list queries: the organisation, and for agents
    the user and groups a record must be assigned to or in."""

    org_id: int
    user_id: int | None  # None: the whole organisation
    group_ids: frozenset[int] | None  # None: any group (for calls: never group-based)


def list_scope(principal: Principal, group_ids: Collection[int]) -> ListScope:
    """What list routes of chats, tickets and calls may return to this staff member."""
    if principal.role is Role.CUSTOMER:
        raise Forbidden("customers do not list records")
    if principal.role is Role.AGENT:
        return ListScope(principal.org_id, principal.subject_id, frozenset(group_ids))
    return ListScope(principal.org_id, None, None)


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


def can_view_call(principal: Principal, call: Record) -> bool:
    if not _same_org(principal, call):
        return False
    if principal.role is Role.CUSTOMER:
        return bool(call["chat_id"] == principal.chat_id)
    if principal.role in (Role.ADMIN, Role.QA):
        return True
    return bool(call["agent_id"] == principal.subject_id)


def check_view_call(principal: Principal, call: Record | None, call_id: int) -> Record:
    if call is None or not can_view_call(principal, call):
        raise NotFound(f"no call {call_id}")
    return call


def can_view_recording(principal: Principal, recording: Record) -> bool:
    """Recordings: QA reviewers and admins of the organisation, and the call's own agent;
    never customers (a recording summary carries its call's agent_id)."""
    if principal.role is Role.CUSTOMER or not _same_org(principal, recording):
        return False
    if principal.role in (Role.ADMIN, Role.QA):
        return True
    return bool(recording["agent_id"] == principal.subject_id)


def check_view_recording(principal: Principal, recording: Record | None, rec_id: int) -> Record:
    if recording is None or not can_view_recording(principal, recording):
        raise NotFound(f"no recording {rec_id}")
    return recording


def check_view_customer(principal: Principal, customer: Record | None) -> Record:
    if customer is None or principal.role is Role.CUSTOMER or not _same_org(principal, customer):
        raise NotFound("no such customer")
    return customer


def can_view_review(principal: Principal, call: Record, review: Record | None) -> bool:
    """A call's review (`review` None: whether one would be shown once it exists)."""
    if not _same_org(principal, call) or principal.role is Role.CUSTOMER:
        return False
    if principal.role in (Role.ADMIN, Role.QA):
        return True
    own = call["agent_id"] == principal.subject_id
    return bool(own and (review is None or review["state"] == ReviewState.DONE.value))


def check_view_review(principal: Principal, call: Record | None, review: Record | None) -> Record:
    """The review, if this caller may read it; otherwise the NotFound of a missing one."""
    if call is None or review is None or not can_view_review(principal, call, review):
        raise NotFound("no such review")
    return review


def check_review_call(principal: Principal, call: Record | None, call_id: int) -> Record:
    """Scoring and commenting a call: its organisation's QA reviewers and admins. The call's
    own agent is told they may only read; anyone else learns nothing of the call."""
    if call is None or not can_view_call(principal, call):
        raise NotFound(f"no call {call_id}")
    if principal.role not in (Role.ADMIN, Role.QA):
        raise Forbidden(
            "agents read the reviews of their calls; QA reviewers and admins write them"
        )
    return call


def check_edit_comment(principal: Principal, comment: Record) -> None:
    """A review comment is changed or deleted by its author, or by an admin."""
    if principal.role is Role.ADMIN or comment["author_id"] == principal.subject_id:
        return
    raise Forbidden("only its author or an admin may change this comment")


def check_view_rubric(principal: Principal, rubric: Record | None) -> Record:
    if rubric is None or not _same_org(principal, rubric):
        raise NotFound("no such rubric")
    return rubric


def check_view_article(principal: Principal, article: Record | None, article_id: int) -> Record:
    """A draft is an admin's; another organisation's article does not exist for the caller."""
    if article is None or not _same_org(principal, article):
        raise NotFound(f"no article {article_id}")
    if not article["published"] and principal.role is not Role.ADMIN:
        raise NotFound(f"no article {article_id}")
    return article


def check_write_chat_staff(
    principal: Principal, chat: Record | None, group_ids: Collection[int]
) -> Record:
    """A macro is filled for a chat the staff member sees and may write in (its agent)."""
    chat = check_view_chat(principal, chat, group_ids)
    check_write_chat(principal, chat)
    return chat
