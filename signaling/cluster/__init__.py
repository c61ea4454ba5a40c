"""Several signaling processes on one Redis: one elected primary holds routing, presence and
live calls; the others hold sockets and forward what those sockets ask to the primary."""
