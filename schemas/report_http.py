"""HTTP bodies of order_svc's report edge (003 daily reports; SPEC §8): `POST /reports` starts
one and answers its id at once, `GET /reports/{id}` tells how it is going, `GET
/reports/{id}/file` hands over the `.jsonl` file. Amounts are integer kopecks."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from schemas.base import Money, NonNegativeInt, WireModel

ReportDay = Annotated[date, Field(strict=True)]
"""A calendar day as `YYYY-MM-DD` (strict: no timestamps, no numbers)."""


class ReportState(StrEnum):
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"


class ReportRequest(WireModel):
    """`{date?}`: the UTC day whose sales the report lists; yesterday (UTC) when left out.
    Today is allowed (the sales so far), a future day is refused."""

    date: ReportDay | None = None


class ReportStarted(WireModel):
    """202: the report's id; the running one's id when that day's report is already running."""

    report_id: str


class ReportStatus(WireModel):
    report_id: str
    date: ReportDay
    status: ReportState
    # filled in when DONE: lines in the file (one per unit sold), orders and money they add up to
    units: NonNegativeInt = 0
    orders: NonNegativeInt = 0
    amount: Money = 0
    created_at: datetime
    finished_at: datetime | None = None
    error_message: str | None = None  # why it FAILED
