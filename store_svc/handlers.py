"""Kafka in: the neighbours' product and stock feeds, the saga's CONFIRM / REVERSE for the
STORE step (answered in the same transaction through the outbox) and the paid orders' hold
extensions; and the sweeper that releases pre-reservations past their expiry."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from functools import partial

from pymongo.asynchronous.client_session import AsyncClientSession

from schemas import topics
from schemas.catalog import ProductFeedMessage, StockLevel
from schemas.fulfilment import HoldExtension
from schemas.saga import (
    ConfirmationReply,
    ConfirmationRequest,
    Confirmator,
    RequestType,
    SagaResponse,
)
from servicekit.unit import Tx
from store_svc.keeper import StockKeeper

log = logging.getLogger(__name__)


def register(keeper: StockKeeper) -> None:
    service = keeper.service

    @service.subscribe(topics.PRODUCT_FEED, ProductFeedMessage)
    async def on_product(msg: ProductFeedMessage, tx: Tx) -> None:
        if not await keeper.products.apply_feed(msg, keeper.now(), tx.session):
            log.info("product %s version %s is not newer: ignored", msg.id, msg.version)

    @service.subscribe(topics.STOCK_FEED, StockLevel)
    async def on_stock(msg: StockLevel, tx: Tx) -> None:
        line = await keeper.stocks.count(
            msg.product_id, msg.warehouse_id, msg.on_hand, keeper.now(), tx.session, msg.version
        )
        if line is None:
            log.info("stock %s/%s version %s is not newer: ignored", *_stock_id(msg))
        elif line["onHand"] != msg.on_hand:
            log.warning(
                "stock %s/%s counted %d below %d reserved: on-hand kept at the reserved units",
                msg.product_id,
                msg.warehouse_id,
                msg.on_hand,
                line["reserved"],
            )

    async def load(messages: Sequence[ConfirmationRequest], session: AsyncClientSession) -> None:
        await keeper.reservations.preload([m.order_id for m in messages], session)

    @service.subscribe(topics.STORE_CONFIRMATIONS, ConfirmationRequest, load)
    async def on_saga(msg: ConfirmationRequest, tx: Tx) -> None:
        if msg.confirmator is not Confirmator.STORE:
            log.warning("%s request for %s on the store topic: ignored", msg.confirmator, msg)
            return
        response, reason = SagaResponse.SUCCESS, None
        if msg.request_type is RequestType.CONFIRM:
            response, reason = await keeper.confirm(tx.session, msg)
        else:
            await keeper.reverse(tx.session, msg.order_id, msg.disposition)
        reply = ConfirmationReply(
            order_id=msg.order_id,
            request_type=msg.request_type,
            confirmator=Confirmator.STORE,
            response=response,
            reason=reason,
        )
        tx.emit(topics.CONFIRMATION_REPLIES, reply, key=msg.order_id)

    @service.subscribe(topics.HOLD_EXTENSIONS, HoldExtension)
    async def on_hold_extension(msg: HoldExtension, tx: Tx) -> None:
        # only a live pre-reservation is kept longer: a booked, released or expired one is not
        # held by its expiry any more
        if await keeper.extend(tx.session, msg.order_id, msg.until):
            log.info("pre-reservation of order %s kept until %s", msg.order_id, msg.until)

    @service.loop
    async def release_expired(_: object) -> None:
        settings = keeper.settings
        while True:
            due = await keeper.reservations.due(keeper.now(), settings.reservation_sweep_batch)
            for order_id in due:
                await service.transaction(partial(_expire, keeper, order_id))
            if len(due) < settings.reservation_sweep_batch:
                await asyncio.sleep(settings.reservation_sweep_seconds)


async def _expire(keeper: StockKeeper, order_id: str, tx: Tx) -> None:
    if await keeper.expire(tx.session, order_id):
        log.info("pre-reservation of order %s expired: released", order_id)


def _stock_id(msg: StockLevel) -> tuple[int, str, int]:
    return msg.product_id, msg.warehouse_id, msg.version
