"""The running server's parts, built once from the Config and handed to every handler."""

from __future__ import annotations

import base64
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from relay.interface import EventLoopKind
from signaling.attachments import AttachmentStore
from signaling.auth.authenticator import Authenticator
from signaling.auth.login_throttle import LoginThrottle
from signaling.auth.passwords import Passwords
from signaling.auth.tokens import TokenSigner
from signaling.calls.guidance import CallGuidance
from signaling.calls.ice_servers import CallIceServers, IceServers
from signaling.calls.quality import CallQuality
from signaling.calls.relay_launcher import RelayLauncher
from signaling.calls.service import CallService
from signaling.chat.guest import GuestSessions
from signaling.chat.service import ChatService
from signaling.chat.views import NameBook
from signaling.config import Config
from signaling.context_hook import CustomerContext
from signaling.db.database import Database
from signaling.http.origins import OriginPolicy
from signaling.log_throttle import library_logger
from signaling.metrics import ServerMetrics
from signaling.ratelimit import RateLimiter, RateLimits
from signaling.realtime.agent_namespace import AgentNamespace
from signaling.realtime.call_events import call_handlers
from signaling.realtime.customer_namespace import CustomerNamespace
from signaling.realtime.notifier import Notifier
from signaling.realtime.server import GuardedServer
from signaling.recordings.control import RecordingControl
from signaling.recordings.jobs import MediaJobRunner
from signaling.recordings.recorder import CallRecorder
from signaling.recordings.retention import RetentionSweeper
from signaling.routing.dispatcher import Dispatcher
from signaling.routing.presence import PresenceRegistry

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


def build_limits(config: Config) -> RateLimits:
    lim = config.limits
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
        ),
        guest_sessions_per_ip=RateLimiter(
            rate=lim.ip_guest_sessions_per_second,
            burst=lim.ip_guest_session_burst,
            what="new chats from your address",
        ),
        uploads_per_ip=RateLimiter(rate=1.0, burst=20, what="uploads from your address"),
        connects_per_ip=RateLimiter(
            rate=lim.ip_connects_per_second,
            burst=lim.ip_connect_burst,
            what="new connections from your address",
        ),
        connects_per_principal=RateLimiter(
            rate=2.0, burst=30, what="connections with this sign-in"
        ),
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
        )
        notifier = Notifier(sio)
        presence = PresenceRegistry()
        names = NameBook()
        dispatcher = Dispatcher(db, presence, notifier, names, config.routing)
        chats = ChatService(db, dispatcher, notifier, names)
        relay = RelayLauncher(
            config.relay.workers,
            config.relay.worker_capacity,
            cast(EventLoopKind, config.relay.event_loop),  # validated by RelayConfig
            public_ip=config.relay.public_ip,
        )
        recorder = CallRecorder(db, relay, config.recordings, config.recordings_path)
        recording_key = (
            base64.b64decode(config.recordings.encryption_key)
            if config.recordings.encryption_key
            else None
        )
        calls = CallService(db, notifier, names, relay, config.calls, recorder)
        chats.ended_listeners.append(calls.chat_ended)
        quality = CallQuality(calls, notifier)
        handlers = call_handlers(
            calls,
            quality,
            CallGuidance(calls, notifier),
            RecordingControl(calls),
            CallIceServers(calls, IceServers.from_config(config)),
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
        )
        calls.metrics = runtime.metrics
        common = {"authenticator": authenticator, "connects": limits.connects_per_principal}
        recorder.job_queued = runtime.media_jobs.wake
        recorder.bytes_recorded = runtime.metrics.recorded
        for namespace in (
            CustomerNamespace(chats, calls, handlers, **common),
            AgentNamespace(chats, dispatcher, presence, db, calls, handlers, **common),
        ):
            namespace.metrics = runtime.metrics
            sio.register_namespace(namespace)
        return runtime
