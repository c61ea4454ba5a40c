"""Sends the webhook outbox: one WebhookSender per signaling process.

Lifecycle: start() → every poll_seconds, and at once when a transaction of this process that
wrote deliveries commits (or a send finishes, or an admin redelivers), it claims due deliveries
with a lease and posts each in a task of its own, at most `concurrency` at a time →
stop() cancels what is in flight and lets go of its claims (those rows go out again: at
least once).

Order: a delivery is due only when no earlier delivery with the same endpoint and order key
(its chat) is still pending, so one chat's events reach an endpoint in order; a failing
one holds the later ones back until it is delivered or dead. Several processes on one
PostgreSQL database claim rows FOR UPDATE SKIP LOCKED with a lease (webhooks store), so
each attempt is made by one process; a process that dies loses its claims when their
lease runs out. SQLite is one process: claims a previous run left are dropped at start.

Nothing here runs on a chat's or a call's path: they only write rows (outbox.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import socket
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import aiohttp
from sqlalchemy import Connection, Engine, event, exc

from relay.cluster.closing import cancel_requested
from signaling.config import WebhooksConfig
from signaling.db.database import Database
from signaling.db.schema import utcnow
from signaling.store import Record
from signaling.store import webhooks as store
from signaling.types import DeliveryState
from signaling.webhooks import outbox, signing
from signaling.webhooks.addresses import (
    AddressPolicy,
    GuardedResolver,
    UrlMalformed,
    UrlRefused,
    describe,
)

log = logging.getLogger(__name__)

USER_AGENT = "LiveAssist-Webhooks/1"
LEASE_MARGIN_SECONDS = 30.0
"""A claim outlives an attempt's timeout by this much before another process may take it."""
RESPONSE_SNIPPET_BYTES = 300
PRUNE_EVERY_SECONDS = 600.0
"""How often delivered rows older than webhooks.keep_delivered_days are deleted."""


def backoff(config: WebhooksConfig, attempt: int, rand: random.Random | None = None) -> float:
    """Seconds before the next attempt after `attempt` failures: doubling from
    retry_base_seconds up to retry_max_seconds, each drawn from its upper half (jitter, so
    deliveries that failed together do not come back together)."""
    doubled = config.retry_base_seconds * 2.0 ** min(attempt - 1, 60)
    ceiling = min(config.retry_max_seconds, doubled)
    return float(ceiling * (rand or random).uniform(0.5, 1.0))


AFTER_A_WAKE = (0.05, 0.25, 1.0)
"""Seconds after a commit's wake at which the sender looks again (see _run)."""


