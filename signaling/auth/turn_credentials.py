"""TURN REST API credentials (draft-uberti-behave-turn-rest-00), the scheme coturn checks with
`use-auth-secret` / `static-auth-secret`.

Nothing is stored: the username carries its own expiry and the name of whom it was issued to,
and the password is an HMAC of the username under the secret signaling and the TURN server
share, so the TURN server recomputes and checks it on its own. A leaked credential stops
opening allocations at its expiry, and the TURN server's log names the participant it was for.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from dataclasses import dataclass

HOLDER = re.compile(r"[A-Za-z0-9_.-]{1,64}")
"""Who a credential names: no ':' (coturn reads the expiry up to the first one)."""


@dataclass(frozen=True)
class TurnCredential:
    """An RTCIceServer's `username` and `credential`, and when the username expires."""

    username: str
    credential: str
    expires_at: int
    """Unix seconds: the TURN server refuses new allocations with it from then on."""


def turn_credential(
    secret: str, holder: str, ttl_seconds: int, *, now: float | None = None
) -> TurnCredential:
    """username = "<unix expiry>:<holder>", credential = base64(HMAC-SHA1(secret, username)).

    SHA-1 is what coturn computes here (as an HMAC it is not broken)."""
    if not secret:
        raise ValueError("a TURN credential needs the shared secret")
    if not HOLDER.fullmatch(holder):
        raise ValueError(f"holder {holder!r} must be 1-64 characters of A-Za-z0-9_.-")
    expires_at = int(time.time() if now is None else now) + ttl_seconds
    username = f"{expires_at}:{holder}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return TurnCredential(username, base64.b64encode(digest).decode("ascii"), expires_at)
