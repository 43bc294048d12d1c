"""Leases held in the service's own database, so that several replicas of one service (one
database, one consumer group) never both do what only one may do: relay the outbox, run a
sweeper. Used only when `SAGASHOP_REPLICAS` > 1; one replica needs no lease and pays nothing.

A lease is one document `{_id: name, owner, until, again}` in the `leases` collection. Taking it
is one conditional write (free, expired, or already ours) and holds it for `seconds`; the holder
takes it again before that runs out. A replica that dies holding a lease holds it until `until`,
then another takes it: a stall of at most `seconds`, never two holders while the clocks of the
replicas agree (they share a host or NTP) and a holder does not stall longer than its lease.
`again` is a request for one more pass, left by a replica that found the lease taken (see
`Outbox`), which the holder reads when it gives the lease back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from servicekit.mongo import Doc, utcnow

log = logging.getLogger(__name__)
COLLECTION = "leases"
FREE = datetime(1970, 1, 1, tzinfo=UTC)


def replica_id() -> str:
    """Who holds a lease: host, pid and a random part (a restarted process is someone else)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Lease:
    def __init__(
        self, collection: AsyncCollection[Doc], name: str, owner: str, seconds: float
    ) -> None:
        self.collection = collection
        self.name = name
        self.owner = owner
        self.seconds = seconds
        self._valid_until = 0.0  # time.monotonic() before which the lease is surely ours

    @property
    def held(self) -> bool:
        """Ours for at least a third of its time more (a write begun now finishes inside it)."""
        return time.monotonic() < self._valid_until - self.seconds / 3

    async def take(self) -> bool:
        """Take the lease (free, expired or ours already) for `seconds` from now."""
        started, now = time.monotonic(), utcnow()
        try:
            await self.collection.update_one(
                {"_id": self.name, "$or": [{"owner": self.owner}, {"until": {"$lt": now}}]},
                {"$set": {"owner": self.owner, "until": now + timedelta(seconds=self.seconds)}},
                upsert=True,
            )
        except DuplicateKeyError:  # it exists and someone else holds it
            self._valid_until = 0.0
            return False
        self._valid_until = started + self.seconds
        return True

    async def give_back(self) -> bool:
        """Free the lease if it is ours; True when another replica asked for a pass meanwhile."""
        self._valid_until = 0.0
        before = await self.collection.find_one_and_update(
            {"_id": self.name, "owner": self.owner},
            {"$set": {"owner": None, "until": FREE, "again": False}},
        )
        return bool(before and before.get("again"))

    async def ask_again(self) -> None:
        """Ask the holder for one more pass when it gives the lease back."""
        await self.collection.update_one({"_id": self.name}, {"$set": {"again": True}})


async def while_held(lease: Lease, work: Callable[[], Awaitable[None]]) -> None:
    """Run `work()` only while this replica holds `lease`: wait for it, take it again every
    third of its time, and cancel `work` when it could not be kept (the database away, or
    taken over after a stall) before it runs out. Returns when `work` returns; raises what it
    raises (the runner logs it and calls again)."""
    step = lease.seconds / 3
    while True:  # polling the database: another process gives it back, no event can say so
        if await _try(lease.take):
            break
        await asyncio.sleep(step)
    log.info("lease %s taken by %s", lease.name, lease.owner)
    task = asyncio.ensure_future(work())
    try:
        while not task.done():
            await asyncio.wait({task}, timeout=step)
            if not task.done() and not await _try(lease.take) and not lease.held:
                log.warning("lease %s lost: its work stops until the lease is taken", lease.name)
                return
        await task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        with contextlib.suppress(Exception):
            await lease.give_back()


async def _try(take: Callable[[], Awaitable[bool]]) -> bool:
    try:
        return await take()
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.warning("lease: %r", exc)
        return False
