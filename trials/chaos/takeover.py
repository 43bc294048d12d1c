"""What a killed replica's sibling took over: watched from the outside while the replica is
down (ChaosConfig.replica_down: past the consumer group's session timeout, 6 s by
default, and the leases, 5 s).

- its consumer group: the broker's member list (DescribeGroups) before the kill, when the dead
  member was dropped (its session ran out: ~6 s) and when the group was stable again without it
  (~8.5 s on an idle machine: the sibling rejoined at its next heartbeat); a stable group whose
  only member is the sibling has given it every partition of every topic the service reads
  (the embedded broker lists the members, not their assignments);
- its leases (servicekit.lease): those the killed process held in the service's database,
  and which of them the sibling holds afterwards (a loop's lease is kept by its holder; the
  outbox relay's is given back after every pass, so it shows as freed, not as moved)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

from schemas.topics import consumer_group
from servicekit.lease import COLLECTION as LEASES

log = logging.getLogger("sagashop.chaos")


@dataclass
class Takeover:
    replica: str  # the killed one, `orchestra.1`
    at: float  # seconds into the run
    siblings_alive: list[str]
    members_before: int | None = None  # the group's members just before the kill
    members_after: int | None = None  # once the dead one was dropped (None: never seen)
    dropped_after_s: float | None = None  # from the kill until the broker dropped it
    group_moved_after_s: float | None = None  # ...until the group was stable without it
    leases_held: list[str] = field(default_factory=list)  # by the killed process
    leases_moved: list[str] = field(default_factory=list)  # to a sibling before the restart

    @property
    def moved(self) -> bool:
        """Its partitions went to the siblings: it was in the group with them before the kill,
        then the broker dropped it and the siblings were the group (the rebalance that follows
        gives them everything: `settled` when it was seen done before the restart)."""
        alive = len(self.siblings_alive)
        return alive > 0 and self.members_before == alive + 1 and self.members_after == alive

    @property
    def settled(self) -> bool:
        return self.moved and self.group_moved_after_s is not None


class TakeoverWatch:
    """Opens a broker admin client and a database client on the first replica kill."""

    def __init__(self, kafka: str, mongo: str) -> None:
        self.kafka, self.mongo = kafka, mongo
        self.admin: AIOKafkaAdminClient | None = None
        self.db: AsyncMongoClient[dict[str, Any]] | None = None
        self.takeovers: list[Takeover] = []

    async def _clients(self) -> tuple[AIOKafkaAdminClient, AsyncMongoClient[dict[str, Any]]]:
        if self.admin is None:
            self.admin = AIOKafkaAdminClient(bootstrap_servers=self.kafka, request_timeout_ms=5000)
            await self.admin.start()
        if self.db is None:
            self.db = AsyncMongoClient(self.mongo, serverSelectionTimeoutMS=3000)
        return self.admin, self.db

    async def before(self, takeover: Takeover, pid: int | None) -> None:
        """Just before the kill: the group's members and the leases `pid` holds."""
        self.takeovers.append(takeover)
        service = takeover.replica.split(".")[0]
        # the database or broker may be down: no evidence then, and the kill is not held up
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2.0):
                admin, db = await self._clients()
                _, takeover.members_before = await members(admin, service)
                mine = {"owner": {"$regex": f":{pid}:"}}
                takeover.leases_held = sorted(
                    [d["_id"] async for d in db[service][LEASES].find(mine, {"_id": 1})]
                )

    async def after(
        self, takeover: Takeover, killed: float, until: float, sibling_pids: list[int]
    ) -> None:
        """Until the restart (`until`, monotonic): when the group settles without the dead
        member, and which of its leases a sibling holds."""
        service = takeover.replica.split(".")[0]
        ours = "|".join(f":{p}:" for p in sibling_pids)
        while time.monotonic() < until:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(max(0.1, until - time.monotonic())):
                    admin, db = await self._clients()
                    if takeover.group_moved_after_s is None:
                        state, count = await members(admin, service)
                        after = round(time.monotonic() - killed, 2)
                        if count == len(takeover.siblings_alive):
                            takeover.members_after = count
                            if takeover.dropped_after_s is None:
                                takeover.dropped_after_s = after
                            if state == "Stable":
                                takeover.group_moved_after_s = after
                    if takeover.leases_held and ours:
                        held = {"_id": {"$in": takeover.leases_held}, "owner": {"$regex": ours}}
                        takeover.leases_moved = sorted(
                            [d["_id"] async for d in db[service][LEASES].find(held, {"_id": 1})]
                        )
            if takeover.group_moved_after_s is not None and set(takeover.leases_moved) >= {
                n for n in takeover.leases_held if n.startswith("loop:")
            }:
                return
            await asyncio.sleep(0.5)

    async def holder(self, service: str, replicas: dict[int, str]) -> str | None:
        """The replica (`replicas`: by pid) holding one of the service's loop leases now; None
        when none does or the database cannot say within a second."""
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                _, db = await self._clients()
                held = {"_id": {"$regex": "^loop:"}, "until": {"$gt": datetime.now(UTC)}}
                async for lease in db[service][LEASES].find(held, {"owner": 1}):
                    pid = int(str(lease["owner"]).split(":")[1])  # servicekit.lease.replica_id
                    if pid in replicas:
                        return replicas[pid]
        return None

    async def close(self) -> None:
        if self.admin is not None:
            with contextlib.suppress(Exception):
                await self.admin.close()
        if self.db is not None:
            await self.db.close()


async def members(admin: AIOKafkaAdminClient, service: str) -> tuple[str, int | None]:
    """The state of the service's consumer group ("Stable" once a rebalance is done) and how
    many members it has (None: the broker answered with an error)."""
    [response] = await admin.describe_consumer_groups([consumer_group(service)])
    [group] = response.groups
    error, _, state, _, _, listed = group[:6]
    return str(state), None if error else len(listed)
