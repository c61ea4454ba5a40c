"""TURN through a real coturn (tests/turn.py, configured by docs/coturn/turnserver.conf):
the credentials signaling signs are the ones coturn accepts, and only while they are valid;
each participant of a call is handed its own; and participants that may use relay candidates
only, handed credentials coturn does not accept, gather nothing and carry nothing. (A call
through coturn that works: tests/test_browser_turn.py.)"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aioice import stun
from aioice.ice import get_host_addresses
from aioice.turn import TurnClientMixin, create_turn_endpoint

from loadtest.call_peer import CallPeer
from loadtest.clients import ProtocolError
from media.stamps import StampedVideoTrack
from signaling.auth.turn_credentials import turn_credential
from signaling.calls.ice_servers import IceServers
from signaling.config import load_config
from tests.conftest import start_server
from tests.test_calls import SMALL, chat_pair, ring_and_accept
from tests.turn import TurnServer

STUN_URL = "stun:stun.example.org:3478"


async def allocate(turn: TurnServer, username: str, password: str) -> TurnClientMixin:
    """A TURN allocation on `turn` (raises stun.TransactionFailed when refused)."""
    transport, _ = await create_turn_endpoint(
        asyncio.DatagramProtocol, (turn.host, turn.port), username, password
    )
    client: TurnClientMixin = transport._TurnTransport__inner_protocol  # type: ignore[attr-defined]
    return client


async def refresh(client: TurnClientMixin) -> int:
    """Refresh the allocation; its new lifetime in seconds."""
    request = stun.Message(message_method=stun.Method.REFRESH, message_class=stun.Class.REQUEST)
    request.attributes["LIFETIME"] = 600
    response, _ = await client.request_with_retry(request)
    return int(response.attributes["LIFETIME"])


async def test_coturn_takes_our_credentials_only_while_valid_and_relays_only_to_the_relay(
    turn_server: TurnServer,
) -> None:
    turn = turn_server
    good = turn_credential(turn.secret, "call-1-customer-7", 60)
    assert good.username == f"{good.expires_at}:call-1-customer-7"
    assert abs(good.expires_at - (time.time() + 60)) < 2
    expected = hmac.new(turn.secret.encode(), good.username.encode(), hashlib.sha1).digest()
    assert base64.b64decode(good.credential) == expected

    client = await allocate(turn, good.username, good.credential)
    try:
        assert client.relayed_address is not None and client.relayed_address[0] == "127.0.0.1"
        # It may reach the relay (this machine's addresses), nothing else: coturn is no
        # open proxy into the network it sits in (denied-peer-ip / allowed-peer-ip).
        await client.channel_bind(0x4000, (get_host_addresses(True, False)[0], 9))
        with pytest.raises(stun.TransactionFailed, match="403"):
            await client.channel_bind(0x4001, ("198.51.100.7", 9))
    finally:
        await client.delete()

    wrong = turn_credential("not-" + turn.secret, "call-1-customer-7", 60)
    expired = turn_credential(turn.secret, "call-1-customer-7", 60, now=time.time() - 120)
    for refused in (wrong, expired):
        with pytest.raises(stun.TransactionFailed, match="401"):
            await allocate(turn, refused.username, refused.credential)

    # A credential about to expire opens an allocation that outlives it (coturn checks the
    # expiry when a session starts): turn.ttl_seconds need not cover a whole call.
    short = turn_credential(turn.secret, "call-1-agent-2", 2)
    lasting = await allocate(turn, short.username, short.credential)
    try:
        await asyncio.sleep(max(0.0, short.expires_at - time.time()) + 1.1)
        with pytest.raises(stun.TransactionFailed, match="401"):
            await allocate(turn, short.username, short.credential)
        assert await refresh(lasting) > 0
    finally:
        await lasting.delete()
    await turn.usage(short.username)  # its session's end is logged
    log = turn.log()
    assert f"username=<{good.username}>" in log  # the log names whose credential it was
    assert f"user <{expired.username}>: incoming packet message processed, error 401" in log


async def test_each_participant_is_handed_its_own_ice_servers(tmp_path: Path) -> None:
    secret = "shared-with-coturn-0123456789"
    srv, runner = await start_server(
        tmp_path / "d",
        calls={"ice_servers": [STUN_URL, "turn:turn.example.org:3478?transport=udp"]},
        turn={"secret": secret, "ttl_seconds": 600},
    )
    try:
        async with chat_pair(srv) as (customer, agent):
            call = await customer.request("call.start", {"chat_id": customer.chat_id})
            await agent.next("call.ringing", where=lambda c: c["id"] == call["id"])
            ref = {"call_id": call["id"]}
            # The callee may ask while it rings: it builds its peer connection as it answers.
            for_agent = await agent.request("call.ice_servers", ref)
            for_customer = await customer.request("call.ice_servers", ref)
            customer_id = customer.session["chat"]["customer_id"]
            holders = {
                f"call-{call['id']}-agent-{agent.user['id']}": for_agent,
                f"call-{call['id']}-customer-{customer_id}": for_customer,
            }
            for holder, handed in holders.items():
                stun_entry, turn_entry = handed["ice_servers"]
                assert stun_entry == {"urls": [STUN_URL]}
                assert turn_entry["urls"] == ["turn:turn.example.org:3478?transport=udp"]
                expiry, named = turn_entry["username"].split(":")
                assert named == holder
                mac = hmac.new(secret.encode(), turn_entry["username"].encode(), hashlib.sha1)
                assert turn_entry["credential"] == base64.b64encode(mac.digest()).decode()
                expires_at = datetime.fromisoformat(handed["expires_at"])
                assert expires_at == datetime.fromtimestamp(int(expiry), UTC)
                assert 590 < expires_at.timestamp() - time.time() <= 600

            stranger = await srv.customer(name="Stranger")
            try:
                with pytest.raises(ProtocolError) as refused:
                    await stranger.request("call.ice_servers", ref)
                assert refused.value.code == "not_found"
            finally:
                await stranger.close()
            await agent.request("call.hangup", ref)
            with pytest.raises(ProtocolError) as ended:
                await customer.request("call.ice_servers", ref)
            assert ended.value.code == "conflict"
    finally:
        await runner.cleanup()
    # Nothing configured (the default): none, as on loopback or a LAN. (Every other call test
    # asks call.ice_servers through loadtest.call_peer.CallPeer and gets this.)
    default = IceServers.from_config(load_config(environ={}))
    assert default.for_holder("call-1-agent-2") == {"ice_servers": [], "expires_at": None}


def gathered(peer: CallPeer) -> list[str]:
    """The candidate types in the peer's offer."""
    assert peer.pc is not None
    sdp = peer.pc.localDescription.sdp
    return [line.split(" typ ")[1].split()[0] for line in sdp.splitlines() if " typ " in line]


