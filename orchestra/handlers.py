"""Kafka in: paid orders to confirm, participants' replies, cancellations and returns of
handed-over orders; the deadline sweeper. Each turns into one transaction: saga state + the
messages the state machine commands (outbox)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import partial

from pymongo.asynchronous.client_session import AsyncClientSession

from orchestra import domain
from orchestra.repository import Sagas, to_saga
from orchestra.settings import OrchestraSettings
from schemas import topics
from schemas.fulfilment import OrderCancellation
from schemas.saga import (
    ConfirmationReply,
    ConfirmationRequest,
    Confirmator,
    Disposition,
    OrderConfirmationRequest,
    OrderOutcome,
    RequestType,
    SagaNotification,
)
from servicekit.mongo import Doc, utcnow
from servicekit.service import Service
from servicekit.sweeps import Pace
from servicekit.unit import Tx

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
TOPIC_OF = {
    Confirmator.PAYMENT: topics.PAYMENT_CONFIRMATIONS,
    Confirmator.STORE: topics.STORE_CONFIRMATIONS,
    Confirmator.DELIVERY: topics.DELIVERY_CONFIRMATIONS,
}


def emit(tx: Tx, doc: Doc, commands: list[domain.Command], now: datetime) -> None:
    request = OrderConfirmationRequest.model_validate(doc["request"])
    disposition = Disposition(doc["disposition"]) if doc.get("disposition") else None
    for command in commands:
        if isinstance(command, domain.Send):
            tx.emit(
                TOPIC_OF[command.to],
                ConfirmationRequest(
                    order_id=request.order_id,
                    request_type=command.request,
                    confirmator=command.to,
                    order_items=request.order_items,
                    total=request.total,
                    username=request.username,
                    delivery=request.delivery,
                    payment_id=request.payment_id,
                    disposition=disposition if command.request is RequestType.REVERSE else None,
                ),
                key=request.order_id,
            )
        else:
            tx.emit(
                topics.ORDER_OUTCOMES,
                OrderOutcome(
                    order_id=request.order_id,
                    version=doc["orderVersion"],
                    response=command.response,
                    reason=command.reason,
                ),
                key=request.order_id,
            )
            tx.emit(
                topics.SAGA_NOTIFICATIONS,
                SagaNotification(
                    order_id=request.order_id,
                    username=request.username,
                    response=command.response,
                    timestamp=now,
                ),
                key=request.order_id,
            )


def register(
    service: Service, settings: OrchestraSettings, sagas: Sagas, clock: Clock = utcnow
) -> None:
    timeout = timedelta(seconds=settings.saga_timeout_seconds)

    async def load(
        messages: Sequence[OrderConfirmationRequest | ConfirmationReply | OrderCancellation],
        session: AsyncClientSession,
    ) -> None:
        await sagas.preload([m.order_id for m in messages], session)

    @service.subscribe(topics.ORDER_CONFIRMATION_REQUESTS, OrderConfirmationRequest, load)
    async def on_order(msg: OrderConfirmationRequest, tx: Tx) -> None:
        if await sagas.get(msg.order_id, tx.session) is not None:
            log.info("saga %s exists; request ignored", msg.order_id)
            return
        now = clock()
        saga, commands = domain.start(msg.order_id, now, timeout)
        await sagas.insert(saga, msg, now, tx.session)
        emit(tx, {"request": msg.to_wire(), "orderVersion": msg.version}, commands, now)

    @service.subscribe(topics.CONFIRMATION_REPLIES, ConfirmationReply, load)
    async def on_reply(msg: ConfirmationReply, tx: Tx) -> None:
        doc = await sagas.get(msg.order_id, tx.session)
        if doc is None:
            log.warning("reply for unknown saga %s ignored", msg.order_id)
            return
        now = clock()
        saga, commands = domain.on_reply(
            to_saga(doc), msg.confirmator, msg.request_type, msg.response, msg.reason, now, timeout
        )
        await sagas.save(doc, saga, now, tx.session)
        emit(tx, doc, commands, now)

    @service.subscribe(topics.ORDER_CANCELLATIONS, OrderCancellation, load)
    async def on_cancellation(msg: OrderCancellation, tx: Tx) -> None:
        """Undo a handed-over order: compensate whatever its saga has done (or start one that
        only compensates); the outcome FAIL carries the cancellation's version back."""
        doc = await sagas.get(msg.order_id, tx.session)
        now = clock()
        asked = {"kind": msg.kind.value, "by": msg.by, "reason": msg.reason, "at": now}
        extra: Doc = {"orderVersion": msg.version, "cancellation": asked}
        if doc is None:
            saga, commands = domain.start_cancelled(msg.order_id, msg.by, msg.reason, now, timeout)
            request = OrderConfirmationRequest.model_validate(
                {name: getattr(msg, name) for name in OrderConfirmationRequest.model_fields}
            )
            extra["disposition"] = msg.disposition.value
            await sagas.insert(saga, request, now, tx.session, extra)
            emit(tx, {"request": request.to_wire(), **extra}, commands, now)
            return
        saga, commands = domain.cancel(to_saga(doc), msg.by, msg.reason, now, timeout)
        if saga.state is not domain.SagaState(doc["state"]):  # compensating from now on
            extra["disposition"] = msg.disposition.value
        await sagas.save(doc, saga, now, tx.session, extra)
        emit(tx, {**doc, **extra}, commands, now)

    # every deadline is its write's clock + the saga timeout, so a saga written after a round
    # falls due no sooner than that after it: half of it covers a transaction that read its
    # clock before the round and committed after (servicekit.sweeps)
    pace = Pace(settings.deadline_sweep_seconds, settings.saga_timeout_seconds / 2, clock)

    @service.loop
    async def deadlines(_: Service) -> None:
        while True:
            for order_id in await sagas.overdue(clock()):
                await service.transaction(partial(past_deadline, order_id=order_id))
            await pace.sleep(await sagas.next_deadline())

    async def past_deadline(tx: Tx, *, order_id: str) -> None:
        doc = await sagas.get(order_id, tx.session)
        now = clock()
        if doc is None or doc["state"] not in (
            domain.SagaState.CONFIRMING,
            domain.SagaState.COMPENSATING,
        ):
            return
        if doc["deadline"] >= now:
            return
        saga, commands = domain.on_deadline(to_saga(doc), now, timeout)
        await sagas.save(doc, saga, now, tx.session)
        emit(tx, doc, commands, now)
