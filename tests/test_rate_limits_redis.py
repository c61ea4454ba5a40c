"""Rate limits keyed by address or account hold across signaling processes (issue 11): with
server.redis_url their buckets and the sign-in backoff live in Redis, so N processes behind a
load balancer do not give a client N budgets. The bucket tests run on both implementations
of one interface (in memory and in Redis) and expect the same answers; the Redis-only ones
check what memory cannot show: two clients, one budget; atomic spending; idle keys expire.
The last test runs two servers on one Redis and spends one address's budgets across both."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from redis.asyncio import Redis

from signaling.auth.login_failures import (
    BackoffPolicy,
    LoginFailures,
    MemoryLoginFailures,
    RedisLoginFailures,
)
from signaling.auth.login_throttle import LoginSource, LoginThrottle
from signaling.errors import RateLimited
from signaling.ratelimit import Buckets, MemoryBuckets, RateLimiter
from signaling.redis_buckets import PREFIX, RedisBuckets
from tests.conftest import Server, start_server

BucketsFactory = Callable[..., Buckets]


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@asynccontextmanager
async def redis_for(request: pytest.FixtureRequest) -> AsyncIterator[Redis | None]:
    """A client of the session's Redis for the "redis" variant of a test, else None."""
    if request.param != "redis":
        yield None
        return
    client = Redis.from_url(request.getfixturevalue("redis_url"))
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture(params=["memory", "redis"])
async def make_buckets(request: pytest.FixtureRequest) -> AsyncIterator[BucketsFactory]:
    """Builds buckets of either kind: `make_buckets(rate=…, burst=…)`."""
    async with redis_for(request) as client:
        if client is None:
            yield lambda **kw: MemoryBuckets(RateLimiter(what="things", **kw))
        else:
            yield lambda **kw: RedisBuckets(client, "test", what="things", **kw)


async def refusal(buckets: Buckets, key: str) -> RateLimited:
    with pytest.raises(RateLimited) as refused:
        await buckets.hit(key)
    return refused.value


async def test_a_burst_then_a_refusal_that_says_when(make_buckets: BucketsFactory) -> None:
    buckets = make_buckets(rate=2.0, burst=3)
    await buckets.check("1.2.3.4")  # checking spends nothing
    for _ in range(3):
        await buckets.hit("1.2.3.4")
    refused = await refusal(buckets, "1.2.3.4")
    assert 0.4 < refused.retry_after <= 0.5  # one token at 2/s, less the time since
    assert refused.message == "too many things; retry in 0.5 s"
    assert refused.to_wire()["code"] == "rate_limited"
    with pytest.raises(RateLimited):
        await buckets.check("1.2.3.4")
    await buckets.hit("5.6.7.8")  # another key, its own full bucket


async def test_a_bucket_refills_at_its_rate(make_buckets: BucketsFactory) -> None:
    buckets = make_buckets(rate=20.0, burst=2)
    await buckets.hit("k")
    await buckets.hit("k")
    await refusal(buckets, "k")
    await asyncio.sleep(0.07)  # 1.4 tokens
    await buckets.hit("k")
    await refusal(buckets, "k")


async def test_a_penalty_is_debt_and_forget_starts_over(make_buckets: BucketsFactory) -> None:
    buckets = make_buckets(rate=1.0, burst=4)
    await buckets.penalize("k", 100)  # down to minus one burst, no further
    assert 4.9 < (await refusal(buckets, "k")).retry_after <= 5.0
    await buckets.forget("k")
    await buckets.hit("k")


def test_memory_buckets_drop_the_least_recently_hit_key_beyond_their_cap() -> None:
    """A flood of distinct keys cannot grow memory, and cannot evict a key still in use."""
    limiter = RateLimiter(rate=0.001, burst=1, what="things", max_keys=2)
    limiter.hit("a")
    limiter.hit("b")
    with pytest.raises(RateLimited):
        limiter.hit("a")  # spent; this refusal also makes "a" the most recently hit
    limiter.hit("c")  # over the cap: "b", the least recently hit, goes
    with pytest.raises(RateLimited):
        limiter.hit("a")  # kept, still spent
    limiter.hit("b")  # forgotten: a full bucket again


