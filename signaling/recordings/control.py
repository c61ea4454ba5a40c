"""call.record: the agent starts (policy `on_request`), pauses and resumes a call's recording
— a pause is for card numbers and passwords: paused spans hold no media."""

from __future__ import annotations

from typing import Any

from signaling.auth.tokens import Principal
from signaling.calls.service import CallService
from signaling.errors import Conflict, Forbidden
from signaling.protocol import events as ev
from signaling.types import CallParty, RecordingAction, RecordingPolicy, RecordingState


class RecordingControl:
    def __init__(self, calls: CallService) -> None:
        self._calls = calls

    async def act(self, principal: Principal, req: ev.CallRecord) -> dict[str, Any]:
        recorder = self._calls.recorder
        _call, live, party = await self._calls.active(principal, req.call_id)
        if party is not CallParty.AGENT:
            raise Forbidden("only the agent starts, pauses and resumes a call's recording")
        if recorder is None:
            raise Conflict("this server does not record calls")
        async with live.lock:
            if live.ended:
                raise Conflict("the call has ended")
            recording = live.recording
            state = recording.state if recording is not None else None
            if req.action is RecordingAction.START:
                if await recorder.policy(live.org_id) is RecordingPolicy.NEVER:
                    raise Forbidden("this organisation does not record calls")
                if recording is not None:
                    raise Conflict(f"this call's recording is already {state}")
                events = await recorder.start(live, "agent")
            elif req.action is RecordingAction.PAUSE:
                if state is not RecordingState.RECORDING:
                    raise Conflict(f"the recording is {state or 'not started'}, not recording")
                events = await recorder.pause(live, "agent")
            else:
                if state is not RecordingState.PAUSED:
                    raise Conflict(f"the recording is {state or 'not started'}, not paused")
                events = await recorder.resume(live, "agent")
            await self._calls.events.append(live.call_id, events)
            return await self._calls.publish(live)
