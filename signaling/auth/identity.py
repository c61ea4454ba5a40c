"""Host-site identity: the host signs its customer id with the organisation's secret, so the
widget's chat is linked to a known customer without the customer being able to claim another."""

from __future__ import annotations

import hashlib
import hmac

from signaling.errors import Unauthenticated


def sign_identity(secret: str, external_id: str) -> str:
    """What a host site computes server-side: hex HMAC-SHA256 of the customer's external id."""
    return hmac.new(secret.encode(), external_id.encode(), hashlib.sha256).hexdigest()


def verify_identity(secret: str, external_id: str, signature: str) -> None:
    if not hmac.compare_digest(sign_identity(secret, external_id), signature.lower()):
        raise Unauthenticated("identity signature does not match this organisation's secret")
