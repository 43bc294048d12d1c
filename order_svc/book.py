"""Order operations shared by the edge, the consumers and the sweeper."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from order_svc import domain, effects
from order_svc.repository import Orders
from order_svc.settings import OrderSettings
from schemas.order import OrderStatus as S
from servicekit.errors import InvalidRequest, NotFound
from servicekit.identity import Caller
from servicekit.mongo import Doc, utcnow
from servicekit.neighbours import Neighbour
from servicekit.service import Service
from servicekit.unit import Tx

Clock = Callable[[], datetime]


class OrderBook:
    def __init__(self, service: Service, settings: OrderSettings, clock: Clock = utcnow) -> None:
        self.service = service
        self.settings = settings
        self.orders = Orders(service.db)
        self.store = Neighbour("store", settings.store_url)
        self.delivery = Neighbour("delivery", settings.delivery_url)
        self.clock = clock
        service.shutdown += [self.store.close, self.delivery.close]

    async def owned(self, caller: Caller, order_id: str) -> Doc:
        """The order if the caller owns it or is an admin; 404 otherwise (never 403)."""
        doc = await self.orders.get(order_id)
        if doc is None or not (doc["username"] == caller.username or caller.is_admin):
            raise NotFound("Order not found")
        return doc

    async def products(self, ids: list[int], session_id: str | None) -> dict[int, tuple[str, int]]:
        """Name and current price of each product, from store_svc; 404 if one is unknown."""
        answers = await asyncio.gather(*(self.store.call("GET", f"/products/{i}") for i in ids))
        found = {}
        for product_id, answer in zip(ids, answers, strict=True):
            if answer.status == 404:
                raise NotFound(f"Product not found: {product_id}")
            if not answer.ok:
                raise InvalidRequest(f"product {product_id}: {answer.error}")
            # the card's price is already the price after any discount
            found[product_id] = (answer.body["name"], int(answer.body["price"]))
        return found

    async def cancel(self, tx: Tx, doc: Doc, by: str, reason: str) -> Doc:
        """CANCELLED from NEW, AWAITING_PAYMENT or PAID (a gift-card order: until it is paid);
        a checked-out order's holds are released and captured money refunded (REVERSE through
        the outbox)."""
        current, kind = S(doc["status"]), domain.kind_of(doc)
        domain.check_transition(current, S.CANCELLED, kind)
        new = await self.orders.update(
            doc,
            {"reason": reason},
            tx.session,
            status=S.CANCELLED,
            by=by,
            at=self.clock(),
            unset=("cartOf", "expiresAt"),
        )
        # nothing was reserved for a gift card, and it is cancelled only before it is paid
        if kind is not domain.OrderKind.GIFT_CARD and current is not S.NEW:
            effects.release(tx, new, refund=current in domain.HOLDS_MONEY)
        return new
