"""Versioned startup steps: each service declares, in order, the steps that shape its database
(indexes first of all); each step runs once per database and is recorded in `migrations`
(`{_id: step id, state, startedAt, appliedAt}`).

A step, once released, never changes: a new index, or an index whose options change, is a new
step (drop the old index, create the new one). Two starters never run a step together: the
first to insert the step's `_id` runs it, the others wait until it is recorded as applied. A
starter that dies inside a step leaves its claim behind; after `CLAIM_SECONDS` another starter
takes the step over, so a step must be safe to run again (index creation is).

An index that already exists with other options or keys is a *permanent* error: retrying cannot
fix it, so the service exits and says why (see `is_permanent`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure

from servicekit.mongo import Doc, utcnow

log = logging.getLogger(__name__)
COLLECTION = "migrations"
CLAIM_SECONDS = 30.0
# IndexOptionsConflict (mongod: same keys, other options) and IndexKeySpecsConflict (same name,
# other keys; SecantusDB answers this one for both)
INDEX_CONFLICTS = (85, 86)


class IndexConflict(Exception):
    """A step asked for an index that the database holds with other options or keys."""


@dataclass(frozen=True)
class Step:
    id: str
    run: Callable[[], Awaitable[Any]]


def is_permanent(exc: BaseException) -> bool:
    """A start-up error that no retry can fix: a conflicting index, a setting that is wrong."""
    if isinstance(exc, OperationFailure) and exc.code in INDEX_CONFLICTS:
        return True
    return isinstance(exc, IndexConflict | ValidationError)


async def apply(db: AsyncDatabase[Doc], steps: Sequence[Step], poll: float = 0.2) -> list[str]:
    """Run the steps this database has not applied yet, in order; the ids of those run here."""
    ids = [s.id for s in steps]
    if len(set(ids)) != len(ids):
        raise ValueError(f"step ids repeat: {ids}")
    coll = db[COLLECTION]
    applied = {d["_id"] async for d in coll.find({"state": "applied"}, {"_id": 1})}
    ran: list[str] = []
    for step in steps:
        while step.id not in applied:
            if await _claim(coll, step.id):
                await _run(coll, step)
                await coll.update_one(
                    {"_id": step.id}, {"$set": {"state": "applied", "appliedAt": utcnow()}}
                )
                log.info("startup step %s applied", step.id)
                ran.append(step.id)
                break
            doc = await coll.find_one({"_id": step.id})
            if doc is not None and doc.get("state") == "applied":
                break
            await asyncio.sleep(poll)  # another starter runs it
    return ran


async def _run(coll: Any, step: Step) -> None:
    """Run a claimed step; if it fails, give the claim back so that the next start (after a
    fix) need not wait for it to go stale."""
    try:
        await step.run()
    except BaseException as exc:
        with contextlib.suppress(Exception):
            await coll.delete_one({"_id": step.id, "state": "running"})
        if isinstance(exc, OperationFailure) and exc.code in INDEX_CONFLICTS:
            why = (exc.details or {}).get("errmsg", str(exc))
            hint = "an index change is a new step that drops the old index first"
            raise IndexConflict(f"startup step {step.id}: {why} ({hint})") from exc
        raise


async def _claim(coll: Any, step_id: str) -> bool:
    """Ours to run: a fresh claim, or one whose starter has been silent for CLAIM_SECONDS."""
    now = utcnow()
    try:
        await coll.insert_one({"_id": step_id, "state": "running", "startedAt": now})
        return True
    except DuplicateKeyError:
        pass
    stale: datetime = now - timedelta(seconds=CLAIM_SECONDS)
    taken = await coll.update_one(
        {"_id": step_id, "state": "running", "startedAt": {"$lt": stale}},
        {"$set": {"startedAt": now}},
    )
    return bool(taken.modified_count)


async def upper_case(coll: Any, field: str, values: Iterable[str], history: str = "") -> None:
    """A step's body for a status made UPPER_SNAKE_CASE: rewrite `field`'s old lower-case
    `values` (an update_many per value), and the same field in each entry of the array
    `history` where a document keeps one. Safe to run again: an upper-case value is left."""
    old = [v for v in values if v != v.upper()]
    for value in old:
        await coll.update_many({field: value}, {"$set": {field: value.upper()}})
    if not history:
        return
    query = {f"{history}.{field}": {"$in": old}}
    while (doc := await coll.find_one(query, {history: 1})) is not None:
        entries = [
            {**e, field: e[field].upper()} if isinstance(e, dict) and e.get(field) in old else e
            for e in doc[history]
        ]
        # only if no entry was appended meanwhile (else the loop reads it again)
        await coll.update_one(
            {"_id": doc["_id"], history: doc[history]}, {"$set": {history: entries}}
        )
