"""LiveAssist signaling server: the only public entry point (HTTP, REST, Socket.IO)."""
