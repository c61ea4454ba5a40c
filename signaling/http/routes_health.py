"""GET /healthz: one JSON answer with the state of each component, for probes and people."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from signaling.db.migrate import current_revision, head_revision
from signaling.http import schemas
from signaling.http.api import ApiRequest, api, json_response

STARTED = time.time()


def _connected(sio: Any, namespace: str) -> int:
    return len(sio.manager.rooms.get(namespace, {}).get(None, {}))


@api.route(
    "GET",
    "/healthz",
    summary="State of each component (public; no records are shown)",
    roles=None,
    tag="health",
    response=schemas.HEALTH,
    errors=(503,),
    any_host=True,
)
async def healthz(call: ApiRequest) -> Any:
    rt = call.runtime
    components: dict[str, Any] = {}
    try:
        latency = await rt.db.ping()
        revision = await current_revision(rt.db)
        head = head_revision()
        components["database"] = {
            "ok": revision == head,
            "dialect": rt.db.dialect,
            "latency_ms": round(latency, 2),
            "schema": revision,
            "expected_schema": head,
            "writes": rt.db.write_stats.to_wire(),
        }
    except Exception as exc:
        components["database"] = {"ok": False, "error": type(exc).__name__}
    components["socketio"] = {
        "ok": True,
        "customers": _connected(rt.sio, "/customer"),
        "staff": _connected(rt.sio, "/agent"),
    }
    components["routing"] = {
        "ok": True,
        "queued_chats": len(rt.dispatcher.queue),
        "agents_online": rt.presence.online_count(),
    }
    components["attachments"] = {"ok": rt.attachments.root.is_dir()}
    components["context_hook"] = {"ok": True, "configured": rt.context.enabled}
    components["relay"] = await _relay_health(rt)
    healthy = all(c.get("ok") for c in components.values())
    return json_response(
        {
            "status": "ok" if healthy else "degraded",
            "uptime_seconds": round(time.time() - STARTED, 1),
            "components": components,
        },
        status=200 if healthy else 503,
    )


async def _relay_health(rt: Any) -> dict[str, Any]:
    """Relay workers: not started yet is fine (preload off); started but none alive is not."""
    pool = rt.relay.pool
    if pool is None:
        return {"ok": not rt.relay.stopped, "started": False, "calls": len(rt.calls.live)}
    try:
        stats = await asyncio.wait_for(pool.stats(), 2.0)
    except Exception as exc:
        return {"ok": False, "started": True, "error": type(exc).__name__}
    alive = [w for w in stats.workers if w.alive]
    # Degraded while any worker is down (its replacement is starting) or crash-looping.
    return {
        "ok": stats.healthy,
        "started": True,
        "workers": len(stats.workers),
        "workers_alive": len(alive),
        "restarts": sum(w.restarts for w in stats.workers),
        "crash_loop": [w.worker_id for w in stats.workers if w.crash_loop],
        "capacity": stats.capacity,
        "rooms": stats.rooms,
        "peer_connections": stats.peer_connections,
        "calls": len(rt.calls.live),
    }
