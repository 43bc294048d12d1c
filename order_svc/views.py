"""Order documents as the edge answers them."""

from __future__ import annotations

from order_svc.domain import kind_of
from order_svc.repository import positions_of
from schemas.order_http import (
    CancellationView,
    GiftCardView,
    HistoryEntry,
    OrderView,
    PositionView,
    ProductView,
)
from servicekit.mongo import Doc


def view(doc: Doc) -> OrderView:
    return OrderView(
        id=doc["_id"],
        kind=kind_of(doc).value,
        status=doc["status"],
        version=doc["version"],
        order_items=tuple(
            PositionView(
                id=p.id,
                product=ProductView(id=p.product_id, name=p.name, price=p.price),
                quantity=p.quantity,
                total=p.total,
            )
            for p in positions_of(doc)
        ),
        total=doc["total"],
        currency=doc["currency"],
        username=doc["username"],
        phone=doc.get("phone"),
        delivery=doc.get("delivery"),
        delivery_cost=doc.get("deliveryCost", 0),
        payment_id=doc.get("paymentId"),
        payment_error_message=doc.get("paymentError"),
        reason=doc.get("reason"),
        expires_at=doc.get("expiresAt"),
        created_at=doc["createdAt"],
        history=tuple(HistoryEntry.model_validate(h) for h in doc.get("history", ())),
        gift_card=GiftCardView.model_validate(doc["giftCard"]) if doc.get("giftCard") else None,
        cancellation=cancellation_view(doc.get("cancellation")),
    )


def cancellation_view(asked: Doc | None) -> CancellationView | None:
    if not asked:
        return None
    return CancellationView(
        kind=asked["kind"],
        reason=asked["reason"],
        by=asked["by"],
        requested_at=asked["at"],
        disposition=asked["disposition"],
        done_at=asked.get("doneAt"),
    )
