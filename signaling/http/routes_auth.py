"""Staff sign-in: password → short-lived token; refresh while the session lives; logout."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from signaling.db.schema import utcnow
from signaling.http import schemas, services
from signaling.http.api import ApiRequest, api, json_response
from signaling.store import users as user_store
from signaling.store.orgs import group_ids_of, org_by_id
from signaling.types import STAFF_ROLES, OrgId, Role, UserId
from signaling.wire import limit

STAFF = tuple(STAFF_ROLES)
# HttpOnly, SameSite=Strict, sent only to the login route: scripts never read it.
DEVICE_COOKIE = "la_device"


@dataclass(frozen=True)
class LoginRequest:
    email: str = field(metadata=limit(max_len=254, min_len=3))
    password: str = field(metadata=limit(max_len=1024, min_len=1))
    # The known-device token of an earlier sign-in, for clients without cookies.
    device_token: str | None = field(default=None, metadata=limit(max_len=1024))


def _token_for(call: ApiRequest, user: dict[str, Any], session_id: str) -> dict[str, Any]:
    auth = call.runtime.config.auth
    token, expires = call.runtime.signer.issue_staff(
        user_id=UserId(user["id"]),
        org_id=OrgId(user["org_id"]),
        role=Role(user["role"]),
        session_id=session_id,
        ttl=auth.staff_token_ttl_seconds,
    )
    return {"token": token, "expires_at": expires, "user": user_store.public_user(user)}


@api.route(
    "POST",
    "/api/auth/login",
    summary="Sign in with email and password",
    roles=None,
    body=LoginRequest,
    tag="auth",
    response=schemas.SIGNED_IN,
    errors=(401, 429),
)
async def login(call: ApiRequest) -> web.Response:
    req: LoginRequest = call.body
    rt = call.runtime
    device_token = req.device_token or call.request.cookies.get(DEVICE_COOKIE)
    signed = await services.sign_in(rt).login(req.email, req.password, device_token, call.ip)
    user = signed.user
    answer = _token_for(call, user, signed.session_id)
    ttl = rt.config.auth.device_token_ttl_days * 86400
    answer["device_token"], _ = rt.signer.issue_device(user_id=UserId(user["id"]), ttl=ttl)
    response = json_response(answer)
    response.set_cookie(
        DEVICE_COOKIE,
        answer["device_token"],
        max_age=ttl,
        path="/api/auth/login",
        httponly=True,
        samesite="Strict",
        secure=call.request.secure or rt.config.server.own_url.startswith("https://"),
    )
    return response


@api.route(
    "POST",
    "/api/auth/refresh",
    summary="Exchange a valid token for a fresh one",
    roles=STAFF,
    tag="auth",
    response=schemas.REFRESHED,
)
async def refresh(call: ApiRequest) -> dict[str, Any]:
    async with call.runtime.db.read() as conn:
        user = await user_store.user_by_id(conn, call.me.subject_id)
        session = await user_store.session_by_id(conn, call.me.session_id or "")
    assert user is not None and session is not None
    remaining = int((session["expires_at"] - utcnow()).total_seconds())
    result = _token_for(call, user, session["id"])
    result["expires_at"] = min(result["expires_at"], session["expires_at"])
    result["session_seconds_left"] = remaining
    return result


@api.route(
    "POST",
    "/api/auth/logout",
    summary="End this sign-in session everywhere",
    roles=STAFF,
    tag="auth",
    response=schemas.SIGNED_OUT,
)
async def logout(call: ApiRequest) -> dict[str, Any]:
    await services.sign_in(call.runtime).logout(call.actor)
    return {"signed_out": True}


@api.route(
    "GET",
    "/api/me",
    summary="Who this token belongs to",
    roles=STAFF,
    tag="auth",
    response=schemas.ME,
)
async def me(call: ApiRequest) -> dict[str, Any]:
    async with call.runtime.db.read() as conn:
        user = await user_store.user_by_id(conn, call.me.subject_id)
        org = await org_by_id(conn, call.me.org_id)
        groups = sorted(await group_ids_of(conn, call.me.subject_id))
    assert user is not None and org is not None
    return {
        "user": user_store.public_user(user),
        "org": {"id": org["id"], "slug": org["slug"], "name": org["name"]},
        "group_ids": groups,
        "token_expires_at": datetime.fromtimestamp(call.me.expires_at, UTC),
    }
