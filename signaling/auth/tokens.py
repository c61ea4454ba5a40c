"""Signed, short-lived bearer tokens (JWT, HS256) shared by REST and Socket.IO.

Staff tokens name an auth session (revocable: logout, deactivation); guest tokens name the
one chat session they were issued for and nothing else.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import jwt

from signaling.errors import TokenExpired, Unauthenticated
from signaling.types import ChatId, CustomerId, OrgId, Role, UserId

ISSUER = "liveassist"
# Device tokens carry an audience, so they are never accepted as bearer tokens (PyJWT refuses
# a token with an audience when none is expected) and bearer tokens are never device tokens.
DEVICE_AUDIENCE = "liveassist:device"
# Media links (a recording's file, for a <video> element) likewise: a link is not a sign-in.
MEDIA_AUDIENCE = "liveassist:media"


@dataclass(frozen=True)
class MediaLink:
    """Who may fetch which recording file until when (a short-lived signed link)."""

    file_id: int
    org_id: int
    user_id: int


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request or socket."""

    role: Role
    org_id: OrgId
    subject_id: int
    session_id: str | None = None
    chat_id: ChatId | None = None
    expires_at: float = 0.0

    @property
    def is_customer(self) -> bool:
        return self.role is Role.CUSTOMER

    @property
    def user_id(self) -> UserId:
        if self.is_customer:
            raise Unauthenticated("a customer token does not name a staff user")
        return UserId(self.subject_id)

    @property
    def customer_id(self) -> CustomerId:
        if not self.is_customer:
            raise Unauthenticated("a staff token does not name a customer")
        return CustomerId(self.subject_id)


@dataclass(frozen=True)
class DeviceClaim:
    """A browser or app that once signed in to this account with the right password."""

    user_id: int
    device_id: str


class TokenSigner:
    def __init__(self, secret: str) -> None:
        if len(secret) < 32:
            raise ValueError("token secret must have at least 32 characters")
        self._secret = secret

    def issue_staff(
        self, *, user_id: UserId, org_id: OrgId, role: Role, session_id: str, ttl: int
    ) -> tuple[str, datetime]:
        return self._issue(
            {"sub": str(user_id), "org": org_id, "role": role.value, "sid": session_id}, ttl
        )

    def issue_guest(
        self, *, customer_id: CustomerId, org_id: OrgId, chat_id: ChatId, ttl: int
    ) -> tuple[str, datetime]:
        return self._issue(
            {"sub": str(customer_id), "org": org_id, "role": Role.CUSTOMER.value, "chat": chat_id},
            ttl,
        )

    def issue_device(self, *, user_id: UserId, ttl: int) -> tuple[str, datetime]:
        """A known-device token, handed out at a successful sign-in (OWASP's device cookie)."""
        return self._issue(
            {"sub": str(user_id), "aud": DEVICE_AUDIENCE, "did": secrets.token_hex(12)}, ttl
        )

    def verify_device(self, token: object) -> DeviceClaim | None:
        """The device a token names, or None for anything else: a device token that does not
        check out only means "not a known device", never an error."""
        if not isinstance(token, str) or not token or len(token) > 1024:
            return None
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                issuer=ISSUER,
                audience=DEVICE_AUDIENCE,
                options={"require": ["exp", "iat", "sub", "did", "aud"]},
            )
            return DeviceClaim(user_id=int(claims["sub"]), device_id=str(claims["did"]))
        except (jwt.InvalidTokenError, ValueError, TypeError):
            return None

    def issue_media_link(
        self, *, file_id: int, org_id: int, user_id: int, ttl: int
    ) -> tuple[str, datetime]:
        return self._issue(
            {"sub": str(user_id), "aud": MEDIA_AUDIENCE, "file": file_id, "org": org_id}, ttl
        )

    def verify_media_link(self, token: object) -> MediaLink:
        """The file a link names; Unauthenticated (or TokenExpired) for anything else."""
        if not isinstance(token, str) or not token or len(token) > 1024:
            raise Unauthenticated("not a media link")
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                issuer=ISSUER,
                audience=MEDIA_AUDIENCE,
                options={"require": ["exp", "iat", "sub", "file", "org", "aud"]},
            )
            return MediaLink(int(claims["file"]), int(claims["org"]), int(claims["sub"]))
        except jwt.ExpiredSignatureError:
            raise TokenExpired("this link has expired; open the recording again") from None
        except (jwt.InvalidTokenError, ValueError, TypeError) as exc:
            raise Unauthenticated(f"invalid media link: {exc}") from None

    def _issue(self, claims: dict[str, object], ttl: int) -> tuple[str, datetime]:
        now = int(time.time())
        expires = now + ttl
        payload = {**claims, "iss": ISSUER, "iat": now, "exp": expires, "jti": secrets.token_hex(8)}
        token = jwt.encode(payload, self._secret, algorithm="HS256")
        return token, datetime.fromtimestamp(expires, UTC)

    def verify(self, token: object) -> Principal:
        """Decode and check a token; raises Unauthenticated/TokenExpired with a reason."""
        if not isinstance(token, str) or not token:
            raise Unauthenticated("missing token")
        if len(token) > 4096:
            raise Unauthenticated("token too long")
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "role", "org"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenExpired("token expired; sign in again") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"invalid token: {exc}") from None
        try:
            role = Role(claims["role"])
            principal = Principal(
                role=role,
                org_id=OrgId(int(claims["org"])),
                subject_id=int(claims["sub"]),
                session_id=claims.get("sid"),
                chat_id=ChatId(int(claims["chat"])) if "chat" in claims else None,
                expires_at=float(claims["exp"]),
            )
        except (ValueError, KeyError, TypeError):
            raise Unauthenticated("invalid token: malformed claims") from None
        if role is Role.CUSTOMER and principal.chat_id is None:
            raise Unauthenticated("invalid token: guest token without chat")
        if role is not Role.CUSTOMER and not principal.session_id:
            raise Unauthenticated("invalid token: staff token without session")
        return principal