async def test_two_clients_share_one_budget_and_spend_it_atomically(redis_url: str) -> None:
    """Two processes' clients: 30 hits at once on a burst of 10 admit exactly 10."""
    clients = [Redis.from_url(redis_url), Redis.from_url(redis_url)]
    try:
        a, b = (RedisBuckets(c, "shared", rate=0.01, burst=10, what="x") for c in clients)

        async def admitted(buckets: RedisBuckets) -> bool:
            try:
                await buckets.hit("10.0.0.1")
            except RateLimited:
                return False
            return True

        results = await asyncio.gather(*(admitted(a if n % 2 else b) for n in range(30)))
        assert sum(results) == 10
        await refusal(a, "10.0.0.1")
        await refusal(b, "10.0.0.1")
        other = RedisBuckets(clients[0], "another_limit", rate=0.01, burst=1, what="x")
        await other.hit("10.0.0.1")  # another limit's name: another budget
    finally:
        for client in clients:
            await client.aclose()


async def test_idle_buckets_expire_from_redis(redis: Redis) -> None:
    buckets = RedisBuckets(redis, "idle", rate=20.0, burst=2, what="x")
    key = PREFIX + "idle:k"
    await buckets.check("k")
    assert not await redis.exists(key)  # a full bucket is no key at all
    await buckets.hit("k")
    assert 0 < await redis.pttl(key) <= 50  # full again in 1/20 s
    await buckets.penalize("k", 3)  # -2: four tokens short
    assert 150 < await redis.pttl(key) <= 200
    await asyncio.sleep(0.25)
    assert not await redis.exists(key)
    await buckets.hit("k")
    await buckets.hit("k")


@pytest.fixture(params=["memory", "redis"])
async def make_failures(
    request: pytest.FixtureRequest,
) -> AsyncIterator[Callable[[BackoffPolicy], LoginFailures]]:
    async with redis_for(request) as client:
        if client is None:
            yield MemoryLoginFailures
        else:
            yield lambda policy: RedisLoginFailures(client, policy)


async def test_failed_sign_ins_back_off_alike_in_memory_and_in_redis(
    make_failures: Callable[[BackoffPolicy], LoginFailures],
) -> None:
    failures = make_failures(BackoffPolicy(3, 0.2, 0.3))
    for _ in range(2):
        await failures.failed("agent\x00ip:1.2.3.4")
        assert await failures.wait("agent\x00ip:1.2.3.4") == 0
    await failures.failed("agent\x00ip:1.2.3.4")  # the last free one: a first wait
    assert 0.15 < await failures.wait("agent\x00ip:1.2.3.4") <= 0.2
    await failures.failed("agent\x00ip:1.2.3.4")  # doubled, but at most 0.3
    assert 0.25 < await failures.wait("agent\x00ip:1.2.3.4") <= 0.3
    assert await failures.wait("agent\x00ip:5.6.7.8") == 0
    await failures.forget("agent\x00ip:1.2.3.4")
    assert await failures.wait("agent\x00ip:1.2.3.4") == 0
    await failures.failed("agent\x00ip:1.2.3.4")  # counting starts over
    assert await failures.wait("agent\x00ip:1.2.3.4") == 0


async def test_a_sources_failures_expire_from_redis_once_quiet(redis: Redis) -> None:
    failures = RedisLoginFailures(redis, BackoffPolicy(1, 0.1, 0.2))
    await failures.failed("a\x00ip:x")  # waits 0.1 s, then forgotten 0.2 s later
    assert 250 < await redis.pttl("liveassist:login:failures:a\x00ip:x") <= 300
    await asyncio.sleep(0.35)
    assert not await redis.exists("liveassist:login:failures:a\x00ip:x")


