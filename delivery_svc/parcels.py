"""After the hand-over, without I/O: the parcel recorded on the case, a pickup parcel's arrival
at its point with a pickup code (only the code's hash is kept), the customer collecting it with
the code, the storage period after which it goes back, the wrong-code limit, and what a
carrier's tracking event does to a courier case."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from delivery_svc.domain import (
    DELIVERY_FAILED,
    ENDED,
    NOT_COLLECTED,
    PARCEL_LOST,
    Case,
    Event,
    ReadyAtPoint,
    advance,
    check_transition,
)
from schemas.delivery_http import CaseStatus, DeliveryKind
from servicekit.errors import Conflict

C = CaseStatus
CODE_SPACE = 10**6  # six digits


class WrongCode(Conflict):
    pass


def new_code(randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    return f"{randbelow(CODE_SPACE):06d}"


def code_hash(order_id: str, code: str) -> str:
    """Salted by the order: one code's hash says nothing about another order's."""
    return hashlib.sha256(f"{order_id}:{code}".encode()).hexdigest()


def hand_over(case: Case, at: datetime, now: datetime) -> tuple[Case, list[Event]] | None:
    """The warehouse handed the parcel over: a pickup parcel sets off to its point through our
    own network (in_transit); a courier parcel waits in `opened` for its carrier booking.
    None when there is nothing to do (recorded already, or the case was cancelled)."""
    if case.parcel_at is not None or case.status is not C.OPENED:
        return None
    recorded = replace(case, parcel_at=at)
    if case.kind is DeliveryKind.PICKUP:
        return advance(recorded, C.IN_TRANSIT, now, by="warehouse")
    return recorded, []


def arrive(
    case: Case, now: datetime, by: str, code: str, storage: timedelta
) -> tuple[Case, list[Event]]:
    """The parcel is at its point: kept until `now + storage` under a new code. The notice to
    the customer carries the code; the case keeps its hash. Again: nothing changes."""
    if case.status is C.AT_PICKUP_POINT:
        return case, []
    check_transition(case, C.AT_PICKUP_POINT)
    stored = replace(case, keep_until=now + storage, code_hash=code_hash(case.order_id, code))
    moved, events = advance(stored, C.AT_PICKUP_POINT, now, by)
    return moved, [replace(e, code=code) if isinstance(e, ReadyAtPoint) else e for e in events]


def collect(case: Case, code: str, now: datetime, by: str) -> tuple[Case, list[Event]]:
    """The customer shows the code at the point: the order is received."""
    if case.status is not C.AT_PICKUP_POINT:
        raise Conflict(
            f"the parcel of order {case.order_id} is not waiting at a pickup point "
            f"(delivery case {case.status})"
        )
    given = code_hash(case.order_id, code.strip())
    if case.code_hash is None or not hmac.compare_digest(given, case.code_hash):
        raise WrongCode(f"wrong pickup code for order {case.order_id}")
    return advance(case, C.RECEIVED, now, by)


def not_collected(case: Case, now: datetime) -> tuple[Case, list[Event]] | None:
    """Past its storage period the parcel goes back to the warehouse (restocked)."""
    if case.status is not C.AT_PICKUP_POINT or case.keep_until is None or case.keep_until > now:
        return None
    return advance(case, C.RETURNED, now, by="pickup point", reason=NOT_COLLECTED)


def locked_for(
    tries: int, last_try: datetime | None, now: datetime, limit: int, lock: timedelta
) -> int:
    """Seconds until an order with `tries` counted wrong-or-right attempts may try again
    (0: it may now)."""
    if tries < limit or last_try is None:
        return 0
    left = (last_try + lock - now).total_seconds()
    return max(0, math.ceil(left))


# -- the carrier's tracking events ---------------------------------------------------------
TRACKED = {
    "ACCEPTED": C.IN_TRANSIT,
    "IN_TRANSIT": C.IN_TRANSIT,
    "OUT_FOR_DELIVERY": C.OUT_FOR_DELIVERY,
    "DELIVERED": C.RECEIVED,
    "RETURNED": C.RETURNED,
    "LOST": C.LOST,
}
REASONS = {C.RETURNED: DELIVERY_FAILED, C.LOST: PARCEL_LOST}


class Ignored(Exception):
    """A tracking event that changes nothing, and why (logged, answered 200)."""


def track(case: Case, status: str, attempt: int | None, now: datetime) -> tuple[Case, list[Event]]:
    """What a carrier status does to a courier case. A status the case has already reached, or
    one that would move it back (an event out of order: DELIVERED after RETURNED, IN_TRANSIT
    after OUT_FOR_DELIVERY), raises Ignored; a failed attempt is counted (the courier tries
    again, the case stays out for delivery)."""
    if case.status in ENDED:
        raise Ignored(f"the case has ended ({case.status}): {status} comes too late")
    if status == "FAILED_ATTEMPT":
        count = max(case.failed_attempts + 1 if attempt is None else attempt, 1)
        if count <= case.failed_attempts:
            raise Ignored(f"failed attempt {count} already counted")
        return replace(case, failed_attempts=count), []
    wanted = TRACKED.get(status)
    if wanted is None:
        raise Ignored(f"carrier status {status} moves no case")
    if wanted is case.status:
        raise Ignored(f"the case is {case.status} already")
    if case.status is C.OPENED and case.parcel_at is not None and wanted is not C.IN_TRANSIT:
        case, _ = advance(case, C.IN_TRANSIT, now, by="carrier")  # a lost ACCEPTED event
    try:
        check_transition(case, wanted)
    except Conflict as exc:
        raise Ignored(exc.message) from exc
    return advance(case, wanted, now, by="carrier", reason=REASONS.get(wanted))
