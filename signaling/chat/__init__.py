"""Chat: guest sessions, messages, lifecycle and routing of chats to agents."""
