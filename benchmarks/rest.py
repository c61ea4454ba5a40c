"""The orchestrator's few REST calls (health, admin sign-in, creating agents): synchronous
urllib on loopback, since they happen between phases and never under load."""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request
from typing import Any

TIMEOUT = 30.0


def call(
    base_url: str,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = None,
    timeout: float = TIMEOUT,
) -> tuple[int, Any]:
    """(HTTP status, decoded JSON body); HTTP errors are answers here, not exceptions."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base_url + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def connected_sockets(base_url: str, *, timeout: float = TIMEOUT) -> tuple[int, int]:
    """(customer sockets, staff sockets) as the server counts them, from /healthz."""
    _status, body = call(base_url, "GET", "/healthz", timeout=timeout)
    sio = body["components"]["socketio"]
    return int(sio["customers"]), int(sio["staff"])


def sign_in(base_url: str, email: str, password: str) -> str:
    status, body = call(base_url, "POST", "/api/auth/login", {"email": email, "password": password})
    if status != 200:
        raise RuntimeError(f"sign-in of {email} failed: HTTP {status} {body}")
    return str(body["token"])


def create_agents(
    base_url: str, admin_token: str, count: int, *, max_chats: int
) -> list[tuple[str, str]]:
    """Agents that take any 'general' chat in English, each up to `max_chats` at once."""
    accounts = []
    for index in range(count):
        email = f"bench-agent-{index}@bench.local"
        password = "Bench-" + secrets.token_urlsafe(12)
        status, body = call(
            base_url,
            "POST",
            "/api/users",
            {
                "email": email,
                "name": f"Bench Agent {index}",
                "role": "agent",
                "password": password,
                "skills": ["general"],
                "languages": ["en"],
                "max_chats": max_chats,
            },
            token=admin_token,
        )
        if status != 201:
            raise RuntimeError(f"creating agent {email} failed: HTTP {status} {body}")
        accounts.append((email, password))
    return accounts
