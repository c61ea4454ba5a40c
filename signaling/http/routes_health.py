"""GET /healthz: one JSON answer with the state of each component, for probes and people."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from datetime import timedelta
from typing import Any

from relay.cluster.control import ClusterRelay
from signaling.db.migrate import current_revision, head_revision
from signaling.db.schema import utcnow
from signaling.http import schemas
from signaling.http.api import ApiRequest, api, json_response
from signaling.store import recordings as recording_store

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
    components["recordings"] = await _recordings_health(rt)
    if rt.cluster is not None:
        components["cluster"] = await _cluster_health(rt.cluster)
    healthy = all(c.get("ok") for c in components.values())
    status = "draining" if rt.drain.draining else "ok" if healthy else "degraded"
    return json_response(
        {
            "status": status,
            "uptime_seconds": round(time.time() - STARTED, 1),
            "components": components,
        },
        status=200 if status == "ok" else 503,
    )


async def _cluster_health(cluster: Any) -> dict[str, Any]:
    """Several signaling processes: this one's role, and whether any holds the primary's."""
    try:
        primary = await cluster.leadership.holder()
    except Exception as exc:
        return {
            "ok": False,
            "role": "forwarding",
            "process": cluster.process_id,
            "primary": None,
            "error": type(exc).__name__,
        }
    return {
        "ok": primary is not None,
        "role": "primary" if cluster.is_primary else "forwarding",
        "process": cluster.process_id,
        "primary": primary,
    }


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
    nodes = None
    if isinstance(pool, ClusterRelay):  # relay nodes in Redis: calls need one taking rooms
        nodes = {
            n.node_id: {"rooms": n.rooms, "load": round(n.load, 3), "draining": n.draining}
            for n in pool.nodes.values()
        }
    placeable = nodes is None or any(not n["draining"] for n in nodes.values())
    # Degraded while any worker is down (its replacement is starting) or crash-looping.
    return {
        "ok": stats.healthy and placeable,
        **({"nodes": nodes} if nodes is not None else {}),
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


async def _recordings_health(rt: Any) -> dict[str, Any]:
    """Recordings: the folder is writable with room to spare, and processing keeps up."""
    root = rt.recorder_root
    try:
        root.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(root).free
        writable = os.access(root, os.W_OK)
    except OSError as exc:
        return {"ok": False, "error": exc.strerror or type(exc).__name__}
    config = rt.config.recordings
    async with rt.db.read() as conn:
        jobs = await recording_store.job_counts(conn)
        failed_today = await recording_store.failed_since(conn, utcnow() - timedelta(days=1))
    return {
        "ok": writable and free >= config.min_free_bytes,
        "writable": writable,
        "free_bytes": free,
        "min_free_bytes": config.min_free_bytes,
        "encrypted": bool(config.encryption_key),
        "jobs": {state: jobs.get(state, 0) for state in ("queued", "running", "failed")},
        "failed_last_24h": failed_today,
    }
