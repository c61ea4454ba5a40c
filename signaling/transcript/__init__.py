"""How chats and messages are shown (views, the names book) and the system lines a transcript
gets; below both chat and routing, which each use them, so neither imports the other back."""
