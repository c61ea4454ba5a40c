"""Attachment files on local disk under the data dir, named by random key (never by the
uploader's file name), written to a temporary file and renamed only when complete."""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from aiohttp import BodyPartReader

from signaling.config import AttachmentsConfig
from signaling.errors import PayloadTooLarge, UnsupportedMediaType
from signaling.sniff import IMAGE_TYPES, VIDEO_TYPES, sniff

CHUNK = 64 * 1024


@dataclass(frozen=True)
class StoredFile:
    key: str
    content_type: str
    size: int
    sha256: str


class AttachmentStore:
    def __init__(self, root: Path, config: AttachmentsConfig) -> None:
        self.root = root
        self._config = config
        root.mkdir(parents=True, exist_ok=True)

    def path_of(self, key: str) -> Path:
        if not key.isalnum():
            raise ValueError("bad storage key")
        return self.root / key[:2] / key

    async def save(self, part: BodyPartReader) -> StoredFile:
        """Stream one multipart file to disk, checking its real type on the first chunk and
        its size as it arrives; nothing is left behind when it is refused."""
        key = secrets.token_hex(16)
        final = self.path_of(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        partial = final.with_suffix(".part")
        digest = hashlib.sha256()
        size = 0
        content_type: str | None = None
        limit = self._config.max_video_bytes
        handle = await asyncio.to_thread(open, partial, "wb")
        try:
            while chunk := await part.read_chunk(CHUNK):
                if content_type is None:
                    content_type = sniff(chunk[:32])
                    if content_type is None:
                        raise UnsupportedMediaType(
                            "only screenshots, photos (PNG, JPEG, GIF, WebP) and short videos "
                            "(MP4, WebM, QuickTime) can be attached"
                        )
                    limit = (
                        self._config.max_image_bytes
                        if content_type in IMAGE_TYPES
                        else self._config.max_video_bytes
                    )
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(
                        f"a {content_type} attachment may be at most {limit} bytes"
                    )
                digest.update(chunk)
                await asyncio.to_thread(handle.write, chunk)
            if content_type is None:
                raise UnsupportedMediaType("the file is empty")
            await asyncio.to_thread(handle.close)
            await asyncio.to_thread(os.replace, partial, final)
        except BaseException:
            handle.close()
            partial.unlink(missing_ok=True)
            raise
        assert content_type in IMAGE_TYPES | VIDEO_TYPES
        return StoredFile(key=key, content_type=content_type, size=size, sha256=digest.hexdigest())

    def discard(self, key: str) -> None:
        self.path_of(key).unlink(missing_ok=True)
