"""The Socket.IO protocol's vocabulary, below the services that speak it: the payload of each
inbound event (events.py) and the rooms and pushes going out (notifier.py). Services import
from here; the namespaces (signaling/realtime/) import the services."""
