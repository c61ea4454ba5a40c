"""Argon2id password hashing, run in a worker thread: a hash costs tens of ms and 64 MiB."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 10
# password_problem's rule in JSON Schema terms, for the API document: long enough, and
# neither all digits (some non-digit) nor all letters (some digit, symbol or space).
PASSWORD_SCHEMA = {
    "minLength": MIN_PASSWORD_LENGTH,
    "allOf": [{"pattern": r"\D"}, {"pattern": r"[\W\d_]"}],
}


class Passwords:
    def __init__(self, *, memory_kib: int, time_cost: int) -> None:
        self._hasher = PasswordHasher(memory_cost=memory_kib, time_cost=time_cost, parallelism=1)
        # A real hash to verify against when the account does not exist, so a missing user
        # costs the same time as a wrong password (no account enumeration by timing).
        self._decoy = self._hasher.hash("decoy-password-never-matches")

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        def check() -> bool:
            try:
                return self._hasher.verify(stored_hash or self._decoy, password) and bool(
                    stored_hash
                )
            except (VerificationError, InvalidHashError):
                return False

        return await asyncio.to_thread(check)


def password_problem(password: str) -> str | None:
    """Why a new password is unacceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"password must have at least {MIN_PASSWORD_LENGTH} characters"
    if password.isdigit() or password.isalpha():
        return "password must mix letters with digits or symbols"
    return None
