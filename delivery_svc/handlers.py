"""Kafka in: orchestra's CONFIRM / REVERSE for the DELIVERY confirmator, answered on the replies
topic in the same transaction; and the sweeper that gives expired holds' places back.

CONFIRM opens the delivery case on the order's hold (or on a slot held right now from the
request's delivery choice when the hold is gone); a second CONFIRM answers SUCCESS again without
a second case. REVERSE always answers SUCCESS: it cancels a case not yet received (a booked
courier shipment is then cancelled at the carrier by shipping.py's loop) and gives the place
back; a received, returned or lost case has nothing to take back; for an order never confirmed
it leaves a tombstone so that a late CONFIRM answers FAIL.

Also: the store's `ParcelHandedOver` (delivery starts only then, parcels.hand_over) and
order_svc's `HoldExtension` (a paid order's live hold is kept at least until `until`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial

from pymongo.asynchronous.client_session import AsyncClientSession

from delivery_svc import domain, parcels
from delivery_svc.cases import emit
from delivery_svc.repository import Session
from delivery_svc.reservations import SlotDesk
from delivery_svc.slots import Hold
from schemas import topics
from schemas.delivery_http import HoldStatus
from schemas.fulfilment import HoldExtension, ParcelHandedOver
from schemas.saga import (
    ConfirmationReply,
    ConfirmationRequest,
    Confirmator,
    RequestType,
    SagaResponse,
)
from servicekit.errors import DomainError
from servicekit.service import Service
from servicekit.sweeps import nudged
from servicekit.unit import Tx

log = logging.getLogger(__name__)


async def confirm(desk: SlotDesk, msg: ConfirmationRequest, session: Session) -> str | None:
    """None when the order has its delivery case; otherwise why not (the FAIL reason).
    A hold past its expiry that the sweeper has not reached yet still owns its place: used."""
    repo, now = desk.repo, desk.clock()
    case = await repo.case(msg.order_id, session)
    if case is not None:
        return domain.confirm_again(case)
    hold = await repo.hold(msg.order_id, session)
    try:
        if hold is None or hold.status is not HoldStatus.HELD:
            hold = await hold_now(desk, msg, session)
        hold = await desk.use(hold, session)
    except DomainError as exc:
        return exc.message
    await repo.insert_case(domain.open_case(hold, now), now, session)
    return None


async def hold_now(desk: SlotDesk, msg: ConfirmationRequest, session: Session) -> Hold:
    """No live hold (it expired or was never made): hold a slot from the request's choice."""
    if msg.delivery is None or msg.username is None:
        raise DomainError("no delivery slot is held for the order and the request names none")
    return await desk.hold(msg.username, msg.order_id, msg.delivery, session, fresh_quote=False)


async def reverse(desk: SlotDesk, msg: ConfirmationRequest, session: Session) -> str | None:
    repo, now = desk.repo, desk.clock()
    case = await repo.case(msg.order_id, session)
    if case is None:
        hold = await repo.hold(msg.order_id, session)
        username = hold.username if hold else msg.username
        await repo.insert_case(domain.tombstone(msg.order_id, username, now), now, session)
    elif (cancelled := domain.reverse(case, now)) is not None:
        await repo.save_case(case, cancelled, now, session)
    await desk.release(msg.order_id, session)
    return None


async def hand_over(desk: SlotDesk, order_id: str, at: datetime, tx: Tx) -> None:
    """Start the delivery. A parcel whose case is not opened yet (its CONFIRM is still on the
    way: the two topics are read in no particular order) is kept for the CONFIRM to find."""
    repo, now = desk.repo, desk.clock()
    case = await repo.case(order_id, tx.session)
    if case is None:
        log.info("parcel of %s handed over before its delivery case: kept", order_id)
        await repo.keep_parcel(order_id, at, tx.session)
        return
    moved = parcels.hand_over(case, at, now)
    if moved is None:
        log.info("parcel of %s handed over changes nothing (%s)", order_id, case.status)
        return
    saved = await repo.save_case(case, moved[0], now, tx.session)
    emit(tx, saved, moved[1], now)


async def kept_parcel(desk: SlotDesk, order_id: str, tx: Tx) -> None:
    """A CONFIRM that opened a case: a parcel handed over before it starts the delivery now."""
    at = await desk.repo.kept_parcel(order_id, tx.session)
    if at is not None:
        await hand_over(desk, order_id, at, tx)


async def extend(desk: SlotDesk, msg: HoldExtension, session: Session) -> None:
    hold = await desk.repo.hold(msg.order_id, session)
    if hold is None or hold.status is not HoldStatus.HELD or hold.expires_at >= msg.until:
        return
    await desk.repo.save_hold(hold, replace(hold, expires_at=msg.until), desk.clock(), session)


def register(service: Service, desk: SlotDesk) -> None:
    async def load(messages: Sequence[ConfirmationRequest], session: AsyncClientSession) -> None:
        await desk.repo.preload([m.order_id for m in messages], session)

    @service.subscribe(topics.DELIVERY_CONFIRMATIONS, ConfirmationRequest, load)
    async def on_request(msg: ConfirmationRequest, tx: Tx) -> None:
        if msg.confirmator is not Confirmator.DELIVERY:
            log.warning("%s request for %s ignored", msg.confirmator, msg.order_id)
            return
        act = confirm if msg.request_type is RequestType.CONFIRM else reverse
        reason = await act(desk, msg, tx.session)
        if reason is not None:
            log.info("%s %s answered FAIL: %s", msg.request_type, msg.order_id, reason)
        elif msg.request_type is RequestType.CONFIRM:
            await kept_parcel(desk, msg.order_id, tx)
        tx.emit(
            topics.CONFIRMATION_REPLIES,
            ConfirmationReply(
                order_id=msg.order_id,
                request_type=msg.request_type,
                confirmator=Confirmator.DELIVERY,
                response=SagaResponse.SUCCESS if reason is None else SagaResponse.FAIL,
                reason=reason,
            ),
            key=msg.order_id,
        )

    @service.subscribe(topics.PARCELS, ParcelHandedOver)
    async def on_parcel(msg: ParcelHandedOver, tx: Tx) -> None:
        await hand_over(desk, msg.order_id, msg.timestamp, tx)

    @service.subscribe(topics.HOLD_EXTENSIONS, HoldExtension)
    async def on_extension(msg: HoldExtension, tx: Tx) -> None:
        await extend(desk, msg, tx.session)

    async def expire(tx: Tx, *, order_id: str) -> bool:
        return await desk.expire(order_id, tx.session)

    # holds are taken and extended in this service's transactions (they nudge the loop) and
    # expire at their expiresAt (read back): servicekit.sweeps
    pace = nudged(service, desk.settings.sweep_interval_seconds, desk.clock)

    @service.loop
    async def expire_holds(_: Service) -> None:
        while True:
            expired = await desk.repo.expired_holds(desk.clock())
            for order_id in expired:
                await service.transaction(partial(expire, order_id=order_id))
            await pace.sleep(desk.clock() if expired else await desk.repo.next_hold_expiry())