async def test_a_guesser_spread_over_two_processes_meets_one_count(redis_url: str) -> None:
    clients = [Redis.from_url(redis_url), Redis.from_url(redis_url)]
    try:
        throttles = [
            LoginThrottle(
                logins_per_minute_per_ip=6,
                free_failures=3,
                backoff_seconds=60,
                backoff_max_seconds=600,
                unknown_failures_per_hour=30,
                redis=client,
            )
            for client in clients
        ]
        guesser = LoginSource("10.0.0.7")
        for n in range(3):
            throttle = throttles[n % 2]
            await throttle.before("agent@x", guesser)
            await throttle.failed("agent@x", guesser)
        for throttle in throttles:
            with pytest.raises(RateLimited, match="too many failed sign-ins from here"):
                await throttle.before("agent@x", guesser)
        # 5 of the address's 6 tries a minute are spent (the two refused ones count too)
        await throttles[0].before("other@x", guesser)
        with pytest.raises(RateLimited, match="sign-in attempts from your address"):
            await throttles[1].before("third@x", guesser)
        device = LoginSource("10.0.0.7", device_id="d1")  # a known device is not held
        await throttles[1].before("agent@x", device)
        await throttles[1].succeeded("agent@x", device)
    finally:
        for client in clients:
            await client.aclose()


@asynccontextmanager
async def two_servers(
    tmp_path: Path, redis_url: str, **limits: Any
) -> AsyncIterator[tuple[Server, Server]]:
    """Two signaling apps in this process on one Redis (each with its own SQLite and demo
    accounts): one primary, one forwarding, like two `liveassist serve` machines."""
    started: list[tuple[Server, web.AppRunner]] = []
    try:
        for name in ("a", "b"):
            started.append(
                await start_server(
                    tmp_path / name,
                    server={"redis_url": redis_url},
                    relay={"embedded": False},
                    limits=limits,
                )
            )
        yield started[0][0], started[1][0]
    finally:
        for _server, runner in reversed(started):
            await runner.cleanup()


async def post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], str | None]:
    async with aiohttp.ClientSession() as http, http.post(url, json=body) as resp:
        return resp.status, await resp.json(), resp.headers.get("Retry-After")


async def test_two_servers_on_one_redis_spend_one_budget_per_address(
    tmp_path: Path, redis_url: str
) -> None:
    """Guest chats (burst 4), new Socket.IO connections (burst 3) and failed sign-ins (5
    free) from one address, alternating between two servers: each budget is spent once
    across both, not once per server."""
    async with two_servers(
        tmp_path,
        redis_url,
        ip_guest_session_burst=4,
        ip_guest_sessions_per_second=0.01,
        ip_connect_burst=3,
        ip_connects_per_second=0.01,
    ) as (a, b):
        statuses = []
        for n in range(6):
            status, _, _ = await post((a, b)[n % 2].url + "/api/widget/session", {"org": "demo"})
            statuses.append(status)
        assert statuses == [201] * 4 + [429] * 2
        status, refused, retry_after = await post(b.url + "/api/widget/session", {"org": "demo"})
        assert status == 429 and refused["error"]["code"] == "rate_limited"
        assert retry_after is not None and int(retry_after) >= 90  # a token per 100 s

        statuses = []
        async with aiohttp.ClientSession() as http:
            for n in range(5):  # Engine.IO handshakes, refused before the handshake
                url = (a, b)[n % 2].url + "/socket.io/?EIO=4&transport=polling"
                async with http.get(url) as resp:
                    statuses.append(resp.status)
        assert statuses == [200] * 3 + [429] * 2

        statuses = []
        for n in range(5):
            server = (a, b)[n % 2]
            login = {"email": "agent1@demo.local", "password": f"guess-{n}"}
            statuses.append((await post(server.url + "/api/auth/login", login))[0])
        assert statuses == [401] * 5, statuses  # the fifth is the last free one
        for server in (a, b):
            login = {
                "email": "agent1@demo.local",
                "password": server.passwords["agent1@demo.local"],
            }
            status, refused, _ = await post(server.url + "/api/auth/login", login)
            assert status == 429, refused
            assert refused["error"]["message"].startswith("too many failed sign-ins from here")
