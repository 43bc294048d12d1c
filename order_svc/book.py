"""Order operations shared by the edge, the consumers and the sweeper."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from order_svc import domain, effects, guards
from order_svc.guards import Actor
from order_svc.repository import Orders
from order_svc.settings import OrderSettings
from schemas.fulfilment import CancellationKind
from schemas.notification import NotificationType
from schemas.order import OrderStatus as S
from schemas.saga import Disposition
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
        self.orchestra = Neighbour("orchestra", settings.orchestra_url)
        self.clock = clock
        service.shutdown += [self.store.close, self.delivery.close, self.orchestra.close]

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

    async def hand_over(self, tx: Tx, doc: Doc, by: str, actor: Actor) -> Doc:
        """PAID -> IN_PROGRESS and the order goes to orchestra; without an outcome by
        `handoverDeadline` the sweeper cancels it."""
        guards.check(actor, S(doc["status"]), S.IN_PROGRESS, domain.kind_of(doc))
        now = self.clock()
        deadline = now + timedelta(seconds=self.settings.handover_timeout_seconds)
        new = await self.orders.update(
            doc,
            {"handoverDeadline": deadline},
            tx.session,
            status=S.IN_PROGRESS,
            by=by,
            at=now,
        )
        effects.hand_over(tx, new)
        return new

    async def cancel(
        self,
        tx: Tx,
        doc: Doc,
        by: str,
        reason: str,
        actor: Actor,
        kind: CancellationKind = CancellationKind.CANCEL,
        disposition: Disposition = Disposition.RESTOCK,
    ) -> Doc:
        """Cancel (or return) the order as `actor` allows. Not yet handed over: CANCELLED at
        once, its holds released and captured money refunded (REVERSE through the outbox).
        Handed over: the cancellation is recorded and sent to orchestra, whose outcome moves
        the order; while one is pending, asking again answers the order as it is."""
        current, order_kind = S(doc["status"]), domain.kind_of(doc)
        wanted = S.RETURNED if kind is CancellationKind.RETURN else S.CANCELLED
        guards.check(actor, current, wanted, order_kind)
        if pending(doc):
            return doc
        if guards.through_orchestra(current, order_kind):
            return await self._ask_orchestra(tx, doc, by, reason, kind, disposition)
        new = await self.orders.update(
            doc,
            {"reason": reason},
            tx.session,
            status=S.CANCELLED,
            by=by,
            at=self.clock(),
            reason=reason,
            unset=("cartOf", "expiresAt"),
        )
        # nothing was reserved for a gift card, and it is cancelled only before it is paid
        if order_kind is not domain.OrderKind.GIFT_CARD and current is not S.NEW:
            effects.release(tx, new, refund=current is S.PAID)
        effects.notify(tx, new, NotificationType.CANCELLED, reason)
        return new

    async def _ask_orchestra(
        self,
        tx: Tx,
        doc: Doc,
        by: str,
        reason: str,
        kind: CancellationKind,
        disposition: Disposition,
    ) -> Doc:
        asked = {
            "kind": kind.value,
            "reason": reason,
            "by": by,
            "at": domain.to_millis(self.clock()),
            "disposition": disposition.value,
        }
        new = await self.orders.update(
            doc, {"cancellation": asked}, tx.session, unset=("handoverDeadline",)
        )
        effects.ask_cancellation(tx, new, asked)
        return new

    async def close_cancellation(self, tx: Tx, doc: Doc, saga_reason: str | None) -> Doc:
        """orchestra undid the order (its outcome FAIL): CANCELLED, or RETURNED for a return;
        the customer is told why. A pending cancellation stays on the order as its record."""
        asked = doc.get("cancellation") if pending(doc) else None
        returned = asked is not None and asked["kind"] == CancellationKind.RETURN
        status = S.RETURNED if returned else S.CANCELLED
        reason = asked["reason"] if asked else (saga_reason or "the order could not be confirmed")
        by = asked["by"] if asked else "orchestra"
        now = domain.to_millis(self.clock())
        changes: Doc = {"reason": reason}
        if asked:
            changes["cancellation"] = {**asked, "doneAt": now}
        new = await self.orders.update(
            doc,
            changes,
            tx.session,
            status=status,
            by=by,
            at=now,
            reason=reason,
            unset=("handoverDeadline",),
        )
        kind = NotificationType.RETURNED if returned else NotificationType.CANCELLED
        effects.notify(tx, new, kind, reason)
        return new


def pending(doc: Doc) -> bool:
    """A cancellation sent to orchestra that has no outcome yet."""
    asked = doc.get("cancellation")
    return isinstance(asked, dict) and not asked.get("doneAt")
