"""MongoDB through PyMongo's async client, and the one transaction helper."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pymongo
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from servicekit.retry import transient_retry

log = logging.getLogger(__name__)
T = TypeVar("T")
Doc = dict[str, Any]


def utcnow() -> datetime:
    return datetime.now(UTC)


# the earliest time any document of ours holds (the shop did not exist before)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


def due_by(now: datetime) -> dict[str, datetime]:
    """A due-time range for a sweeper: from EARLIEST to `now`. The lower bound matters: a
    finished document has no due time, an index lists it under null (before any time), and
    the embedded database walks an index from its very start when a range has no lower bound
    — `{dueAt: {$lte: now}}` read every notification ever sent, 130 ms per sweep at 1,400."""
    return {"$gte": EARLIEST, "$lte": now}


def make_client(
    url: str, timeout_seconds: float = 5.0, credentials: dict[str, Any] | None = None
) -> AsyncMongoClient[Doc]:
    """A client that does not connect until first used and fails fast when the server is away.
    `credentials`: PyMongo's `username`, `password` and `authSource`, kept out of the URL.

    serverMonitoringMode "poll": the monitor asks `hello` every heartbeatFrequencyMS (10 s) on
    one connection. The default ("auto" = streaming on a server that offers it, as SecantusDB
    does) keeps a `hello` parked at the server instead, which SecantusDB's thread checks every
    0.25 s and the client's cancellation check every 0.5 s, plus a second connection for the
    round-trip time: idle work in every process. What streaming buys is the server pushing a
    topology change (a replica-set election) at once; a failed operation still marks the server
    unknown at once in either mode."""
    return AsyncMongoClient(
        url,
        **(credentials or {}),
        tz_aware=True,
        connect=False,
        serverSelectionTimeoutMS=int(timeout_seconds * 1000),
        connectTimeoutMS=2000,
        uuidRepresentation="standard",
        serverMonitoringMode="poll",
    )


class Mongo:
    """The service's client and database, with `transaction` as the only way to write
    several documents together."""

    def __init__(
        self,
        url: str,
        database: str,
        timeout_seconds: float = 5.0,
        credentials: dict[str, Any] | None = None,
    ) -> None:
        self.client = make_client(url, timeout_seconds, credentials)
        self.db: AsyncDatabase[Doc] = self.client[database]
        self.timeout_seconds = timeout_seconds

    async def ping(self, timeout: float = 1.0) -> bool:
        try:
            with pymongo.timeout(timeout):
                await self.client.admin.command("ping")
        except Exception:
            return False
        return True

    async def transaction(
        self, callback: Callable[[AsyncClientSession], Awaitable[T]], timeout: float | None = None
    ) -> T:
        """Run `callback(session)` in one transaction. Transient errors (write conflicts, a lost
        connection, an unknown commit result) rerun the callback, bounded in attempts and time,
        so the callback must have no effect outside the database."""
        limit = timeout or self.timeout_seconds * 2
        async for attempt in transient_retry(attempts=8, max_delay=limit):
            with attempt:
                async with self.client.start_session() as session:
                    with pymongo.timeout(limit):
                        return await session.with_transaction(callback)
        raise AssertionError("unreachable")  # pragma: no cover

    async def close(self) -> None:
        await self.client.close()