async def test_a_secret_coturn_does_not_share_gathers_nothing_and_carries_nothing(
    tmp_path: Path, turn_server: TurnServer
) -> None:
    turn = turn_server
    srv, runner = await start_server(
        tmp_path / "d",
        calls={"ice_servers": [turn.url]},
        turn={"secret": "a-secret-coturn-does-not-know"},
    )
    try:
        async with chat_pair(srv) as (customer, agent):
            call_id = await ring_and_accept(customer, agent, customer.chat_id)
            them = CallPeer(
                customer, call_id, {"camera": StampedVideoTrack(**SMALL)}, relay_only=True
            )
            us = CallPeer(agent, call_id, {"camera": StampedVideoTrack(**SMALL)}, relay_only=True)
            try:
                await asyncio.gather(them.join(), us.join())
                assert gathered(them) == gathered(us) == []  # coturn refused both
                # Through coturn the first frames arrive within a second (test_browser_turn).
                await asyncio.sleep(2)
                assert us.received["camera"].frames == them.received["camera"].frames == 0
                assert us.connected_at is None and them.connected_at is None
            finally:
                await them.close()
                await us.close()
            log = turn.log()
            for party in ("customer", "agent"):  # coturn refused each participant's credential
                refused = rf"user <\d+:call-{call_id}-{party}-\d+>: .* processed, error 401"
                assert re.search(refused, log), log[-3000:]
            assert "ALLOCATE processed, success" not in log
    finally:
        await runner.cleanup()
