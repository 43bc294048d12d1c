"""Order statuses in Russian and the moves the status machine allows.

`NEXT_STATUSES` repeats order_svc's machine (`order_svc/domain.py`, TRANSITIONS and
GIFT_CARD_TRANSITIONS): the front never imports a service, and the order edge does not say
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

GOODS_MOVES = {
    "NEW": ("AWAITING_PAYMENT", "FAILED", "CANCELLED"),
    "AWAITING_PAYMENT": ("PAID", "CANCELLED"),
    "PAID": ("IN_PROGRESS", "CANCELLED"),
    "IN_PROGRESS": ("CONFIRMED", "CANCELLED"),
    "CONFIRMED": ("ASSEMBLING", "READY_FOR_PICKUP", "DELIVERING"),
    "ASSEMBLING": ("READY_FOR_PICKUP", "DELIVERING"),
    "READY_FOR_PICKUP": ("COMPLETED",),
    "DELIVERING": ("COMPLETED",),
}
GIFT_CARD_MOVES = {
    "AWAITING_PAYMENT": ("PAID", "CANCELLED"),
    "PAID": ("COMPLETED",),
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


def next_statuses(order: dict[str, object]) -> tuple[str, ...]:
    moves = GIFT_CARD_MOVES if order.get("kind") == "GIFT_CARD" else GOODS_MOVES
    return moves.get(str(order.get("status")), ())


def status_name(status: object) -> str:
    return STATUS_NAMES.get(str(status), str(status))
