"""The aiortc glue: peer connections of participants, the transport tap after SRTP, ICE and
DTLS guards, publications and subscriptions, rooms, the recorder. Every private aiortc/aioice
attribute used goes through aiortc_compat.py."""
