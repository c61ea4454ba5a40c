"""Security headers on every response, errors included, and the Host check against DNS
rebinding (issue 8, defect 10). The pages themselves are checked in a real Chromium in
test_browser.py (no policy violation, the widget on another origin, no framing)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy

from signaling.http.headers import PagePolicy, page_headers
from tests.conftest import Server, start_server


async def _get(
    url: str, *, method: str = "GET", headers: dict[str, str] | None = None, **kw: Any
) -> tuple[int, CIMultiDictProxy[str], bytes]:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, url, headers=headers or {}, **kw) as resp,
    ):
        return resp.status, resp.headers, await resp.read()


async def test_pages_get_a_strict_policy_and_devices_only_where_calls_happen(
    server: Server,
) -> None:
    pages = (("/", "()"), ("/demo", "(self)"), ("/agent", "(self)"), ("/qa", "()"))
    for path, devices in pages:
        status, headers, _ = await _get(server.url + path)
        assert status == 200, path
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self';" in csp and "style-src 'self';" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "frame-ancestors 'self'" in csp and "object-src 'none'" in csp
        assert headers["X-Frame-Options"] == "SAMEORIGIN"
        assert headers["Permissions-Policy"] == (
            f"camera={devices}, microphone={devices}, display-capture={devices}"
        )
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_an_embeddable_page_may_be_framed_by_the_allowed_origins_only() -> None:
    origins = ["https://shop.example", "https://other.example"]
    framed = page_headers(PagePolicy(embeddable=True), origins)
    assert framed["Content-Security-Policy"].endswith(
        "frame-ancestors 'self' https://shop.example https://other.example"
    )
    assert "X-Frame-Options" not in framed  # it cannot name a list of origins
    assert page_headers(PagePolicy(), origins)["Content-Security-Policy"].endswith(
        "frame-ancestors 'self'"
    )


async def test_every_response_says_nosniff_and_errors_and_api_answers_are_not_stored(
    server: Server,
) -> None:
    admin = await server.staff("admin@demo.local", online=False)
    try:
        url = server.url
        cases = [
            ("GET", "/api/openapi.json", {}, 200),
            ("GET", "/healthz", {}, 200),
            ("GET", "/api/me", {"Authorization": f"Bearer {admin.token}"}, 200),
            ("GET", "/api/tickets", {}, 401),
            ("GET", "/api/tickets?page=x", {"Authorization": f"Bearer {admin.token}"}, 400),
            ("GET", "/api/widget/config?org=demo", {"Origin": "https://evil.example"}, 403),
            ("GET", "/api/no/such/route", {}, 404),
            ("GET", "/static/no-such-file.js", {}, 404),
            ("DELETE", "/api/tickets", {}, 405),
            ("GET", "/api/openapi.json", {"Host": "evil.example"}, 421),
        ]
        for method, path, headers, expected in cases:
            status, got, _ = await _get(url + path, method=method, headers=headers)
            assert status == expected, (method, path, status)
            assert got["X-Content-Type-Options"] == "nosniff", path
            assert got["Cache-Control"] == "no-store", path
            assert "default-src 'none'" in got["Content-Security-Policy"], path
        # and what is neither an error nor the API: nosniff, cacheable
        for path in ("/static/js/api.js", "/widget.js"):
            status, got, _ = await _get(url + path)
            assert status == 200 and got["X-Content-Type-Options"] == "nosniff"
            assert got.get("Cache-Control") != "no-store"
        status, got, _ = await _get(url + "/socket.io/?EIO=4&transport=polling")
        assert status == 200 and got["X-Content-Type-Options"] == "nosniff"
    finally:
        await admin.close()


async def test_requests_for_another_host_are_refused_421(tmp_path: Path) -> None:
    srv, runner = await start_server(
        tmp_path / "d",
        server={"public_url": "https://support.example.com", "allowed_hosts": ["proxy.lan:81"]},
    )
    port = srv.runtime.config.server.port
    try:
        for host, expected in [
            (f"127.0.0.1:{port}", 200),
            (f"localhost:{port}", 200),
            (f"[::1]:{port}", 200),
            ("support.example.com", 200),  # public_url's host, as a proxy passes it
            ("proxy.lan:81", 200),  # server.allowed_hosts
            ("evil.example", 421),  # a DNS-rebinding page
            (f"evil.example:{port}", 421),
            (f"localhost:{port + 1}", 421),
            ("proxy.lan:82", 421),
            ("127.0.0.1", 421),  # port 80 implied
        ]:
            status, _, body = await _get(
                srv.url + "/api/widget/config?org=demo", headers={"Host": host}
            )
            assert status == expected, (host, status, body)
            if expected == 421:
                assert b'"code":"host_not_allowed"' in body
        # Socket.IO's handshake too; the health probe is exempt (probes use the process's IP)
        status, _, _ = await _get(
            srv.url + "/socket.io/?EIO=4&transport=polling", headers={"Host": "evil.example"}
        )
        assert status == 421
        status, _, _ = await _get(srv.url + "/healthz", headers={"Host": "10.1.2.3:8080"})
        assert status == 200
        # HTTP/1.0 without any Host header
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /api/openapi.json HTTP/1.0\r\n\r\n")
        await writer.drain()
        answer = await reader.read()
        writer.close()
        await writer.wait_closed()
        assert answer.startswith(b"HTTP/1.0 421") or answer.startswith(b"HTTP/1.1 421"), answer
    finally:
        await runner.cleanup()


async def test_allowed_hosts_star_turns_the_check_off(tmp_path: Path) -> None:
    srv, runner = await start_server(tmp_path / "d", server={"allowed_hosts": ["*"]})
    try:
        status, _, _ = await _get(srv.url + "/api/openapi.json", headers={"Host": "anything"})
        assert status == 200
    finally:
        await runner.cleanup()
