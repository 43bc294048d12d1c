"""Attempt counters behind the throttles (login, sends). An attempt is counted BEFORE the
guarded work runs, atomically: a free attempt by an increment bounded by the free count, a
delayed one by a compare-and-set on the count, so parallel attempts cannot all read the same
old count and pass."""

from __future__ import annotations

from datetime import datetime, timedelta

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from auth_svc.domain import Throttle
from servicekit.errors import TooManyRequests
from servicekit.mongo import Doc

# a request that keeps losing the compare-and-set to parallel ones is told to retry
CONTENDED_TRIES = 5


class Limits:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.counters = db.attempt_counters

    async def ensure_indexes(self) -> None:
        await self.counters.create_index("expiresAt", expireAfterSeconds=0)

    async def take(self, key: str, throttle: Throttle, now: datetime, quiet: timedelta) -> None:
        """Count one attempt under `key`, or raise 429 if the throttle says wait. A key's
        count is forgotten after `quiet` without attempts."""
        moved_on = {"lastAt": now, "expiresAt": now + quiet}
        for _ in range(CONTENDED_TRIES):
            doc = await self.counters.find_one({"_id": key})
            if doc is None or doc["expiresAt"] <= now:
                counted = await self._swap(key, doc, {"count": 1, **moved_on})
            elif doc["count"] < throttle.free:
                counted = await self._take_free(key, throttle.free, moved_on)
            else:
                wait = throttle.wait(doc["count"], doc["lastAt"], now)
                if wait > timedelta(0):
                    raise throttle.refuse(wait)
                counted = await self._swap(key, doc, {"count": doc["count"] + 1, **moved_on})
            if counted:
                return
        raise TooManyRequests(throttle.message, retry_after=1)

    async def _take_free(self, key: str, free: int, moved_on: Doc) -> bool:
        """One of the free attempts: an increment bounded by the count itself, so parallel
        requests (many good logins from one office address) never lose a race here."""
        taken = await self.counters.update_one(
            {"_id": key, "count": {"$lt": free}}, {"$inc": {"count": 1}, "$set": moved_on}
        )
        return taken.modified_count == 1

    async def _swap(self, key: str, seen: Doc | None, fresh: Doc) -> bool:
        if seen is None:
            try:
                await self.counters.insert_one({"_id": key, **fresh})
            except DuplicateKeyError:
                return False
            return True
        unchanged = {"_id": key, "count": seen["count"], "lastAt": seen["lastAt"]}
        return (await self.counters.update_one(unchanged, {"$set": fresh})).modified_count == 1

    async def clear(self, key: str) -> None:
        await self.counters.delete_one({"_id": key})

    async def give_back(self, key: str) -> None:
        """Uncount one attempt that succeeded (a shared address's good logins cost nothing)."""
        await self.counters.update_one({"_id": key, "count": {"$gt": 0}}, {"$inc": {"count": -1}})
