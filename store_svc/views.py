"""Documents as the edge's response bodies (schemas/catalog_http.py)."""

from __future__ import annotations

from collections.abc import Iterable

from schemas.catalog_http import (
    DamagedItem,
    Discount,
    Measurements,
    PickingCase,
    PickingMove,
    ProductCard,
    ReservationView,
    ReservedItem,
    StockLine,
    WarehouseAvailability,
    WarehouseQuantity,
)
from servicekit.mongo import Doc


def card(doc: Doc, lines: Iterable[Doc], image_base_url: str) -> ProductCard:
    stock = sorted(lines, key=lambda line: line["warehouseId"])
    percent = doc.get("discountPercent", 0)
    return ProductCard(
        id=doc["_id"],
        name=doc["name"],
        description=doc.get("description"),
        price=doc["finalPrice"],
        image_url=f"{image_base_url.rstrip('/')}/{doc['_id']}.jpg",
        discount=(
            Discount(percent=percent, price_before=doc["price"], price_after=doc["finalPrice"])
            if percent
            else None
        ),
        availability=tuple(
            WarehouseAvailability(warehouse_id=line["warehouseId"], available=line["available"])
            for line in stock
        ),
        available=sum(line["available"] for line in stock),
        measurements=Measurements(**doc["measurements"]) if doc.get("measurements") else None,
        version=doc["version"],
    )


def stock_line(doc: Doc) -> StockLine:
    return StockLine(
        product_id=doc["productId"],
        warehouse_id=doc["warehouseId"],
        on_hand=doc["onHand"],
        reserved=doc["reserved"],
        booked=doc["booked"],
        available=doc["available"],
        shipped=doc.get("shipped", 0),
        written_off=doc.get("writtenOff", 0),
        received=doc.get("received"),
    )


def reserved_items(items: list[Doc]) -> tuple[ReservedItem, ...]:
    """Allocations grouped by product: how many in total, from which warehouses."""
    by_product: dict[int, list[Doc]] = {}
    for item in items:
        by_product.setdefault(item["productId"], []).append(item)
    return tuple(
        ReservedItem(
            product_id=product_id,
            reserved_quantity=sum(i["quantity"] for i in picked),
            warehouses=tuple(
                WarehouseQuantity(warehouse_id=i["warehouseId"], quantity=i["quantity"])
                for i in picked
            ),
        )
        for product_id, picked in sorted(by_product.items())
    )


def reservation(doc: Doc) -> ReservationView:
    return ReservationView(
        reservation_id=doc["_id"],
        order_id=doc["_id"],
        status=doc["status"],
        items=reserved_items(doc["items"]),
        created_at=doc["createdAt"],
        expires_at=doc.get("expiresAt"),
        reason=doc.get("reason"),
    )


def picking_case(doc: Doc) -> PickingCase:
    damaged = doc.get("damaged")
    return PickingCase(
        order_id=doc["_id"],
        status=doc["status"],
        items=reserved_items(doc["items"]),
        opened_at=doc["openedAt"],
        closed_at=doc.get("closedAt"),
        warehouse_id=doc.get("warehouseId"),
        updated_at=doc.get("updatedAt"),
        damaged=(
            DamagedItem(
                product_id=damaged["productId"],
                product_name=damaged["productName"],
                quantity=damaged["quantity"],
                warehouses=tuple(
                    WarehouseQuantity(warehouse_id=i["warehouseId"], quantity=i["quantity"])
                    for i in damaged["items"]
                ),
            )
            if damaged
            else None
        ),
        history=tuple(PickingMove.model_validate(e) for e in doc.get("history", ())),
    )
