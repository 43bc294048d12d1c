"""The warehouse's moves of a picking case, each in one transaction with what it causes:
picking starts -> the order is ASSEMBLING (status feed); handed over -> the booked units are
shipped and delivery is told (`ParcelHandedOver`); an item damaged -> the order is cancelled with
WRITE_OFF (status feed), and the saga's REVERSE that follows writes the damaged units off."""

from __future__ import annotations

from datetime import datetime

from schemas import topics
from schemas.catalog_http import PickingStatus as P
from schemas.catalog_http import PickingStatusUpdate
from schemas.fulfilment import ParcelHandedOver, ParcelItem
from schemas.order import OrderStatus, OrderStatusUpdate
from schemas.saga import Disposition
from servicekit.errors import InvalidRequest, NotFound
from servicekit.mongo import Doc
from servicekit.unit import Tx
from store_svc import picking_rules
from store_svc.domain import Allocation, Move
from store_svc.keeper import StockKeeper, allocations_of

SOURCE = "store"


class PickingDesk:
    def __init__(self, keeper: StockKeeper) -> None:
        self.keeper = keeper
        self.cases = keeper.picking

    async def move(self, tx: Tx, order_id: str, req: PickingStatusUpdate, by: str) -> Doc:
        """Move the case to `req.status` (the same status again changes nothing); 404 for no
        case, 409 (picking_rules.MoveRefused) for a move the case does not allow."""
        case = await self.cases.get(order_id, tx.session)
        if case is None:
            raise NotFound("Picking case not found")
        wanted = P(req.status)
        if not picking_rules.check_move(P(case["status"]), wanted):
            return case
        now = self.keeper.now()
        changes: Doc = {}
        extra: dict[str, object] = {"reason": req.reason}
        if wanted is P.PICKING:
            self._tell_order(tx, order_id, OrderStatus.ASSEMBLING, now)
        elif wanted is P.HANDED_OVER:
            await self._hand_over(tx, case, now)
            changes["closedAt"] = now
        elif wanted is P.DAMAGED:
            changes["damaged"] = damaged = await self._damaged(case, req)
            extra |= {"productId": damaged["productId"], "quantity": damaged["quantity"]}
            reason = f"item damaged: {damaged['productName']}"
            self._tell_order(tx, order_id, OrderStatus.CANCELLED, now, reason)
            changes["closedAt"] = now
        entry = picking_rules.entry(wanted, now, by, **extra)
        return await self.cases.move(case, wanted, changes, entry, tx.session)

    def _tell_order(
        self, tx: Tx, order_id: str, status: OrderStatus, now: datetime, reason: str | None = None
    ) -> None:
        update = OrderStatusUpdate(
            order_id=order_id,
            status=status,
            reason=reason,
            source=SOURCE,
            timestamp=now,
            disposition=Disposition.WRITE_OFF if status is OrderStatus.CANCELLED else None,
        )
        tx.emit(topics.ORDER_STATUS_FEED, update, key=order_id)

    async def _hand_over(self, tx: Tx, case: Doc, now: datetime) -> None:
        items = allocations_of(case)
        await self.keeper.move_stock(tx.session, items, Move.SHIP)
        parcel = ParcelHandedOver(
            order_id=case["_id"],
            warehouse_id=case.get("warehouseId") or picking_rules.main_warehouse(items),
            items=tuple(
                ParcelItem(
                    product_id=a.product_id, warehouse_id=a.warehouse_id, quantity=a.quantity
                )
                for a in items
            ),
            timestamp=now,
        )
        tx.emit(topics.PARCELS, parcel, key=case["_id"])

    async def _damaged(self, case: Doc, req: PickingStatusUpdate) -> Doc:
        if req.product_id is None:
            raise InvalidRequest("productId: the damaged product is required")
        quantity = req.quantity or 1
        try:
            taken = picking_rules.damaged_units(allocations_of(case), req.product_id, quantity)
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from exc
        return {
            "productId": req.product_id,
            "productName": await self._name(case, req.product_id),
            "quantity": quantity,
            "items": [_allocation_doc(a) for a in taken],
        }

    async def _name(self, case: Doc, product_id: int) -> str:
        """The name the customer saw at checkout, else the catalog's."""
        if name := case.get("names", {}).get(str(product_id)):
            return str(name)
        product = await self.keeper.products.get(product_id)
        return str(product["name"]) if product else f"product {product_id}"


def _allocation_doc(a: Allocation) -> Doc:
    return {"productId": a.product_id, "warehouseId": a.warehouse_id, "quantity": a.quantity}
