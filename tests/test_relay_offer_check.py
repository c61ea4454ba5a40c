"""What the relay refuses before aiortc parses an offer (relay/rtc/offer_check.py)."""

from __future__ import annotations

import pytest

from relay.interface import BadOffer
from relay.rtc.offer_check import check_offer
from tests.test_calls import three_line_offer


async def test_an_offer_without_a_dtls_fingerprint_is_refused() -> None:
    """aiortc answers such an offer and then completes DTLS with whoever connects,
    unverified: the relay must not."""
    offer = await three_line_offer()
    check_offer(offer)  # the real one passes
    stripped = "\r\n".join(line for line in offer.split("\r\n") if "a=fingerprint:" not in line)
    with pytest.raises(BadOffer, match="no DTLS fingerprint"):
        check_offer(stripped)
