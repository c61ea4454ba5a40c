"""Relay nodes on several machines, found and driven through Redis (the control side of the
relay: registry with heartbeats, request/reply per node, events to signaling, drain)."""
