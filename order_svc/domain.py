"""The order as a pure aggregate: positions, totals, versions (who may move its status: guards)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from schemas.base import MAX_ORDER_ITEMS
from schemas.billing import GiftCardDesign
from schemas.order import OrderStatus as S
from servicekit.errors import Conflict


class OrderKind(StrEnum):
    """What an order buys: goods (the cart, checkout, the saga) or one gift card."""

    GOODS = "GOODS"
    GIFT_CARD = "GIFT_CARD"


def kind_of(doc: dict[str, object]) -> OrderKind:
    """Orders written before gift cards existed carry no kind: they are goods."""
    return OrderKind(str(doc.get("kind", OrderKind.GOODS)))


class StaleVersion(Conflict):
    def __init__(self, current: int) -> None:
        super().__init__(f"the order has changed (version is {current}); read it again")


class NotForGiftCards(Conflict):
    def __init__(self, action: str) -> None:
        super().__init__(f"a gift-card order cannot be {action}: it is paid, then its card issued")


def check_goods(kind: OrderKind, action: str) -> None:
    """Cart and saga operations (adjust, checkout, process) are for orders of goods only."""
    if kind is OrderKind.GIFT_CARD:
        raise NotForGiftCards(action)


def check_version(current: int, expected: int | None) -> None:
    if expected is not None and expected != current:
        raise StaleVersion(current)


@dataclass(frozen=True)
class Position:
    id: int
    product_id: int
    name: str
    price: int
    quantity: int

    @property
    def total(self) -> int:
        return self.price * self.quantity


def adjust(positions: list[Position], changes: dict[int, tuple[int, str, int]]) -> list[Position]:
    """Set each changed product's quantity (0 removes it); new products become new positions
    numbered after the highest id. `changes`: product id -> (quantity, name, price)."""
    result: list[Position] = []
    for pos in positions:
        if pos.product_id not in changes:
            result.append(pos)
            continue
        quantity = changes[pos.product_id][0]
        if quantity > 0:
            result.append(replace(pos, quantity=quantity))
    known = {p.product_id for p in positions}
    next_id = max((p.id for p in positions), default=0) + 1
    for product_id, (quantity, name, price) in changes.items():
        if product_id not in known and quantity > 0:
            result.append(Position(next_id, product_id, name, price, quantity))
            next_id += 1
    if len(result) > MAX_ORDER_ITEMS:
        raise Conflict(f"an order has at most {MAX_ORDER_ITEMS} positions")
    return result


def total(positions: list[Position], delivery_cost: int = 0) -> int:
    return sum(p.total for p in positions) + delivery_cost


def to_millis(at: datetime) -> datetime:
    """Mongo keeps milliseconds: a time answered before it is read back must be cut the same."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def history_entry(status: S, by: str, at: datetime, reason: str | None = None) -> dict[str, object]:
    return {"at": at, "status": status.value, "by": by, "reason": reason}


GIFT_CARD_PRODUCT_ID = 0  # no catalog product: the position stands for the card itself
DESIGN_NAMES = {
    GiftCardDesign.CLASSIC: "Классика",
    GiftCardDesign.BIRTHDAY: "День рождения",
    GiftCardDesign.HOLIDAY: "Праздничная",
    GiftCardDesign.FLOWERS: "Цветы",
}


def gift_card_position(amount: int, design: GiftCardDesign) -> Position:
    """A gift-card order's one position: the card, priced at its value."""
    name = f"Подарочная карта «{DESIGN_NAMES[design]}»"
    return Position(1, GIFT_CARD_PRODUCT_ID, name, amount, 1)
