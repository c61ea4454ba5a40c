"""What the orchestrator asks a load-generator process, and what it answers: plain
picklable dataclasses over a multiprocessing pipe, one reply per request."""

from __future__ import annotations

from dataclasses import dataclass, field

# ---- requests -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Connect:
    """Open guest chats and connect their /customer sockets until `target` are held."""

    target: int
    concurrency: int
    deadline: float  # time.monotonic() after which no new connection is started


@dataclass(frozen=True)
class Probe:
    """Ack round trips of `samples` light requests (chat.sync, limit 1) on held sockets."""

    samples: int
    timeout: float


@dataclass(frozen=True)
class AgentsOnline:
    """Sign these (email, password) agents in, connect their /agent sockets, go online."""

    accounts: list[tuple[str, str]]


@dataclass(frozen=True)
class OpenChats:
    """Make `count` held customers write a first message and wait until an agent has it."""

    count: int
    concurrency: int
    timeout: float


@dataclass(frozen=True)
class Traffic:
    """Both sides of every open chat send stamped messages, each at `rate_per_sender` per
    second, from `start_at` (monotonic, the same clock in every process) for `duration`;
    then wait up to `drain` seconds past the end for pushes still on their way."""

    step: int
    rate_per_sender: float
    start_at: float
    duration: float
    drain: float
    max_in_flight: int


@dataclass(frozen=True)
class Stop:
    """Close every socket (bounded in time) and exit."""

    timeout: float = 30.0


Request = Connect | Probe | AgentsOnline | OpenChats | Traffic | Stop

# ---- replies --------------------------------------------------------------------------------


@dataclass
class ConnectReport:
    held: int
    opened: int
    failed: int
    errors: dict[str, int] = field(default_factory=dict)
    connect_ms: list[float] = field(default_factory=list)


@dataclass
class ProbeReport:
    connected: int  # still connected now
    held: int  # connected at the previous probe (or connect)
    ack_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)


@dataclass
class AgentsReport:
    online: int
    errors: dict[str, int] = field(default_factory=dict)


@dataclass
class OpenReport:
    active: int
    errors: dict[str, int] = field(default_factory=dict)


@dataclass
class DirectionReport:
    """One direction of traffic (customer→agent or agent→customer) in one worker."""

    attempted: int = 0
    acked: int = 0
    skipped: int = 0  # not sent: too many of this worker's sends were still waiting for acks
    delivered: int = 0  # pushes received by the other side (counted where they arrive)
    ack_ms: list[float] = field(default_factory=list)
    e2e_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)


@dataclass
class TrafficReport:
    customer_to_agent: DirectionReport
    agent_to_customer: DirectionReport
    customer_chats: int
    agent_chats: int


@dataclass
class Stopped:
    closed: int


@dataclass
class WorkerFailure:
    """A request raised: the worker stays up, the orchestrator decides what to do."""

    request: str
    error: str


Reply = (
    ConnectReport
    | ProbeReport
    | AgentsReport
    | OpenReport
    | TrafficReport
    | Stopped
    | WorkerFailure
)
