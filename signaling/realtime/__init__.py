"""Socket.IO: one namespace per audience, typed events, acks with a result or an error."""
