"""Messages between a relay pool and its worker processes (one JSON object per frame of
relay/control/channel.py).

request  {"id": 7, "op": "join", "args": {...}}
reply    {"id": 7, "ok": true, "result": ...} | {"id": 7, "ok": false, "code": ..., "detail": ...}
event    {"event": "hello", ...}   (worker → pool, unsolicited; also "participant", "media",
         "recording")
"""

from __future__ import annotations

from typing import Any

from relay.interface import (
    ERRORS,
    CloseReason,
    CloseRoom,
    Join,
    Leave,
    OpenRoom,
    PauseRecording,
    RelayError,
    ResumeRecording,
    SetAudience,
    StartRecording,
    StopRecording,
)

Command = (
    OpenRoom
    | Join
    | Leave
    | SetAudience
    | CloseRoom
    | StartRecording
    | PauseRecording
    | ResumeRecording
    | StopRecording
)

OPS: dict[str, type[Command]] = {
    "open_room": OpenRoom,
    "join": Join,
    "leave": Leave,
    "set_audience": SetAudience,
    "close_room": CloseRoom,
    "start_recording": StartRecording,
    "pause_recording": PauseRecording,
    "resume_recording": ResumeRecording,
    "stop_recording": StopRecording,
}
OP_NAMES: dict[type[Command], str] = {cls: op for op, cls in OPS.items()}


def command_args(command: Command) -> dict[str, Any]:
    args: dict[str, Any] = {
        name: getattr(command, name) for name in type(command).__dataclass_fields__
    }
    if isinstance(command, CloseRoom):
        args["reason"] = command.reason.value
    return args


def parse_command(op: str, args: dict[str, Any]) -> Command:
    """Validate one command on the way in (dataclass __post_init__)."""
    cls = OPS.get(op)
    if cls is None:
        raise ValueError(f"unknown op {op!r}")
    if cls is CloseRoom:
        args = {**args, "reason": CloseReason(args.get("reason"))}
    if cls in (Join, SetAudience) and isinstance(args.get("audience"), list):
        args = {**args, "audience": tuple(args["audience"])}  # JSON has no tuples
    return cls(**args)


def error_reply(request_id: int, error: Exception) -> dict[str, Any]:
    if isinstance(error, RelayError):
        return {"id": request_id, "ok": False, "code": error.code, "detail": error.detail}
    code = "bad_request" if isinstance(error, (ValueError, TypeError)) else "relay_error"
    return {"id": request_id, "ok": False, "code": code, "detail": str(error)}


def error_from_reply(reply: dict[str, Any]) -> Exception:
    code = str(reply.get("code"))
    detail = str(reply.get("detail"))
    if code == "bad_request":
        return ValueError(detail)
    return ERRORS.get(code, RelayError)(detail)
