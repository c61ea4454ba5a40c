"""A recorded call to review, made the way it really happens: a customer's chat taken by
agent1, a video call between two real aiortc peers through the server and a relay worker
(tones, stamped cameras, the customer's stamped screen), a chat message and an arrow drawn
on the customer's screen during it, a hang-up, and the recording converted by its media job.

Nothing is written to the database directly: the organisation's recording policy (always, the
default) records the call, and the QA review reads what the recorder and the job made."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from loadtest.call_peer import CallPeer
from loadtest.clients import Staff
from media.stamps import StampedVideoTrack
from media.tone import ToneAudioTrack
from tests.conftest import Server

ARROW = {
    "kind": "arrow",
    "surface": "customer_screen",
    "points": [[0.2, 0.25], [0.6, 0.6]],
    "color": "#e5484d",
    "ttl_ms": 3000,
}
READY_TIMEOUT_S = 60.0


@dataclass
class ReviewableCall:
    call_id: int
    chat_id: int
    ticket_id: int
    recording_id: int
    recording: dict[str, Any]  # GET /api/recordings/{id} once ready


async def record_reviewable_call(server: Server) -> ReviewableCall:
    """About 9 s of call: 2 s, then the arrow and a chat line; 1 s later the agent pauses the
    recording for 1.5 s (a paused span), then 3.5 s more (the arrow faded after 3 s)."""
    agent = await server.staff("agent1@demo.local")
    customer = await server.customer(name="Rita Review", topic="billing")
    qa = Staff(server.url)
    await qa.sign_in("qa@demo.local", server.passwords["qa@demo.local"])
    try:
        await customer.say("My router keeps blinking red")
        chat = (await agent.next("chat.assigned"))["chat"]
        await agent.say(chat["id"], "Let's look at it together: I will call you")
        call = await agent.request("call.start", {"chat_id": chat["id"], "media": "video"})
        await customer.next("call.ringing", where=lambda c: c["id"] == call["id"])
        await customer.request("call.accept", {"call_id": call["id"]})
        call_id = int(call["id"])
        theirs = CallPeer(
            customer,
            call_id,
            {
                "audio": ToneAudioTrack(440.0),
                "camera": StampedVideoTrack(320, 240, 15),
                "screen": StampedVideoTrack(640, 360, 5, pattern="screen"),
            },
            read_stamps=False,
        )
        ours = CallPeer(
            agent,
            call_id,
            {"audio": ToneAudioTrack(660.0), "camera": StampedVideoTrack(320, 240, 15)},
            read_stamps=False,
        )
        try:
            await asyncio.gather(theirs.join(), ours.join())
            await ours.wait_frames("screen", 3)
            await asyncio.sleep(2)
            await agent.request("call.annotate", {"call_id": call_id, **ARROW})
            await customer.say("I see the arrow: the reset button?")
            await asyncio.sleep(1)
            await agent.request("call.record", {"call_id": call_id, "action": "pause"})
            await asyncio.sleep(1.5)
            await agent.request("call.record", {"call_id": call_id, "action": "resume"})
            await asyncio.sleep(3.5)
            await agent.request("call.hangup", {"call_id": call_id})
        finally:
            await theirs.close()
            await ours.close()
        recording = await ready_recording(qa, call_id, chat["ticket_id"])
        return ReviewableCall(
            call_id=call_id,
            chat_id=int(chat["id"]),
            ticket_id=int(chat["ticket_id"]),
            recording_id=int(recording["id"]),
            recording=recording,
        )
    finally:
        if customer.sio.connected:  # end the chat, so the agent's going is not a line in it
            await customer.request("chat.end", {"chat_id": customer.chat_id})
        await qa.close()
        await customer.close()
        await agent.close()


async def ready_recording(qa: Staff, call_id: int, ticket_id: int) -> dict[str, Any]:
    """The call's recording once its media job has made the files."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    state = "none"
    while time.monotonic() < deadline:
        listed = await qa.rest("GET", f"/api/recordings?ticket_id={ticket_id}")
        found = [item for item in listed["items"] if item["call_id"] == call_id]
        if found:
            state = found[0]["state"]
            if state == "ready":
                return dict(await qa.rest("GET", f"/api/recordings/{found[0]['id']}"))
            assert state != "failed", found[0]
        await asyncio.sleep(0.5)
    raise AssertionError(f"the call's recording is not ready after {READY_TIMEOUT_S} s: {state}")
