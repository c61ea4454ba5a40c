"""The worker/pool control side: worker processes and the pool that places rooms on them,
the frame channel and wire format between them, events and listeners, restart policy."""
