"""The running server's parts, built once from the Config and handed to every handler."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from relay.cluster.control import ClusterRelay
from signaling import jsonutil
from signaling.attachments import AttachmentStore
from signaling.auth.authenticator import Authenticator
from signaling.auth.login_throttle import LoginThrottle
from signaling.auth.passwords import Passwords
from signaling.auth.tokens import TokenSigner
from signaling.calls.guidance import CallGuidance
from signaling.calls.ice_servers import CallIceServers, IceServers
from signaling.calls.quality import CallQuality
from signaling.calls.relay_launcher import RelayLauncher, relay_service_factory
from signaling.calls.service import CallService
from signaling.calls.shared_calls import CallsInProcess, CallsInRedis
from signaling.calls.supervision import SupervisionService
from signaling.chat.guest import GuestSessions
from signaling.chat.service import ChatService
from signaling.cluster.bus import Operation
from signaling.cluster.coordinator import SignalingCluster
from signaling.config import Config
from signaling.context_hook import CustomerContext
from signaling.db.database import Database
from signaling.draining import Drain
from signaling.http.origins import OriginPolicy
from signaling.kb.bot import Bot
from signaling.kb.index import KbIndex
from signaling.log_throttle import library_logger
from signaling.metrics import ServerMetrics
from signaling.protocol.notifier import Notifier
from signaling.ratelimit import Buckets, MemoryBuckets, RateLimiter, RateLimits
from signaling.realtime.agent_namespace import AgentNamespace
from signaling.realtime.call_events import call_handlers
from signaling.realtime.customer_namespace import CustomerNamespace
from signaling.realtime.room_index import IndexedManager, IndexedRedisManager
from signaling.realtime.server import GuardedServer
from signaling.recordings.control import RecordingControl
from signaling.recordings.jobs import MediaJobRunner
from signaling.recordings.recorder import CallRecorder
from signaling.recordings.retention import RetentionSweeper
from signaling.redis_buckets import RedisBuckets
from signaling.routing.dispatcher import Dispatcher
from signaling.routing.presence import PresenceRegistry
from signaling.transcript.views import NameBook
from signaling.webhooks.addresses import AddressPolicy
from signaling.webhooks.sender import WebhookSender

log = logging.getLogger(__name__)

# Engine.IO drops a connection whose single packet exceeds this; our own per-event limit
# (limits.max_event_bytes) is far lower and answers with an error ack instead.
TRANSPORT_MAX_BYTES = 1_000_000


def load_or_create_secret(config: Config) -> str:
    if config.auth.secret_key:
        return config.auth.secret_key
    path: Path = config.data_path / "secret.key"
    if path.exists():
        return path.read_text().strip()
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret)
    return secret


def socketio_manager(config: Config) -> dict[str, Any]:
    """With Redis, python-socketio's Redis manager: an emit or a room change made by any
    signaling process reaches the sockets held by every other (strict JSON on the wire).
    Either manager keeps a sid → rooms index, so that a disconnect does not scan every room
    (signaling/realtime/room_index.py)."""
    if not config.server.redis_url:
        return {"client_manager": IndexedManager()}
    manager = IndexedRedisManager(
        config.server.redis_url, channel="liveassist:socketio", json=jsonutil
    )
    return {"client_manager": manager}


def build_limits(config: Config) -> RateLimits:
    """The limits keyed by address or account are shared by every signaling process through
    Redis when there is one (server.redis_url); the rest stay in this process (see
    RateLimits)."""
    lim = config.limits
    redis = Redis.from_url(config.server.redis_url) if config.server.redis_url else None

    def shared(name: str, *, rate: float, burst: int, what: str) -> Buckets:
        if redis is not None:
            return RedisBuckets(redis, name, rate=rate, burst=burst, what=what)
        return MemoryBuckets(RateLimiter(rate=rate, burst=burst, what=what))

    return RateLimits(
        per_connection=RateLimiter(
            rate=lim.events_per_second, burst=lim.event_burst, what="events on this connection"
        ),
        per_ip=RateLimiter(
            rate=lim.ip_events_per_second,
            burst=lim.ip_event_burst,
            what="requests from your address",
        ),
        login=LoginThrottle(
            logins_per_minute_per_ip=lim.logins_per_minute_per_ip,
            free_failures=lim.login_free_failures,
            backoff_seconds=lim.login_backoff_seconds,
            backoff_max_seconds=lim.login_backoff_max_seconds,
            unknown_failures_per_hour=lim.login_unknown_failures_per_hour,
            redis=redis,
        ),
        guest_sessions_per_ip=shared(
            "guest_sessions_per_ip",
            rate=lim.ip_guest_sessions_per_second,
            burst=lim.ip_guest_session_burst,
            what="new chats from your address",
        ),
        uploads_per_ip=shared(
            "uploads_per_ip", rate=1.0, burst=20, what="uploads from your address"
        ),
        connects_per_ip=shared(
            "connects_per_ip",
            rate=lim.ip_connects_per_second,
            burst=lim.ip_connect_burst,
            what="new connections from your address",
        ),
        connects_per_principal=shared(
            "connects_per_principal", rate=2.0, burst=30, what="connections with this sign-in"
        ),
        store=redis,
    )


@dataclass
class Runtime:
    config: Config
    db: Database
    passwords: Passwords
    signer: TokenSigner
    authenticator: Authenticator
    limits: RateLimits
    origins: OriginPolicy
    sio: GuardedServer
    notifier: Notifier
    presence: PresenceRegistry
    names: NameBook
    dispatcher: Dispatcher
    chats: ChatService
    guests: GuestSessions
    attachments: AttachmentStore
    context: CustomerContext
    relay: RelayLauncher
    calls: CallService
    call_quality: CallQuality
    recorder_root: Path
    """recordings.dir: every recording's folder is below it."""
    recording_key: bytes | None
    """recordings.encryption_key decoded (None: files are not encrypted at rest)."""
    media_jobs: MediaJobRunner
    retention: RetentionSweeper
    metrics: ServerMetrics
    drain: Drain
    """SIGTERM with server.drain_seconds: unready first (signaling/draining.py)."""
    webhook_policy: AddressPolicy
    """Where webhooks may go (webhooks.allowed_hosts and the SSRF rules)."""
    webhooks: WebhookSender
    """Sends the webhook outbox; one per signaling process (claims keep them apart)."""
    kb_index: KbIndex
    """Knowledge-base search (BM25 per organisation and language, rebuilt on change)."""
    bot: Bot
    """The first-response bot (the primary's: it answers chats as they start)."""
    cluster: SignalingCluster | None = None
    """With server.redis_url: one of several signaling processes (signaling/cluster/)."""
    orphans: asyncio.Task[None] | None = None
    """Closing relay rooms a previous primary left (started when this one takes over)."""

    @classmethod
    def build(cls, config: Config) -> Runtime:
        config.data_path.mkdir(parents=True, exist_ok=True)
        db = Database(config.database_url, echo=config.database.echo)
        signer = TokenSigner(load_or_create_secret(config))
        authenticator = Authenticator(db, signer)
        limits = build_limits(config)
        origins = OriginPolicy(config.server.allowed_origins)
        sio = GuardedServer(
            limits,
            max_event_bytes=config.limits.max_event_bytes,
            async_mode="aiohttp",
            cors_allowed_origins=origins.for_socketio,
            max_http_buffer_size=TRANSPORT_MAX_BYTES,
            logger=library_logger("signaling.socketio"),
            engineio_logger=library_logger("signaling.engineio"),
            **socketio_manager(config),
        )
        notifier = Notifier(sio)
        presence = PresenceRegistry()
        names = NameBook()
        dispatcher = Dispatcher(db, presence, notifier, names, config.routing)
        chats = ChatService(db, dispatcher, notifier, names)
        relay = RelayLauncher(relay_service_factory(config))
        recorder = CallRecorder(db, relay, config.recordings, config.recordings_path)
        recording_key = (
            base64.b64decode(config.recordings.encryption_key)
            if config.recordings.encryption_key
            else None
        )
        shared_calls = (
            CallsInRedis(Redis.from_url(config.server.redis_url))
            if config.server.redis_url
            else CallsInProcess()
        )
        calls = CallService(db, notifier, names, relay, config.calls, recorder, shared_calls)
        calls.hand_over = bool(config.server.redis_url)
        chats.ended_listeners.append(calls.chat_ended)
        kb_index = KbIndex(db)
        bot = Bot(db, kb_index, chats, notifier, names)
        chats.bot_first = bot.first_message
        quality = CallQuality(calls, notifier)
        ice_servers = IceServers.from_config(config)
        handlers = call_handlers(
            calls,
            quality,
            CallGuidance(calls, notifier),
            RecordingControl(calls),
            CallIceServers(calls, ice_servers),
        )
        runtime = cls(
            config=config,
            db=db,
            passwords=Passwords(
                memory_kib=config.auth.password_memory_kib, time_cost=config.auth.password_time_cost
            ),
            signer=signer,
            authenticator=authenticator,
            limits=limits,
            origins=origins,
            sio=sio,
            notifier=notifier,
            presence=presence,
            names=names,
            dispatcher=dispatcher,
            chats=chats,
            guests=GuestSessions(db, signer, names, config.auth.guest_token_ttl_seconds),
            attachments=AttachmentStore(config.data_path / "attachments", config.attachments),
            context=CustomerContext(config.context_hook),
            relay=relay,
            calls=calls,
            call_quality=quality,
            recorder_root=config.recordings_path,
            recording_key=recording_key,
            media_jobs=MediaJobRunner(db, config.recordings_path, encryption_key=recording_key),
            retention=RetentionSweeper(db, config.recordings_path, config.recordings),
            metrics=ServerMetrics(),
            drain=Drain(config.server.drain_seconds),
            webhook_policy=(policy := AddressPolicy(config.webhooks)),
            webhooks=WebhookSender(db, config.webhooks, policy),
            kb_index=kb_index,
            bot=bot,
        )
        calls.metrics = runtime.metrics
        runtime.webhooks.counted = lambda outcome: runtime.metrics.webhook_attempts.labels(
            outcome
        ).inc()
        common = {"authenticator": authenticator, "connects": limits.connects_per_principal}
        recorder.job_queued = runtime.media_jobs.wake
        recorder.bytes_recorded = runtime.metrics.recorded
        namespaces = (
            CustomerNamespace(chats, calls, handlers, bot, **common),
            AgentNamespace(
                chats,
                dispatcher,
                presence,
                notifier,
                db,
                calls,
                handlers,
                SupervisionService(calls, db, notifier, names, ice_servers),
                **common,
            ),
        )
        for namespace in namespaces:
            namespace.metrics = runtime.metrics
            sio.register_namespace(namespace)
        if config.server.redis_url:
            runtime.cluster = SignalingCluster(config.server.redis_url)
            runtime.cluster.forwarder.serve(namespaces)
            runtime.cluster.operation("presence.snapshot", runtime._presence_snapshot)
            runtime.cluster.operation("session.revoke", runtime._revoke_session)
            runtime.cluster.operation("agent.refresh", runtime._refresh_agent)
        return runtime

    # ---- live state, wherever it is held ------------------------------------------------------
    # With several signaling processes only the primary holds presence, the queue and live
    # calls; a REST request served by another process asks it (signaling/cluster/).

    async def live_agents(self, org_id: int) -> dict[int, dict[str, Any]]:
        """Each known agent's status, load and languages, by user id."""
        found = await self._on_primary(
            "presence.snapshot", {"org_id": org_id}, self._presence_snapshot
        )
        return {int(user_id): dict(agent) for user_id, agent in found.items()}

    async def revoke_session(self, user_id: int, session_id: str) -> None:
        """Close the sockets of a sign-in session that just ended (sign-out)."""
        body = {"user_id": user_id, "session_id": session_id}
        await self._on_primary("session.revoke", body, self._revoke_session)

    async def refresh_agent(self, user_id: int) -> None:
        """An agent's profile changed (skills, languages, capacity): routing uses it now."""
        await self._on_primary("agent.refresh", {"user_id": user_id}, self._refresh_agent)

    async def _on_primary(self, kind: str, body: dict[str, Any], run: Operation) -> Any:
        """`run(body)` where the live state is: here, or on the primary."""
        if self.cluster is None:
            return await run(body)
        return await self.cluster.on_primary(kind, body, run)

    async def _presence_snapshot(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            str(agent.user_id): {
                "status": agent.status.value,
                "load": agent.load,
                "languages": sorted(agent.languages),
            }
            for agent in self.presence.in_org(int(body["org_id"]))
        }

    async def _revoke_session(self, body: dict[str, Any]) -> None:
        await self.notifier.disconnect_session(int(body["user_id"]), str(body["session_id"]))

    async def _refresh_agent(self, body: dict[str, Any]) -> None:
        user_id = int(body["user_id"])
        if self.presence.get(user_id) is not None:
            async with self.db.read() as conn:
                await self.dispatcher.load_agent(conn, user_id)

    async def become_primary(self) -> None:
        """What only the process holding routing and calls does at start (every process,
        on the embedded default): give back queued chats, agents' statuses and recordings
        a previous run left, and run the media jobs and retention sweeps."""
        await self.dispatcher.restore()
        await self.bot.restore()
        await self.calls.restore()
        if self.calls.recorder is not None:
            await self.calls.recorder.restore(running=self.calls.recordings_running())
        self.media_jobs.start()
        self.retention.start()
        if self.config.server.redis_url:
            # Relay rooms outlive a signaling process on the relay nodes: those of calls
            # just ended above are closed, so no node keeps peer connections for nobody
            # (in the background: starting the relay may take seconds).
            self.orphans = asyncio.create_task(self._close_orphan_rooms())

    async def _close_orphan_rooms(self) -> None:
        try:
            relay = await asyncio.wait_for(self.relay.ready(), 10.0)
        except Exception as error:
            log.warning("relay not ready to close rooms left by a previous run: %r", error)
            return
        if isinstance(relay, ClusterRelay):
            closed = await relay.close_orphans()
            if closed:
                log.warning("closed %d relay room(s) a previous run left open", closed)
