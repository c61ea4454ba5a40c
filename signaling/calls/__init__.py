"""Calls: the state machine, negotiation with the relay, quality and guidance events."""
