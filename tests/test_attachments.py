"""Attachments: sniffed type, size limits, stored under the data dir, served only to those
who may see the chat, and shown in the chat as a message."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from sqlalchemy import update

from signaling.db.schema import attachments
from tests.conftest import Server, start_server
from tests.media_samples import mp4_like, png


async def _upload(
    url: str, chat_id: int, token: str | None, data: bytes, name: str
) -> tuple[int, dict]:  # type: ignore[type-arg]
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name, content_type="application/octet-stream")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}/api/chats/{chat_id}/attachments", data=form, headers=headers) as resp,
    ):
        return resp.status, await resp.json()


def _stored_files(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "attachments").rglob("*") if p.is_file()]


async def test_screenshot_is_shared_inline_and_private(server: Server) -> None:
    agent = await server.staff("agent1@demo.local")
    customer = await server.customer(name="Shotty", topic="technical")
    stranger = await server.customer(name="Stranger")
    try:
        await customer.say("see my screen")
        await agent.next("chat.assigned")
        image = png()
        status, att = await _upload(
            server.url, customer.chat_id, customer.token, image, "../../etc/screen shot.PNG"
        )
        assert status == 201 and att["content_type"] == "image/png" and att["size"] == len(image)
        assert att["filename"].endswith("shot.PNG") and "/" not in att["filename"]
        ack = await customer.request(
            "message.send",
            {"chat_id": customer.chat_id, "client_msg_id": "shot", "attachment_id": att["id"]},
        )
        assert (
            ack["message"]["kind"] == "attachment"
            and ack["message"]["attachment"]["id"] == att["id"]
        )
        pushed = await agent.next("message", where=lambda m: m["kind"] == "attachment")
        async with aiohttp.ClientSession() as http:
            async with http.get(
                server.url + pushed["attachment"]["url"], headers=agent.headers()
            ) as resp:
                assert resp.status == 200 and resp.headers["Content-Type"] == "image/png"
                assert await resp.read() == image
            async with http.get(
                server.url + pushed["attachment"]["url"], headers=stranger.headers()
            ) as resp:
                assert resp.status == 404
            async with http.get(server.url + pushed["attachment"]["url"]) as resp:
                assert resp.status == 401
        # the stranger cannot upload into someone else's chat either
        status, _ = await _upload(server.url, customer.chat_id, stranger.token, image, "x.png")
        assert status == 404
        # and an attachment of another chat cannot be posted here
        _, other = await _upload(server.url, stranger.chat_id, stranger.token, image, "mine.png")
        bad = await customer.raw_ack(
            "message.send",
            {"chat_id": customer.chat_id, "client_msg_id": "steal", "attachment_id": other["id"]},
        )
        assert bad["error"]["code"] == "not_found"
        assert len(_stored_files(server.data_dir)) == 2
    finally:
        for person in (agent, customer, stranger):
            await person.close()


async def test_type_is_sniffed_and_sizes_are_limited(tmp_path: Path) -> None:
    srv, runner = await start_server(
        tmp_path / "d", attachments={"max_image_bytes": 2000, "max_video_bytes": 8000}
    )
    try:
        customer = await srv.customer(name="Up")
        status, body = await _upload(
            srv.url, customer.chat_id, customer.token, b"<html><script>alert(1)</script>", "cat.png"
        )
        assert status == 415 and body["error"]["code"] == "unsupported_media_type"
        status, body = await _upload(
            srv.url, customer.chat_id, customer.token, png() + b"\x00" * 3000, "big.png"
        )
        assert status == 413 and "at most 2000 bytes" in body["error"]["message"]
        status, body = await _upload(
            srv.url, customer.chat_id, customer.token, mp4_like(6000), "clip.mov"
        )
        assert status == 201 and body["content_type"] == "video/mp4"
        status, body = await _upload(
            srv.url, customer.chat_id, customer.token, mp4_like(9000), "long.mp4"
        )
        assert status == 413
        assert len(_stored_files(srv.data_dir)) == 1  # refused uploads leave nothing behind
        await customer.close()
    finally:
        await runner.cleanup()


def _part(boundary: str, name: str, filename: str, data: bytes) -> bytes:
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
        f'filename="{filename}"\r\nContent-Type: image/png\r\n\r\n'
    )
    return head.encode() + data + b"\r\n"


async def test_malformed_multipart_bodies_get_invalid_payload_with_a_reason(
    server: Server,
) -> None:
    """A body aiohttp's multipart reader cannot read answered 500; a truncated one or one with
    two files stored a (cut or partial) file. Each is a 400 naming the problem, nothing kept."""
    customer = await server.customer(name="Multi")
    b = "XyZ"
    image = png()
    end = f"--{b}--\r\n".encode()
    whole = _part(b, "file", "a.png", image)
    cases = {
        "no boundary": ("multipart/form-data", whole + end, "has no boundary"),
        "empty boundary": ('multipart/form-data; boundary=""', whole + end, "has no boundary"),
        "no parts": (f"multipart/form-data; boundary={b}", end, "no part named 'file'"),
        "empty body": (f"multipart/form-data; boundary={b}", b"", "malformed"),
        "not multipart": (f"multipart/form-data; boundary={b}", b"garbage", "malformed"),
        "wrong field": (
            f"multipart/form-data; boundary={b}",
            _part(b, "photo", "a.png", image) + end,
            "no part named 'file'",
        ),
        "two files": (
            f"multipart/form-data; boundary={b}",
            whole + _part(b, "file", "b.png", image) + end,
            "more than one part",
        ),
        "truncated": (f"multipart/form-data; boundary={b}", whole[:-30], "does not end properly"),
        "no closing boundary": (f"multipart/form-data; boundary={b}", whole, "does not end"),
        "mixed": (f"multipart/mixed; boundary={b}", whole + end, "multipart/form-data"),
    }
    try:
        async with aiohttp.ClientSession(headers=customer.headers()) as http:
            url = f"{server.url}/api/chats/{customer.chat_id}/attachments"
            for label, (content_type, body, reason) in cases.items():
                async with http.post(
                    url, data=body, headers={"Content-Type": content_type}
                ) as resp:
                    answer = await resp.json()
                    assert resp.status == 400, (label, answer)
                    assert answer["error"]["code"] == "invalid_payload", label
                    assert reason in answer["error"]["message"], (label, answer)
            assert _stored_files(server.data_dir) == []
            form_data = {"Content-Type": f"multipart/form-data; boundary={b}"}
            async with http.post(url, data=whole + end, headers=form_data) as resp:
                assert resp.status == 201 and (await resp.json())["size"] == len(image)
    finally:
        await customer.close()


async def test_file_names_lose_control_and_bidi_characters(server: Server) -> None:
    """`invoice\u202egnp.exe` reads as `invoiceexe.png`: bidi and control characters are
    stripped on upload and again whenever a stored name is served (JSON and the download's
    Content-Disposition, which carries non-ASCII names as RFC 6266 filename*)."""
    customer = await server.customer(name="Names")
    image = png()
    try:
        for sent, kept in [
            ("invoice\u202egnp.exe", "invoicegnp.exe"),
            ("a\u2066b\u2069c\u200e\u200f\u061cd\u202a.png", "abcd.png"),
            ("tab\there\x85.png", "tabhere.png"),
            ("发票.png", "发票.png"),
        ]:
            # as browsers send it: the name raw in UTF-8 (aiohttp's client would percent-encode)
            body = _part("B", "file", sent, image) + b"--B--\r\n"
            async with (
                aiohttp.ClientSession(headers=customer.headers()) as http,
                http.post(
                    f"{server.url}/api/chats/{customer.chat_id}/attachments",
                    data=body,
                    headers={"Content-Type": "multipart/form-data; boundary=B"},
                ) as resp,
            ):
                att = await resp.json()
                assert resp.status == 201 and att["filename"] == kept, (sent, att)
        # a name stored before the cleaning existed is cleaned where it is served
        first = att["id"] - 3
        async with server.runtime.db.write() as conn:
            await conn.execute(
                update(attachments)
                .where(attachments.c.id == first)
                .values(filename="old\u202egnp.exe\r\nX-Evil: 1")
            )
        ack = await customer.request(
            "message.send",
            {"chat_id": customer.chat_id, "client_msg_id": "old", "attachment_id": first},
        )
        assert ack["message"]["attachment"]["filename"] == "oldgnp.exeX-Evil_ 1"
        async with (
            aiohttp.ClientSession(headers=customer.headers()) as http,
            http.get(f"{server.url}/api/attachments/{first}") as resp,
        ):
            assert resp.status == 200
            assert resp.headers["Content-Disposition"] == (
                "inline; filename=\"oldgnp.exeX-Evil_ 1\"; filename*=UTF-8''oldgnp.exeX-Evil_%201"
            )
            assert "X-Evil" not in resp.headers
        async with (
            aiohttp.ClientSession(headers=customer.headers()) as http,
            http.get(f"{server.url}{att['url']}") as resp,
        ):
            assert resp.headers["Content-Disposition"] == (
                "inline; filename=\"__.png\"; filename*=UTF-8''%E5%8F%91%E7%A5%A8.png"
            )
    finally:
        await customer.close()
