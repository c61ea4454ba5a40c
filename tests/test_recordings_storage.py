"""Recordings at rest and on the way out: encryption in chunks, signed links with Range,
retention and budget sweeps, and a recording that cannot be written never costs the call."""

from __future__ import annotations

import base64
import os
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from loadtest.clients import Staff
from signaling.db.schema import audit_log, utcnow
from signaling.recordings.crypto import Corrupted, EncryptedFile, encrypt_file
from signaling.store import recordings as recording_store
from tests.conftest import Server, start_server
from tests.records import ended_call_in, ready_recording_of
from tests.test_calls import chat_pair, ring_and_accept

KEY = os.urandom(32)


def test_encrypted_files_read_back_by_range_and_refuse_tampering(tmp_path: Path) -> None:
    plain = os.urandom(200_000)
    source, sealed = tmp_path / "a.webm", tmp_path / "a.webm.enc"
    source.write_bytes(plain)
    encrypt_file(source, sealed, KEY)
    assert plain not in sealed.read_bytes()
    reader = EncryptedFile(sealed, KEY)
    assert reader.size == len(plain)
    for start, end in ((0, 200_000), (1, 2), (65_530, 65_540), (131_000, 200_000), (5, 5)):
        assert b"".join(reader.read(start, end)) == plain[start:end]
    with pytest.raises(Corrupted):
        list(EncryptedFile(sealed, os.urandom(32)).read(0, 10))
    damaged = bytearray(sealed.read_bytes())
    damaged[70_000] ^= 1
    sealed.write_bytes(bytes(damaged))
    assert b"".join(EncryptedFile(sealed, KEY).read(0, 65_536)) == plain[:65_536]
    with pytest.raises(Corrupted):
        list(EncryptedFile(sealed, KEY).read(65_536, 70_000))


async def _encrypted_server(tmp_path: Path) -> tuple[Server, object]:
    return await start_server(
        tmp_path / "d", recordings={"encryption_key": base64.b64encode(KEY).decode()}
    )


async def test_links_stream_with_range_expire_and_are_audited(tmp_path: Path) -> None:
    server, runner = await _encrypted_server(tmp_path)
    try:
        qa = Staff(server.url)  # QA reviewers use REST only
        await qa.sign_in("qa@demo.local", server.passwords["qa@demo.local"])
        customer = await server.customer(name="Linked")
        chat = await customer.rest("GET", f"/api/chats/{customer.chat_id}")
        chat["assignee_id"] = 2
        recording_id, file_id = await ready_recording_of(server, await ended_call_in(server, chat))
        # Encrypt the file the way the media job does, and say so on the recording.
        async with server.runtime.db.write() as conn:
            file = await recording_store.file_by_id(conn, file_id)
            assert file is not None
            plain = os.urandom(150_000)
            path = server.runtime.recorder_root / file["path"]
            path.write_bytes(plain)
            encrypt_file(path, path, KEY)
            await recording_store.update_recording(conn, recording_id, {"encrypted": True})
        link = await qa.rest(
            "POST", f"/api/recordings/{recording_id}/links", json={"file_id": file_id}, expect=201
        )
        url = server.url + link["url"]
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as resp:
                assert resp.status == 200 and await resp.read() == plain
                assert resp.headers["Accept-Ranges"] == "bytes"
                assert "no-store" in resp.headers["Cache-Control"]
            async with http.get(url, headers={"Range": "bytes=70000-70099"}) as resp:
                assert resp.status == 206 and await resp.read() == plain[70_000:70_100]
                assert resp.headers["Content-Range"] == f"bytes 70000-70099/{len(plain)}"
            async with http.get(url, headers={"Range": "bytes=-10"}) as resp:
                assert resp.status == 206 and await resp.read() == plain[-10:]
            async with http.get(url, headers={"Range": "bytes=999999-"}) as resp:
                assert resp.status == 416
                assert (await resp.json())["error"]["code"] == "range_not_satisfiable"
            altered = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
            async with http.get(altered) as resp:
                assert resp.status == 401
            expired, _ = server.runtime.signer.issue_media_link(
                file_id=file_id, org_id=1, user_id=4, ttl=-1
            )
            async with http.get(f"{server.url}/media/{expired}") as resp:
                assert (await resp.json())["error"]["code"] == "token_expired"
            foreign, _ = server.runtime.signer.issue_media_link(
                file_id=file_id, org_id=2, user_id=4, ttl=60
            )
            async with http.get(f"{server.url}/media/{foreign}") as resp:
                assert resp.status == 404
        # A customer token opens nothing about recordings, even with the right ids.
        for path in (f"/api/recordings/{recording_id}", f"/api/recordings/{recording_id}/links"):
            method = "GET" if path.endswith(str(recording_id)) else "POST"
            body = await customer.rest(method, path, json={"file_id": file_id}, expect=None)
            assert body["error"]["code"] == "forbidden"
        async with server.runtime.db.read() as conn:
            actions = [
                row.action
                for row in await conn.execute(
                    select(audit_log.c.action).where(
                        audit_log.c.target_type == "recording",
                        audit_log.c.target_id == recording_id,
                    )
                )
            ]
        # The link's issue, and the one play from the start (seeks are not each logged).
        assert actions == ["recording.link", "recording.access"]
        await qa.close()
        await customer.close()
    finally:
        await runner.cleanup()  # type: ignore[attr-defined]


