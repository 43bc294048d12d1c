"""Password hashing with argon2id, off the event loop (hashing is deliberately slow)."""

from __future__ import annotations

import asyncio
import logging

from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError

from auth_svc.domain import argon2_floor

log = logging.getLogger(__name__)


class Passwords:
    def __init__(self, time_cost: int = 3, memory_kib: int = 65536, parallelism: int = 2) -> None:
        floor_time, floor_memory = argon2_floor(time_cost, memory_kib)
        if (floor_time, floor_memory) != (time_cost, memory_kib):
            log.warning(
                "argon2 cost t=%d m=%dKiB is under OWASP's minimum; using t=%d m=%dKiB",
                *(time_cost, memory_kib, floor_time, floor_memory),
            )
        self.hasher = PasswordHasher(
            time_cost=floor_time, memory_cost=floor_memory, parallelism=parallelism
        )
        # verified against when the user does not exist, so that failure takes as long
        self.dummy = self.hasher.hash("not-a-real-password-0")

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self.hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        return await asyncio.to_thread(self._verify, stored or self.dummy, password)

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return bool(self.hasher.verify(stored, password))
        except (VerificationError, InvalidHashError):
            return False

    def weaker_than_current(self, stored: str) -> bool:
        """A hash made with less time or memory than today's cost (rehash it on login)."""
        try:
            params = extract_parameters(stored)
        except InvalidHashError:
            return False
        current = self.hasher
        return params.time_cost < current.time_cost or params.memory_cost < current.memory_cost
