"""orchestra's edge: an admin's read of sagas (`GET /sagas`, `GET /sagas/{orderId}`).

A saga's `state` (CONFIRMING -> CONFIRMED | COMPENSATING -> CANCELLED) and each participant's
step (PENDING, SUCCESS, FAIL, REVERSED) as orchestra keeps them; `history` lists what happened,
each entry with the state the saga was in when it happened.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import ConfigDict, Field

from schemas.base import NonEmptyStr, Timestamp, UpperEnum, WireModel
from schemas.fulfilment import CancellationKind
from schemas.saga import Confirmator, Disposition, OrderConfirmationRequest


class SagaState(StrEnum):
    CONFIRMING = "CONFIRMING"
    CONFIRMED = "CONFIRMED"
    COMPENSATING = "COMPENSATING"
    CANCELLED = "CANCELLED"


class StepState(UpperEnum):
    """Sagas stored before the casing was made one (`pending`) read as they are now."""

    PENDING = "PENDING"
    SUCCESS = "SUCCESS"
    FAIL = "FAIL"
    REVERSED = "REVERSED"


class SagaQuery(WireModel):
    """`GET /sagas?state=&page=&pageSize=`: an unknown state is refused (400)."""

    model_config = ConfigDict(extra="ignore")

    state: SagaState | None = None
    page: int = Field(default=0, ge=0, le=1_000_000)
    page_size: int = Field(default=20, ge=1, le=200)


class SagaEvent(WireModel):
    """One line of a saga's history: `event` happened `at`, while the saga was `state`."""

    model_config = ConfigDict(extra="ignore")

    at: Timestamp
    event: NonEmptyStr
    state: SagaState
    participant: Confirmator | None = None
    reason: str | None = None
    by: str | None = None


class SagaCancellation(WireModel):
    """order_svc's request to undo the order: who asked, why and when."""

    model_config = ConfigDict(extra="ignore")

    kind: CancellationKind
    by: str
    reason: str | None = None
    at: Timestamp


class SagaView(WireModel):
    order_id: NonEmptyStr
    state: SagaState
    steps: dict[Confirmator, StepState]
    reason: str | None = None
    deadline: Timestamp
    username: NonEmptyStr
    order_version: int
    created_at: Timestamp
    updated_at: Timestamp | None = None
    history: tuple[SagaEvent, ...] = ()
    request: OrderConfirmationRequest
    disposition: Disposition | None = None
    cancellation: SagaCancellation | None = None


class SagaPage(WireModel):
    items: tuple[SagaView, ...]
    page: int
    page_size: int
    total: int