async def test_retention_and_budget_delete_the_oldest_and_audit_each(tmp_path: Path) -> None:
    server, runner = await start_server(tmp_path / "d", recordings={"retention_days": 30})
    try:
        customer = await server.customer(name="Kept")
        chat = await customer.rest("GET", f"/api/chats/{customer.chat_id}")
        chat["assignee_id"] = 2
        made = []
        for age_days in (40, 10, 5, 1):
            rec_id, _ = await ready_recording_of(server, await ended_call_in(server, chat))
            async with server.runtime.db.write() as conn:
                await recording_store.update_recording(
                    conn,
                    rec_id,
                    {"started_at": utcnow() - timedelta(days=age_days), "bytes": 1_000_000},
                )
            made.append(rec_id)
        sweeper = server.runtime.retention
        assert await sweeper.sweep() == 1  # the one past 30 days
        server.runtime.config.recordings.budget_bytes = 2_500_000  # two of the three remain
        assert await sweeper.sweep() == 1
        async with server.runtime.db.read() as conn:
            states = [(await recording_store.recording_by_id(conn, r) or {})["state"] for r in made]
            reasons = [
                row.detail["why"]
                for row in await conn.execute(
                    select(audit_log.c.detail).where(audit_log.c.action == "recording.deleted")
                )
            ]
        assert states == ["deleted", "deleted", "ready", "ready"]
        assert "older than 30 days" in reasons[0] and "over the budget" in reasons[1]
        assert not (server.runtime.recorder_root / "org1" / f"call{made[0]}").exists()
        await customer.close()
    finally:
        await runner.cleanup()


async def test_an_unwritable_recordings_folder_fails_the_recording_not_the_call(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the recordings folder should be")
    server, runner = await start_server(tmp_path / "d", recordings={"dir": str(blocker)})
    try:
        async with chat_pair(server) as (customer, agent):
            call_id = await ring_and_accept(customer, agent, customer.chat_id, "audio")
            state = await agent.request("call.get", {"call_id": call_id})
            assert state["state"] == "active"
            assert state["recording"]["state"] == "failed"
            health = await agent.rest("GET", "/healthz", expect=503)
            assert health["components"]["recordings"]["ok"] is False
            async with server.runtime.db.read() as conn:
                row = await recording_store.recording_of_call(conn, call_id)
            assert row is not None and row["state"] == "failed"
            assert "cannot be written" in row["reason"]
            record = await agent.rest("GET", f"/api/calls/{call_id}")
            assert "recording_failed" in [e["kind"] for e in record["events"]]
            await agent.request("call.hangup", {"call_id": call_id})
    finally:
        await runner.cleanup()


async def test_policy_never_and_on_request(server: Server) -> None:
    admin = await server.staff("admin@demo.local")
    try:
        assert (await admin.rest("GET", "/api/recording-policy")) == {"recording_policy": "always"}
        for policy in ("never", "on_request"):
            await admin.rest("PATCH", "/api/recording-policy", json={"recording_policy": policy})
            async with chat_pair(server) as (customer, agent):
                call_id = await ring_and_accept(customer, agent, customer.chat_id, "audio")
                state = await agent.request("call.get", {"call_id": call_id})
                assert state["recording"] is None  # nothing recorded unless asked
                refused = await customer.raw_ack(
                    "call.record", {"call_id": call_id, "action": "start"}
                )
                assert refused["error"]["code"] == "forbidden"  # customers never decide
                answer = await agent.raw_ack("call.record", {"call_id": call_id, "action": "start"})
                if policy == "never":
                    assert answer["error"]["code"] == "forbidden"
                else:
                    assert answer["ok"] and answer["data"]["recording"] is not None
                await agent.request("call.hangup", {"call_id": call_id})
        bad = await admin.rest(
            "PATCH", "/api/recording-policy", json={"recording_policy": "sometimes"}, expect=400
        )
        assert bad["error"]["code"] == "invalid_payload"
    finally:
        await admin.close()
