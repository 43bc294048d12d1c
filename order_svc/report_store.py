"""Report documents: one per started report, RUNNING until its file is written and its event
queued (DONE) or it is given up (FAILED).

While RUNNING a report carries `runningFor` (its day), unique: a second start for the same day
finds the running one instead of making another. The writer holding it keeps a lease
(`leaseOwner`, `leaseUntil`) it renews while it writes; a report whose lease ran out belongs to
a writer that died, and any writer may take it over. Every change is conditional on what the
writer read, so two writers never both finish one report."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from schemas.report_http import ReportState
from servicekit.mongo import Doc
from servicekit.sweeps import earliest

RUNNING = ReportState.RUNNING.value


class Reports:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.reports = db.reports

    async def ensure_indexes(self) -> None:
        await self.reports.create_index("runningFor", unique=True, sparse=True)
        await self.reports.create_index([("status", ASCENDING), ("leaseUntil", ASCENDING)])

    async def get(self, report_id: str) -> Doc | None:
        return await self.reports.find_one({"_id": report_id})

    async def start(self, day: date, by: str, now: datetime) -> str:
        """A new RUNNING report for `day`, claimable at once; or the id of the one running."""
        while True:
            report_id = str(uuid.uuid4())
            try:
                await self.reports.insert_one(
                    {
                        "_id": report_id,
                        "date": day.isoformat(),
                        "status": RUNNING,
                        "runningFor": day.isoformat(),
                        "requestedBy": by,
                        "attempts": 0,
                        "leaseUntil": now,
                        "createdAt": now,
                    }
                )
                return report_id
            except DuplicateKeyError:
                running = await self.reports.find_one({"runningFor": day.isoformat()})
                if running is not None:
                    return str(running["_id"])
                # it finished between our insert and our read: start a new one

    async def claimable(self, now: datetime, limit: int = 10) -> list[Doc]:
        """RUNNING reports nobody holds (new ones, and those of a writer that died)."""
        cursor = self.reports.find({"status": RUNNING, "leaseUntil": {"$lt": now}}).limit(limit)
        return await cursor.to_list()

    async def next_lease_end(self) -> datetime | None:
        """When the earliest lease on a RUNNING report ends (claimable from then on)."""
        return await earliest(self.reports, {"status": RUNNING}, "leaseUntil")

    async def claim(self, doc: Doc, owner: str, until: datetime) -> bool:
        """Take the report if nobody else took it since `doc` was read."""
        result = await self.reports.update_one(
            {"_id": doc["_id"], "status": RUNNING, "leaseUntil": doc["leaseUntil"]},
            {"$set": {"leaseOwner": owner, "leaseUntil": until}, "$inc": {"attempts": 1}},
        )
        return result.modified_count == 1

    async def renew(self, report_id: str, owner: str, until: datetime) -> bool:
        """Keep the lease; False when another writer has taken the report over."""
        result = await self.reports.update_one(
            {"_id": report_id, "status": RUNNING, "leaseOwner": owner},
            {"$set": {"leaseUntil": until}},
        )
        return result.modified_count == 1

    async def finish(
        self,
        report_id: str,
        owner: str,
        outcome: dict[str, Any],
        session: AsyncClientSession,
    ) -> bool:
        """DONE or FAILED (`outcome` holds `status` and what to show) if we still hold it."""
        result = await self.reports.update_one(
            {"_id": report_id, "status": RUNNING, "leaseOwner": owner},
            {"$set": outcome, "$unset": {"runningFor": "", "leaseUntil": ""}},
            session=session,
        )
        return result.modified_count == 1


def lease_end(now: datetime, seconds: float) -> datetime:
    return now + timedelta(seconds=seconds)
