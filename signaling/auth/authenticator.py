"""Turns a bearer token into a Principal, checking the sign-in session is still live."""

from __future__ import annotations

from signaling.auth.tokens import Principal, TokenSigner
from signaling.db.database import Database
from signaling.db.schema import utcnow
from signaling.errors import Unauthenticated
from signaling.store import chats as chat_store
from signaling.store import users as user_store


class Authenticator:
    def __init__(self, db: Database, signer: TokenSigner) -> None:
        self._db = db
        self.signer = signer

    async def principal(self, token: object) -> Principal:
        principal = self.signer.verify(token)
        async with self._db.read() as conn:
            if principal.is_customer:
                chat = await chat_store.chat_by_id(conn, principal.chat_id or 0)
                if chat is None or chat["customer_id"] != principal.subject_id:
                    raise Unauthenticated("this guest token's chat no longer exists")
                # An ended chat stays readable (transcript, rating) while its token lives.
                return principal
            session = await user_store.session_by_id(conn, principal.session_id or "")
            problem = user_store.session_usable(session, utcnow())
            if problem:
                raise Unauthenticated(problem)
            user = await user_store.user_by_id(conn, principal.subject_id)
            if user is None or not user["active"]:
                raise Unauthenticated("this account is deactivated")
            if user["role"] != principal.role.value:
                raise Unauthenticated("this account's role changed; sign in again")
        return principal
