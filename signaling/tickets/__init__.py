"""Tickets: what staff change on them beside the chat (its lifecycle lives in signaling/chat)."""