class WebhookSender:
    def __init__(self, db: Database, config: WebhooksConfig, policy: AddressPolicy) -> None:
        self._db = db
        self._config = config
        self._policy = policy
        self.claimer = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._pruned_at: float | None = None
        self._listeners: list[tuple[Engine, Callable[..., None], Callable[..., None]]] = []
        self.delivered = 0
        self.failed = 0
        self.dead = 0
        self.counted: Callable[[str], None] | None = None
        """Told each attempt's outcome: delivered, failed or dead (the /metrics counter)."""

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="webhooks")
            self._watch_commits()

    def _watch_commits(self) -> None:
        """Wake when a transaction that wrote deliveries commits (whichever thread commits
        it); one that rolls back forgets them. Other processes find them at their poll."""
        loop = asyncio.get_running_loop()

        def committed(conn: Connection) -> None:
            if conn.info.pop(outbox.RECORDED, False):
                loop.call_soon_threadsafe(self._wake.set)

        def rolled_back(conn: Connection) -> None:
            # A connection closed under its transaction (the database closing) has no info
            # left to forget, and raising here would hide the rollback's own cause.
            with contextlib.suppress(exc.SQLAlchemyError):
                conn.info.pop(outbox.RECORDED, None)

        for engine in self._db.sync_engines:
            event.listen(engine, "commit", committed)
            event.listen(engine, "rollback", rolled_back)
            self._listeners.append((engine, committed, rolled_back))

    def wake(self) -> None:
        """Deliveries may be due now (a redelivery, a finished attempt): look at once."""
        self._wake.set()

    async def stop(self) -> None:
        for engine, committed, rolled_back in self._listeners:
            event.remove(engine, "commit", committed)
            event.remove(engine, "rollback", rolled_back)
        self._listeners.clear()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        sending = list(self._sending)
        for job in sending:
            job.cancel()
        await asyncio.gather(*sending, return_exceptions=True)
        if sending:  # their rows go out again at once (elsewhere, or after the restart)
            try:
                async with self._db.write() as conn:
                    await store.release_claims(conn, self.claimer)
            except Exception:
                log.exception("webhooks: could not release claims; their leases will expire")
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def in_flight(self) -> int:
        return len(self._sending)

    async def _run(self) -> None:
        released = not self._db.is_sqlite
        follow_ups: list[float] = []
        while True:
            try:
                if not released:
                    async with self._db.write() as conn:
                        await store.release_claims(conn)
                    released = True
                await self._prune()
                self._wake.clear()  # before looking: a wake meanwhile is not lost
                await self._claim_and_send()
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for returns the event's
                # result when a cancel (stop()) and a wake arrive together, the cancel is lost
                # and stop() waits forever (seen in tests/test_kb.py's teardown).
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(
                        follow_ups.pop(0) if follow_ups else self._config.poll_seconds
                    ):
                        await self._wake.wait()
                        # SQLAlchemy's commit event comes just *before* the database commits:
                        # a claim at once may not see the rows yet (a loaded writer thread),
                        # so look again shortly after, then back to the poll.
                        follow_ups = list(AFTER_A_WAKE)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if cancel_requested():  # stopping: a failure from it is not one to retry
                    raise asyncio.CancelledError from error
                log.exception("webhooks: the sender failed; going on in %.1f s", 1.0)
                await asyncio.sleep(1.0)

    async def _prune(self) -> None:
        now = time.monotonic()
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY_SECONDS:
            return
        self._pruned_at = now
        before = utcnow() - timedelta(days=self._config.keep_delivered_days)
        async with self._db.write() as conn:
            gone = await store.prune_delivered(conn, before)
        if gone:
            log.info("webhooks: deleted %d delivered row(s) older than %s", gone, before)

    async def _claim_and_send(self) -> None:
        room = self._config.concurrency - len(self._sending)
        if room <= 0:
            return
        now = utcnow()
        async with self._db.read() as conn:
            if not await store.any_due(conn, now):
                return
        lease = timedelta(seconds=self._config.timeout_seconds + LEASE_MARGIN_SECONDS)
        async with self._db.write() as conn:
            claimed = await store.claim_due(
                conn,
                now,
                claimer=self.claimer,
                lease_until=now + lease,
                limit=room,
                skip_locked=not self._db.is_sqlite,
            )
        for row in claimed:
            job = asyncio.create_task(self._send(row), name=f"webhook-{row['id']}")
            self._sending.add(job)
            job.add_done_callback(self._sent)

    def _sent(self, job: asyncio.Task[None]) -> None:
        self._sending.discard(job)
        if not job.cancelled() and job.exception() is not None:
            log.error("webhooks: a delivery task failed", exc_info=job.exception())
        self._wake.set()  # the next event of the same chat may be due now

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(self._policy),
                use_dns_cache=False,
                limit=self._config.concurrency,
            )
            self._session = aiohttp.ClientSession(connector=connector, trust_env=False)
        return self._session

    async def _send(self, row: Record) -> None:
        body = row["body"].encode()
        attempt = row["attempts"] + 1
        timeout = self._config.timeout_seconds
        status: int | None = None
        error: str | None = None
        try:
            url = self._policy.check_url(row["url"])  # the configuration may have changed
            headers = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                signing.EVENT_ID_HEADER: row["event_id"],
                signing.EVENT_TYPE_HEADER: row["event_type"],
                signing.DELIVERY_HEADER: str(row["id"]),
                signing.ATTEMPT_HEADER: str(attempt),
                **signing.signed_headers(row["secret"], body),
            }
            async with asyncio.timeout(timeout):
                async with self._client().post(
                    url,
                    data=body,
                    headers=headers,
                    allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(total=timeout),
                ) as response:
                    status = response.status
                    snippet = await response.content.read(RESPONSE_SNIPPET_BYTES)
            if not 200 <= status < 300:
                text = snippet.decode("utf-8", "replace").strip().splitlines()
                error = f"HTTP {status}" + (f": {text[0][:200]}" if text else "")
                if 300 <= status < 400:
                    error += " (redirects are not followed)"
        except (UrlRefused, UrlMalformed) as refused:
            error = f"refused: {refused.message}"
        except TimeoutError:
            error = f"no answer within {timeout:g} s"
        except (aiohttp.ClientError, OSError) as failure:
            error = f"could not deliver: {describe(failure)}"
        await self._record(row, attempt, status, error)

    async def _record(
        self, row: Record, attempt: int, status: int | None, error: str | None
    ) -> None:
        now = utcnow()
        changes: dict[str, Any] = {
            "attempts": attempt,
            "last_status": status,
            "last_error": error,
            "last_attempt_at": now,
        }
        if error is None:
            changes.update(state=DeliveryState.DELIVERED.value, delivered_at=now)
            self.delivered += 1
            outcome = "delivered"
        else:
            self.failed += 1
            outcome = "failed"
            give_up = row["retry_since"] + timedelta(seconds=self._config.max_age_seconds)
            if now >= give_up:
                changes["state"] = DeliveryState.DEAD.value
                self.dead += 1
                outcome = "dead"
                log.warning(
                    "webhook delivery %s (%s to endpoint %s) dead after %d attempts: %s",
                    row["id"],
                    row["event_type"],
                    row["endpoint_id"],
                    attempt,
                    error,
                )
            else:
                wait = timedelta(seconds=backoff(self._config, attempt))
                changes["next_attempt_at"] = min(now + wait, give_up)
        async with self._db.write() as conn:
            await store.finish_attempt(conn, row["id"], self.claimer, changes)
        if self.counted is not None:
            self.counted(outcome)
