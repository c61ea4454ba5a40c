"""A track that never yields a frame, so aiortc's RTCRtpSender never encodes while we forward."""

from __future__ import annotations

import asyncio
from typing import Any

from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError


class SilentTrack(MediaStreamTrack):
    """Gives the relay's outgoing transceiver a kind; recv() waits until the track stops."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._stopped = asyncio.Event()

    async def recv(self) -> Any:
        await self._stopped.wait()
        raise MediaStreamError  # aiortc's sender loop exits quietly on this

    def stop(self) -> None:
        self._stopped.set()
        super().stop()
