"""The aiortc media relay: rooms, packet forwarding, keyframes, stats (calls issue)."""
