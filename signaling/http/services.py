"""The services REST routes hand their changes to, built from the Runtime's parts. They
hold references only, so building one per request costs an object, and the routes stay
free of the database's write side (tests/test_layering.py). Were the Runtime to own them
(built once in Runtime.build), each function here would become one of its fields."""

from __future__ import annotations

from typing import TYPE_CHECKING

from signaling.accounts.staff import StaffAccounts
from signaling.auth.sign_in import StaffSignIn
from signaling.chat.attachments import ChatAttachments
from signaling.customers.service import CustomerService
from signaling.kb.service import KnowledgeBase
from signaling.recordings.service import RecordingService
from signaling.reviews.comments import ReviewComments
from signaling.reviews.rubrics import RubricService
from signaling.reviews.service import ReviewService
from signaling.tickets.service import TicketService
from signaling.webhooks.service import WebhookService

if TYPE_CHECKING:
    from signaling.runtime import Runtime


def staff_accounts(rt: Runtime) -> StaffAccounts:
    return StaffAccounts(rt.db, rt.passwords, rt.refresh_agent)


def customers(rt: Runtime) -> CustomerService:
    return CustomerService(rt.db, rt.names)


def tickets(rt: Runtime) -> TicketService:
    return TicketService(rt.db, rt.chats, rt.notifier)


def reviews(rt: Runtime) -> ReviewService:
    return ReviewService(rt.db, rt.names)


def review_comments(rt: Runtime) -> ReviewComments:
    return ReviewComments(rt.db, rt.names)


def rubrics(rt: Runtime) -> RubricService:
    return RubricService(rt.db, rt.names)


def recordings(rt: Runtime) -> RecordingService:
    return RecordingService(rt.db, rt.recorder_root, rt.media_jobs.wake)


def sign_in(rt: Runtime) -> StaffSignIn:
    return StaffSignIn(
        rt.db,
        rt.passwords,
        rt.signer,
        rt.limits.login,
        rt.config.auth.staff_session_max_seconds,
        rt.revoke_session,
    )


def chat_attachments(rt: Runtime) -> ChatAttachments:
    return ChatAttachments(rt.db, rt.chats, rt.attachments)


def webhooks(rt: Runtime) -> WebhookService:
    return WebhookService(rt.db, rt.webhook_policy, rt.webhooks.wake)


def knowledge_base(rt: Runtime) -> KnowledgeBase:
    return KnowledgeBase(rt.db)
