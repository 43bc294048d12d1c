"""order bounded context: order statuses, the neighbours' status feed and report-ready events."""

from __future__ import annotations

from enum import StrEnum

from pydantic import model_validator

from schemas.base import NeighbourModel, NonEmptyStr, Timestamp, WireModel, message
from schemas.saga import Disposition


class OrderStatus(StrEnum):
    """The wire values of an order's `status` (SPEC §5).

    Input is forgiving: case and spaces are normalised ("awaiting payment" -> AWAITING_PAYMENT,
    as 000 writes it), 001's "CANCELED" and 000's "payed" are accepted. Output is always the
    canonical value.
    """

    NEW = "NEW"
    AWAITING_PAYMENT = "AWAITING_PAYMENT"
    FAILED = "FAILED"
    PAID = "PAID"
    IN_PROGRESS = "IN_PROGRESS"
    CONFIRMED = "CONFIRMED"
    ASSEMBLING = "ASSEMBLING"
    READY_FOR_PICKUP = "READY_FOR_PICKUP"
    DELIVERING = "DELIVERING"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    RETURNED = "RETURNED"  # SPEC §5: a completed order returned (admin-accepted), refunded

    @classmethod
    def _missing_(cls, value: object) -> OrderStatus | None:
        if not isinstance(value, str):
            return None
        key = value.strip().upper().replace(" ", "_").replace("-", "_")
        key = _STATUS_SPELLINGS.get(key, key)
        for member in cls:
            if member.value == key:
                return member
        return None


_STATUS_SPELLINGS = {"CANCELED": "CANCELLED", "PAYED": "PAID"}


@message
class OrderStatusUpdate(NeighbourModel):
    """A status change of an order from a neighbour (warehouse / delivery side), 003."""

    order_id: NonEmptyStr
    status: OrderStatus
    reason: str | None = None
    source: NonEmptyStr
    timestamp: Timestamp
    # with CANCELLED from our own store / delivery: what happens to the goods (damaged or lost:
    # WRITE_OFF; returned to the warehouse: RESTOCK)
    disposition: Disposition | None = None


class ReportResult(StrEnum):
    SUCCESS = "success"
    FAIL = "fail"


class ReportDetail(WireModel):
    error: NonEmptyStr
    message: str | None = None


@message
class ReportReady(WireModel):
    """003: `{reportId, result: success|fail, detail{error, message?}}`; detail needed on fail."""

    report_id: NonEmptyStr
    result: ReportResult
    detail: ReportDetail | None = None

    @model_validator(mode="after")
    def _detail_on_fail(self) -> ReportReady:
        if self.result is ReportResult.FAIL and self.detail is None:
            raise ValueError("detail is required when result is fail")
        return self
