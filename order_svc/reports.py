"""The report edge (003 daily reports, SPEC §8): a neighbour system (its own `X-Api-Key`) or an
admin starts a report for a day and gets its id at once (202); the report is written in the
background (order_svc.report_writer) and announced on `topics.REPORT_READY`; `GET
/reports/{id}` shows how it is going and `GET /reports/{id}/file` hands over the file."""

from __future__ import annotations

import hmac
from datetime import date
from pathlib import Path

from aiohttp import web

from order_svc import report_lines
from order_svc.book import OrderBook
from order_svc.report_store import Reports
from order_svc.report_writer import ReportWriter
from schemas.report_http import ReportRequest, ReportStarted, ReportState, ReportStatus
from servicekit.errors import Conflict, InvalidRequest, NotFound, Unauthorized
from servicekit.http import read_body, reply
from servicekit.identity import admin
from servicekit.mongo import Doc
from servicekit.service import Service

API_KEY_HEADER = "X-Api-Key"


def key_matches(given: str, keys: tuple[str, ...]) -> bool:
    """Compare with every key, in constant time each, so the answer's timing tells nothing."""
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(given.encode(), key.encode())
    return matched


async def reporter(request: web.Request, service: Service, keys: tuple[str, ...]) -> str:
    """Who may use reports: a neighbour with a known key, or an admin (401 / 403 otherwise).
    A key that is sent but wrong is refused even with an admin's session."""
    given = request.headers.get(API_KEY_HEADER)
    if given is not None:
        if not key_matches(given, keys):
            raise Unauthorized("Invalid API key")
        return "api-key"
    return (await admin(request, service.auth)).username


def status_of(doc: Doc) -> ReportStatus:
    return ReportStatus(
        report_id=doc["_id"],
        date=date.fromisoformat(doc["date"]),
        status=ReportState(doc["status"]),
        units=doc.get("units", 0),
        orders=doc.get("orders", 0),
        amount=doc.get("amount", 0),
        created_at=doc["createdAt"],
        finished_at=doc.get("finishedAt"),
        error_message=doc.get("error"),
    )


def mount(book: OrderBook) -> None:
    service, settings = book.service, book.settings
    reports = Reports(service.db)
    writer = ReportWriter(service, reports, settings, book.clock)
    service.loop(writer.run, claims_its_work=True)  # one lease per report
    keys = settings.report_keys

    @service.step("report-indexes-v1")
    async def indexes(_: Service) -> None:
        await reports.ensure_indexes()

    @service.routes.post(
        "/reports", body=ReportRequest, response=ReportStarted, status=202, auth="admin"
    )
    async def start_report(request: web.Request) -> web.Response:
        """Start the report of a UTC day (default yesterday); answers its id at once, the
        running one's when that day's report is already being written. Admin or X-Api-Key."""
        by = await reporter(request, service, keys)
        raw = await request.read()
        req = await read_body(request, ReportRequest) if raw.strip() else ReportRequest()
        now = book.clock()
        day = req.date or report_lines.default_day(now)
        if refused := report_lines.day_refused(day, now):
            raise InvalidRequest(refused)
        report_id = await reports.start(day, by, now)
        writer.wake()
        return reply(ReportStarted(report_id=report_id), status=202)

    async def report_of(request: web.Request) -> Doc:
        await reporter(request, service, keys)
        doc = await reports.get(request.match_info["id"])
        if doc is None:
            raise NotFound("Report not found")
        return doc

    @service.routes.get("/reports/{id}", response=ReportStatus, auth="admin")
    async def report_status(request: web.Request) -> web.Response:
        """The report's status and, once DONE, its counts. Admin or X-Api-Key."""
        return reply(status_of(await report_of(request)))

    @service.routes.get("/reports/{id}/file", auth="admin", media="application/x-ndjson")
    async def report_file(request: web.Request) -> web.StreamResponse:
        """The report's `.jsonl` file, one line per unit sold (409 until it is DONE)."""
        doc = await report_of(request)
        if doc["status"] != ReportState.DONE.value:
            raise Conflict(f"Report is {doc['status']}: {doc.get('error') or 'not written yet'}")
        name = f"report-{doc['date']}-{doc['_id']}.jsonl"
        return web.FileResponse(
            Path(settings.report_dir) / f"{doc['_id']}.jsonl",
            headers={
                "Content-Type": "application/x-ndjson; charset=utf-8",
                "Content-Disposition": f'attachment; filename="{name}"',
            },
        )
