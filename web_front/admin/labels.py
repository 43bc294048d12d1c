"""Order statuses in Russian and the moves the status machine allows.

`GOODS_MOVES` and `ADMIN_CANCELLABLE` repeat what order_svc's guards allow an admin
(`order_svc/guards.py`): the front never imports a service, and the order edge does not say
which moves are open. It only narrows what the form offers — the edge still decides, and a
move it refuses (409) is shown on the page."""

from __future__ import annotations

STATUS_NAMES = {
    "NEW": "Новый (корзина)",
    "AWAITING_PAYMENT": "Ожидает оплаты",
    "FAILED": "Ошибка",
    "PAID": "Оплачен",
    "IN_PROGRESS": "В обработке",
    "CONFIRMED": "Подтверждён",
    "ASSEMBLING": "Собирается",
    "READY_FOR_PICKUP": "Готов к выдаче",
    "DELIVERING": "Доставляется",
    "COMPLETED": "Выполнен",
    "CANCELLED": "Отменён",
    "RETURNED": "Возвращён",
}

# the moves order_svc's guards allow an admin (order_svc/guards.py, ADMIN): along the way to
# the customer. Cancelling has its own form (with a reason; after the hand-over it is undone
# through orchestra), a return too (COMPLETED -> RETURNED); the saga's own moves are not here.
GOODS_MOVES = {
    "CONFIRMED": ("ASSEMBLING", "READY_FOR_PICKUP", "DELIVERING"),
    "ASSEMBLING": ("READY_FOR_PICKUP", "DELIVERING"),
    "READY_FOR_PICKUP": ("COMPLETED",),
    "DELIVERING": ("COMPLETED",),
}
GIFT_CARD_MOVES: dict[str, tuple[str, ...]] = {}
# SPEC §5: an admin cancels any time until the order is delivered, except while its saga runs
ADMIN_CANCELLABLE = frozenset(
    {"NEW", "AWAITING_PAYMENT", "PAID", "CONFIRMED", "ASSEMBLING", "READY_FOR_PICKUP", "DELIVERING"}
)
DISPOSITIONS = {
    "RESTOCK": "Вернуть товар на склад",
    "WRITE_OFF": "Списать товар (брак, не подлежит продаже)",
}

PAYMENT_STATES = {
    "PENDING": "Ждём ответа банка",
    "SUCCEEDED": "Оплачен",
    "FAILED": "Не прошёл",
    "REFUND_PENDING": "Идёт возврат",
    "REFUNDED": "Возвращён",
}
METHODS = {
    "BANK_CARD": "Банковская карта",
    "QR_PAY": "СБП (QR-код)",
    "WALLET": "Кошелёк",
    "GIFT_CARD": "Подарочная карта",
}


# who moved an order, a picking case or a delivery case, when it was not a person (a person's
# name is shown as it is)
ACTORS = {
    "saga": "сага",
    "orchestra": "сага",
    "order_svc": "магазин",
    "payment_svc": "оплата",
    "billing_svc": "оплата",
    "warehouse": "склад",
    "carrier": "перевозчик",
    "pickup point": "пункт выдачи",
}


def actor(by: object) -> str:
    return ACTORS.get(str(by), str(by))


def may_cancel(order: dict[str, object]) -> bool:
    if order.get("kind") == "GIFT_CARD":
        return order.get("status") == "AWAITING_PAYMENT"
    return order.get("status") in ADMIN_CANCELLABLE


def next_statuses(order: dict[str, object]) -> tuple[str, ...]:
    moves = GIFT_CARD_MOVES if order.get("kind") == "GIFT_CARD" else GOODS_MOVES
    return moves.get(str(order.get("status")), ())


def status_name(status: object) -> str:
    return STATUS_NAMES.get(str(status), str(status))
