"""Recordings encrypted at rest: AES-256-GCM in fixed-size chunks, so a player can still seek
(a Range request decrypts only the chunks it covers).

File: a header — magic, chunk size, plaintext size, an 8-byte random file nonce — then the
chunks, each its ciphertext and 16-byte tag. Chunk i's nonce is the file nonce followed by
i (4 bytes), and the header plus i are its associated data, so chunks cannot be reordered,
dropped at the end, or moved between files without the tag failing.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"LAREC1\n"
CHUNK = 64 * 1024
TAG = 16
_HEADER = struct.Struct("!7sIQ8s")


class Corrupted(ValueError):
    """The file is not an encrypted recording, or it was changed (a tag failed)."""


def encrypt_file(source: Path, target: Path, key: bytes) -> None:
    """Write `source` encrypted to `target` (replaced atomically)."""
    size = source.stat().st_size
    nonce = os.urandom(8)
    header = _HEADER.pack(MAGIC, CHUNK, size, nonce)
    aead = AESGCM(key)
    partial = target.with_name(target.name + ".part")
    with source.open("rb") as plain, partial.open("wb") as out:
        out.write(header)
        index = 0
        while chunk := plain.read(CHUNK):
            out.write(aead.encrypt(nonce + struct.pack("!I", index), chunk, _aad(header, index)))
            index += 1
        out.flush()
        os.fsync(out.fileno())
    partial.replace(target)


def _aad(header: bytes, index: int) -> bytes:
    return header + struct.pack("!I", index)


class EncryptedFile:
    """Random access to an encrypted recording's plaintext."""

    def __init__(self, path: Path, key: bytes) -> None:
        self.path = path
        self._aead = AESGCM(key)
        with path.open("rb") as handle:
            self._header = handle.read(_HEADER.size)
        if len(self._header) != _HEADER.size:
            raise Corrupted(f"{path.name}: too short for an encrypted recording")
        magic, self._chunk, self.size, self._nonce = _HEADER.unpack(self._header)
        if magic != MAGIC or self._chunk <= 0:
            raise Corrupted(f"{path.name}: not an encrypted recording")

    def read(self, start: int, end: int) -> Iterator[bytes]:
        """Plaintext bytes [start, end) in pieces, decrypting only the chunks they touch."""
        end = min(end, self.size)
        if start >= end:
            return
        first, last = start // self._chunk, (end - 1) // self._chunk
        with self.path.open("rb") as handle:
            for index in range(first, last + 1):
                handle.seek(_HEADER.size + index * (self._chunk + TAG))
                sealed = handle.read(self._chunk + TAG)
                try:
                    plain = self._aead.decrypt(
                        self._nonce + struct.pack("!I", index), sealed, _aad(self._header, index)
                    )
                except Exception as error:  # InvalidTag: changed, truncated or wrong key
                    raise Corrupted(f"{self.path.name}: chunk {index} does not verify") from error
                base = index * self._chunk
                yield plain[max(0, start - base) : min(len(plain), end - base)]
