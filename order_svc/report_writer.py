"""The background writer of daily reports (003): a loop in order_svc, like the unpaid-order
sweeper, that takes RUNNING reports nobody holds and writes each one's `.jsonl` file.

The file streams from a cursor over the day's orders, a batch at a time (never the whole day in
memory), into a temporary file of this attempt; once complete it is synced and renamed over
`<reportId>.jsonl` atomically, so a reader only ever sees a whole file and a report written
twice (a crash after the rename) is still one file. Only then is the report marked DONE, in
the same transaction as its *report ready* event (through the outbox): one status, one event.
A writer that dies holds a lease that runs out; the report is then written again from the
start by whoever takes it."""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

from order_svc import report_lines
from order_svc.book import Clock
from order_svc.report_lines import Tally
from order_svc.report_store import Reports, lease_end
from order_svc.settings import OrderSettings
from schemas import topics
from schemas.order import ReportDetail, ReportReady, ReportResult
from schemas.report_http import ReportState
from servicekit import faults
from servicekit.mongo import Doc
from servicekit.service import Service
from servicekit.sweeps import BACKSTOP, Pace
from servicekit.unit import Tx

log = logging.getLogger(__name__)
PROJECTION = {"status": 1, "kind": 1, "username": 1, "items": 1, "history": 1}


class LeaseLost(Exception):
    """Another writer took the report over (ours was thought dead): stop, it finishes it."""


class ReportWriter:
    def __init__(
        self, service: Service, reports: Reports, settings: OrderSettings, clock: Clock
    ) -> None:
        self.service, self.reports, self.settings, self.clock = service, reports, settings, clock
        self.orders = service.db.orders
        self.owner = uuid.uuid4().hex  # this process's name on the leases it holds
        self.dir = Path(settings.report_dir)
        # a report started here wakes the writer; one whose writer died is claimable at the end
        # of its lease (read back); with replicas, one started in a replica that died before
        # claiming it is found within the old poll (servicekit.sweeps)
        poll = settings.report_poll_seconds
        self.pace = Pace(poll, poll if settings.replicas > 1 else BACKSTOP, clock)

    def wake(self) -> None:
        """A report was just started here: take it now rather than at the next poll."""
        self.pace.wake()

    async def run(self, _: object) -> None:
        while True:
            for doc in await self.reports.claimable(self.clock()):
                if await self.reports.claim(doc, self.owner, self._lease_end()):
                    await self.generate(doc)
            await self.pace.sleep(await self.reports.next_lease_end())

    async def generate(self, doc: Doc) -> None:
        report_id = doc["_id"]
        if doc["attempts"] >= self.settings.report_max_attempts:
            # each attempt died on the way (a crash, a bug): do not die on it forever
            await self.failed(report_id, "gave_up", f"{doc['attempts']} attempts did not finish")
            return
        try:
            tally = await self.write_file(report_id, date.fromisoformat(doc["date"]))
        except LeaseLost:
            log.warning("report %s was taken over by another writer", report_id)
            return
        except OSError as exc:
            log.exception("report %s cannot be written", report_id)
            await self.failed(report_id, "file_error", str(exc))
            return
        await self.done(report_id, tally)

    async def write_file(self, report_id: str, day: date) -> Tally:
        self.dir.mkdir(parents=True, exist_ok=True)
        for stale in self.dir.glob(f"{report_id}.*.tmp"):
            stale.unlink(missing_ok=True)  # a dead attempt's partial file
        temp = self.dir / f"{report_id}.{self.owner}.tmp"
        with temp.open("w", encoding="utf-8") as out:
            tally = await self.stream(report_id, day, out)
            await asyncio.to_thread(sync, out)
        faults.point("report.before_rename")
        await self.keep_lease(report_id)
        os.replace(temp, self.dir / f"{report_id}.jsonl")
        await asyncio.to_thread(sync_dir, self.dir)
        faults.point("report.after_rename")
        return tally

    async def stream(self, report_id: str, day: date, out: TextIO) -> Tally:
        """The day's sold units into `out`, a cursor batch at a time."""
        start, end = report_lines.day_window(day)
        # the index on `history.at` finds every order with any step that day; which of them
        # were paid that day and are still sold is decided here (report_lines.sold_within)
        cursor = self.orders.find(
            {"history.at": {"$gte": start, "$lt": end}},
            PROJECTION,
            batch_size=self.settings.report_batch,
        )
        tally, read = Tally(), 0
        async for order in cursor:
            if report_lines.sold_within(order, start, end):
                tally.add(order)
            read += 1
            if read % self.settings.report_batch == 0:
                await asyncio.to_thread(out.write, tally.drain())
                faults.point("report.mid_file")
                await self.keep_lease(report_id)
        await asyncio.to_thread(out.write, tally.drain())
        return tally

    async def keep_lease(self, report_id: str) -> None:
        if not await self.reports.renew(report_id, self.owner, self._lease_end()):
            raise LeaseLost(report_id)

    async def done(self, report_id: str, tally: Tally) -> None:
        counts = {"units": tally.units, "orders": tally.orders, "amount": tally.amount}
        event = ReportReady(report_id=report_id, result=ReportResult.SUCCESS)
        await self.finish(report_id, {"status": ReportState.DONE.value, **counts}, event)

    async def failed(self, report_id: str, error: str, message: str) -> None:
        detail = ReportDetail(error=error, message=message)
        event = ReportReady(report_id=report_id, result=ReportResult.FAIL, detail=detail)
        outcome = {"status": ReportState.FAILED.value, "error": f"{error}: {message}"}
        await self.finish(report_id, outcome, event)

    async def finish(self, report_id: str, outcome: dict[str, Any], event: ReportReady) -> None:
        """The final status and the *report ready* event, in one transaction, if the report
        is still ours."""

        async def apply(tx: Tx) -> None:
            changes = {**outcome, "finishedAt": self.clock()}
            if await self.reports.finish(report_id, self.owner, changes, tx.session):
                tx.emit(topics.REPORT_READY, event, key=report_id)
            else:
                log.warning("report %s was finished by another writer", report_id)

        await self.service.transaction(apply)

    def _lease_end(self) -> datetime:
        return lease_end(self.clock(), self.settings.report_lease_seconds)


def sync(out: TextIO) -> None:
    out.flush()
    os.fsync(out.fileno())


def sync_dir(path: Path) -> None:
    """Make the rename itself durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
