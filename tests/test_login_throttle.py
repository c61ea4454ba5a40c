"""Failed sign-ins slow the guesser down without locking the real user out (issue 8, defect 5).

Clients bind their sockets to other loopback addresses (127.0.0.2, 127.0.0.3, …): the server
listens on 127.0.0.1 and sees each as a different source, with nothing spoofable involved."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from yarl import URL

from tests.conftest import Server

AGENT = "agent1@demo.local"
A, B = "127.0.0.2", "127.0.0.3"


class ManualClock:
    """The throttle's clock, moved by the test: minutes of attack in a second of real time."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def client_from(address: str) -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client whose connections leave from `address` (and that keeps cookies)."""
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    jar = aiohttp.CookieJar(unsafe=True)  # like a browser, keep cookies of an IP-named host
    async with aiohttp.ClientSession(connector=connector, cookie_jar=jar) as http:
        yield http


async def sign_in(
    http: aiohttp.ClientSession, server: Server, password: str, **extra: Any
) -> tuple[int, dict[str, Any]]:
    async with http.post(
        server.url + "/api/auth/login", json={"email": AGENT, "password": password, **extra}
    ) as resp:
        return resp.status, await resp.json()


async def test_fifty_failures_from_one_address_leave_the_real_user_a_way_in(
    server: Server,
) -> None:
    right = server.passwords[AGENT]
    async with client_from(A) as user_at_a:
        async with user_at_a.post(
            server.url + "/api/auth/login", json={"email": AGENT, "password": right}
        ) as resp:
            assert resp.status == 200
            first = await resp.json()
            set_cookie = resp.headers["Set-Cookie"]
        assert first["device_token"] and f"la_device={first['device_token']};" in set_cookie
        for attribute in ("HttpOnly", "SameSite=Strict", "Path=/api/auth/login", "Max-Age="):
            assert attribute in set_cookie
        cookie = user_at_a.cookie_jar.filter_cookies(URL(server.url + "/api/auth/login"))
        assert cookie["la_device"].value == first["device_token"]
    async with client_from(A) as attacker:
        answers = [await sign_in(attacker, server, f"guess-{n}") for n in range(50)]
    statuses = [status for status, _ in answers]
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}, str(statuses)
    assert answers[0][1]["error"] == {
        "code": "unauthenticated",
        "message": "wrong email or password",
    }
    async with client_from(B) as user_at_b:  # another address: never signed in, still let in
        assert (await sign_in(user_at_b, server, right))[0] == 200
    async with client_from(A) as user_at_a:
        assert (await sign_in(user_at_a, server, right))[0] == 429  # this address waits…
        status, _ = await sign_in(user_at_a, server, right, device_token=first["device_token"])
        assert status == 200  # …but not a device that signed in before (body field)
        status, _ = await sign_in(user_at_a, server, right)
        assert status == 200  # the cookie the last answer set does the same for browsers
    # a device token of another account, or a forged one, is no known device
    async with client_from(A) as other:
        assert (await sign_in(other, server, right, device_token="x.y.z"))[0] == 429


async def test_wrong_user_and_wrong_password_answer_alike(server: Server) -> None:
    async with client_from(B) as http:
        answers = []
        for email in (AGENT, "nobody@demo.local"):
            async with http.post(
                server.url + "/api/auth/login", json={"email": email, "password": "wrong-one-1"}
            ) as resp:
                answers.append((resp.status, await resp.json()))
        assert (
            answers[0]
            == answers[1]
            == (
                401,
                {"error": {"code": "unauthenticated", "message": "wrong email or password"}},
            )
        )


async def test_an_attacker_at_15_tries_a_minute_cannot_keep_the_user_out(server: Server) -> None:
    """Twenty minutes of one guess every 4 s from one address: the user, signing in once a
    minute from another address (never used before), gets in every time."""
    clock = ManualClock()
    server.runtime.limits.login.clock = clock
    right = server.passwords[AGENT]
    refused_user = 0
    attacker_checked = 0
    async with client_from(A) as attacker, client_from(B) as user:
        for second in range(0, 20 * 60, 4):
            clock.now += 4
            status, _ = await sign_in(attacker, server, f"guess-{second}")
            assert status in (401, 429)
            attacker_checked += status == 401
            if second % 60 == 0:
                user.cookie_jar.clear()  # a browser that never signed in here before
                refused_user += (await sign_in(user, server, right))[0] != 200
    assert refused_user == 0
    # the guesser's passwords were checked only a handful of times in 300 tries
    assert 5 < attacker_checked <= 16, attacker_checked


async def test_many_addresses_lock_out_unknown_devices_only(server: Server) -> None:
    """A distributed guesser exhausts the account-wide budget for unknown devices (30 an hour):
    a new device waits, a device that signed in before does not."""
    right = server.passwords[AGENT]
    async with client_from(A) as user:
        status, first = await sign_in(user, server, right)
    assert status == 200
    for n in range(10, 17):  # seven addresses, five free failures each
        async with client_from(f"127.0.0.{n}") as attacker:
            for _ in range(5):
                await sign_in(attacker, server, "guess-again-1")
    async with client_from(B) as new_device:
        status, refused = await sign_in(new_device, server, right)
        assert status == 429 and "new devices" in refused["error"]["message"]
        assert refused["error"]["details"]["retry_after"] > 0
        status, _ = await sign_in(new_device, server, right, device_token=first["device_token"])
        assert status == 200
