"""Staff sign-in sessions: opening one with email and password, ending one. A guesser is
slowed down by the login throttle before the password is even checked, a missing account
answers like a wrong password (same time, same message), and every attempt, good or bad,
is in the audit log. Signing out closes the session's sockets too."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from signaling.auth.actor import Actor
from signaling.auth.login_throttle import LoginSource, LoginThrottle
from signaling.auth.passwords import Passwords
from signaling.auth.tokens import TokenSigner
from signaling.db.database import Database
from signaling.errors import Unauthenticated
from signaling.store import Record
from signaling.store import users as user_store
from signaling.store.audit import audit


@dataclass(frozen=True)
class SignedIn:
    """An open session: the caller issues its tokens."""

    user: Record
    session_id: str


class StaffSignIn:
    def __init__(
        self,
        db: Database,
        passwords: Passwords,
        signer: TokenSigner,
        throttle: LoginThrottle,
        session_max_seconds: int,
        close_sockets: Callable[[int, str], Awaitable[None]],
    ) -> None:
        self._db = db
        self._passwords = passwords
        self._signer = signer
        self._throttle = throttle
        self._session_max_seconds = session_max_seconds
        self._close_sockets = close_sockets
        """Closes the sockets of a (user, session) that just ended, wherever they are held."""

    async def login(self, email: str, password: str, device_token: str | None, ip: str) -> SignedIn:
        """A new session for the active account `email` names, if `password` is its own;
        `device_token` is the known-device token of an earlier sign-in, if the client has
        one. Unauthenticated otherwise, RateLimited while the source must wait."""
        email = email.strip().lower()
        async with self._db.read() as conn:
            user = await user_store.user_by_email(conn, email)
        device = self._signer.verify_device(device_token)
        known = device is not None and user is not None and device.user_id == user["id"]
        source = LoginSource(ip, device.device_id if device is not None and known else None)
        # A source that failed too often waits before its password is even checked.
        await self._throttle.before(email, source)
        # Verified against a decoy hash when the account does not exist: same time, same answer.
        ok = await self._passwords.verify(user["password_hash"] if user else None, password)
        if not ok or user is None or not user["active"]:
            await self._throttle.failed(email, source)
            async with self._db.write() as conn:
                await audit(
                    conn,
                    org_id=user["org_id"] if user else None,
                    actor_type="anonymous",
                    actor_id=None,
                    action="auth.login_failed",
                    detail={"email": email, "known_device": source.known},
                    ip=ip,
                )
            raise Unauthenticated("wrong email or password")
        await self._throttle.succeeded(email, source)
        async with self._db.write() as conn:
            session = await user_store.open_session(
                conn, user_id=user["id"], max_seconds=self._session_max_seconds, ip=ip
            )
            await audit(
                conn,
                org_id=user["org_id"],
                actor_type=user["role"],
                actor_id=user["id"],
                action="auth.login",
                detail={"known_device": source.known},
                ip=ip,
            )
        return SignedIn(user, session["id"])

    async def logout(self, actor: Actor) -> None:
        """End the actor's session: its tokens stop working and its sockets close."""
        me = actor.principal
        async with self._db.write() as conn:
            await user_store.revoke_session(conn, me.session_id or "")
            await actor.audit(conn, "auth.logout")
        await self._close_sockets(me.subject_id, me.session_id or "")
