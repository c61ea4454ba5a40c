"""How a webhook request is signed, and how a receiver checks it (docs/protocol.md, Webhooks).

signature = hex(HMAC-SHA256(secret, f"{timestamp}.".encode() + body)), sent as
`X-LiveAssist-Signature: v1=<hex>` with `X-LiveAssist-Timestamp: <unix seconds>`. The
timestamp is fresh on every attempt, so a receiver may refuse anything older than
REPLAY_WINDOW_SECONDS; the event id (the same on every attempt) tells retries apart.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

SCHEME = "v1"
TIMESTAMP_HEADER = "X-LiveAssist-Timestamp"
SIGNATURE_HEADER = "X-LiveAssist-Signature"
EVENT_ID_HEADER = "X-LiveAssist-Event-Id"
EVENT_TYPE_HEADER = "X-LiveAssist-Event-Type"
DELIVERY_HEADER = "X-LiveAssist-Delivery"
ATTEMPT_HEADER = "X-LiveAssist-Attempt"
REPLAY_WINDOW_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return mac.hexdigest()


def signed_headers(secret: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: f"{SCHEME}={signature(secret, timestamp, body)}",
    }


class BadSignature(ValueError):
    """A request that is not from LiveAssist, was altered, or is too old."""


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: float = REPLAY_WINDOW_SECONDS,
    now: float | None = None,
) -> None:
    """What a receiver does (in any language; this is the reference): raises BadSignature."""
    raw_time = headers.get(TIMESTAMP_HEADER, "")
    if not raw_time.isdigit():
        raise BadSignature(f"missing or malformed {TIMESTAMP_HEADER}")
    timestamp = int(raw_time)
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        raise BadSignature("timestamp outside the replay window")
    expected = signature(secret, timestamp, body)
    offered = [
        part.split("=", 1)[1]
        for part in headers.get(SIGNATURE_HEADER, "").split(",")
        if part.strip().startswith(f"{SCHEME}=")
    ]
    if not any(hmac.compare_digest(expected, candidate.strip()) for candidate in offered):
        raise BadSignature("signature does not match")
