"""The call events both namespaces answer (docs/protocol.md §8); access is checked inside."""

from __future__ import annotations

from signaling.calls.guidance import CallGuidance
from signaling.calls.ice_servers import CallIceServers
from signaling.calls.quality import CallQuality
from signaling.calls.service import CallService
from signaling.protocol import events as ev
from signaling.realtime.namespace import Handler, typed
from signaling.recordings.control import RecordingControl

# call.join carries an SDP offer: a browser's three m-lines are larger than a chat event.
CALL_EVENT_MAX_BYTES = {"call.join": 64 * 1024}


def call_handlers(
    calls: CallService,
    quality: CallQuality,
    guidance: CallGuidance,
    recording: RecordingControl,
    ice: CallIceServers,
) -> dict[str, Handler]:
    return {
        "call.start": typed(ev.CallStart, lambda sid, p, r: calls.start(p, r)),
        "call.accept": typed(ev.CallRef, lambda sid, p, r: calls.accept(p, r)),
        "call.decline": typed(ev.CallRef, lambda sid, p, r: calls.decline(p, r)),
        "call.hangup": typed(ev.CallRef, lambda sid, p, r: calls.hangup(p, r)),
        "call.get": typed(ev.CallRef, lambda sid, p, r: calls.view(p, r)),
        "call.ice_servers": typed(ev.CallRef, lambda sid, p, r: ice.handout(p, r)),
        "call.join": typed(ev.CallJoin, lambda sid, p, r: calls.join(p, r, sid)),
        "call.media": typed(ev.CallMediaState, lambda sid, p, r: calls.set_media(p, r)),
        "call.stats": typed(ev.CallStats, lambda sid, p, r: quality.report(p, r)),
        "call.downgrade": typed(ev.CallDowngrade, lambda sid, p, r: quality.choose(p, r)),
        "call.annotate": typed(ev.CallAnnotate, lambda sid, p, r: guidance.annotate(p, r, sid)),
        "call.record": typed(ev.CallRecord, lambda sid, p, r: recording.act(p, r)),
    }
