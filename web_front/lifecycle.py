"""An order's life as its customer reads it (SPEC §5): the status words, the path a goods order
walks after payment (paid, confirmed, picked, at the point or on its way, received) with the
time each step was reached, how it ended when it did not end well, and the delivery case's
words. Pure: the order's and the case's bodies in, plain values for the templates out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STATUS_WORDS = {
    "NEW": "Создан",
    "AWAITING_PAYMENT": "Ожидает оплаты",
    "FAILED": "Не оформлен",
    "PAID": "Оплачен",
    "IN_PROGRESS": "Подтверждается",
    "CONFIRMED": "Подтверждён",
    "ASSEMBLING": "Собирается",
    "READY_FOR_PICKUP": "Готов к выдаче",
    "DELIVERING": "Доставляется",
    "COMPLETED": "Выполнен",
    "CANCELLED": "Отменён",
    "RETURNED": "Возвращён",
}
FINAL = frozenset({"FAILED", "COMPLETED", "CANCELLED", "RETURNED"})
ENDED_BADLY = frozenset({"FAILED", "CANCELLED", "RETURNED"})
# SPEC §5: the customer cancels until picking starts; later only an admin may
CUSTOMER_CANCELLABLE = frozenset({"NEW", "AWAITING_PAYMENT", "PAID", "CONFIRMED"})
CASE_WORDS = {
    "OPENED": "Оформлена, ждёт посылку со склада",
    "IN_TRANSIT": "В пути",
    "AT_PICKUP_POINT": "Ждёт в пункте выдачи",
    "OUT_FOR_DELIVERY": "Курьер везёт заказ",
    "RECEIVED": "Получен",
    "CANCELLED": "Отменена",
    "RETURNED": "Посылка вернулась на склад",
    "LOST": "Посылка потеряна",
}
# what the step on the path is called (a little different from the status itself)
STEP_WORDS = {
    "PAID": "Оплачен",
    "CONFIRMED": "Подтверждён",
    "ASSEMBLING": "Собирается на складе",
    "READY_FOR_PICKUP": "Ждёт в пункте выдачи",
    "DELIVERING": "Курьер везёт заказ",
    "COMPLETED": "Получен",
}
PICKUP_PATH = ("PAID", "CONFIRMED", "ASSEMBLING", "READY_FOR_PICKUP", "COMPLETED")
COURIER_PATH = ("PAID", "CONFIRMED", "ASSEMBLING", "DELIVERING", "COMPLETED")


@dataclass(frozen=True)
class Step:
    """One step of the path: `state` is done, current, next or ended (the bad ending)."""

    status: str
    words: str
    state: str
    at: str | None = None
    reason: str | None = None


# the services' reasons (English on the wire) as the customer reads them; the start of the
# reason is matched, what follows a colon is kept ("item damaged: Торшер")
REASON_WORDS = (
    ("cancelled by the customer", "вы отменили заказ"),
    ("cancelled by an admin", "заказ отменил магазин"),
    ("payment timeout", "заказ не оплатили вовремя"),
    ("the order could not be confirmed in time", "заказ не удалось подтвердить вовремя"),
    ("the order could not be confirmed", "заказ не удалось подтвердить"),
    ("item damaged", "товар повредили на складе"),
    ("not collected in time", "заказ не забрали из пункта выдачи вовремя"),
    ("delivery failed", "курьер не смог доставить заказ"),
    ("parcel lost", "посылку потеряли при доставке"),
    # a saga's compensation as the warehouse and the delivery cases record it (store_svc's
    # keeper, delivery_svc's reverse), and a participant's refusal (orchestra)
    ("order undone (RESTOCK)", "бронь снята, товар вернули на склад"),
    ("order undone (WRITE_OFF)", "бронь снята, товар списан"),
    ("reversed before confirmed", "отмена пришла раньше подтверждения"),
    ("reversed", "отменено (компенсация саги)"),
    ("refused", "отказ"),
)
# a saga's participants, as orchestra names them in its reasons ("STORE: ...")
PARTICIPANT_WORDS = {"PAYMENT": "оплата", "STORE": "склад", "DELIVERY": "доставка"}
SILENT = "no answer in time from "  # orchestra: "no answer in time from DELIVERY, STORE"


def reason_words(reason: object) -> str:
    """A reason in Russian when it is one the shop knows (a saga's reason too: a silent
    participant, a participant's refusal); an admin's own words as typed."""
    if not reason:
        return ""
    text = str(reason)
    if text.startswith(SILENT):
        silent = (p.strip() for p in text.removeprefix(SILENT).split(","))
        return "нет ответа вовремя: " + ", ".join(PARTICIPANT_WORDS.get(p, p) for p in silent)
    who, colon, why = text.partition(": ")
    if colon and who in PARTICIPANT_WORDS:
        return f"{PARTICIPANT_WORDS[who]}: {reason_words(why)}"
    for english, russian in REASON_WORDS:
        if text.lower().startswith(english.lower()):
            rest = text[len(english) :].lstrip(":").strip()
            return f"{russian}: {reason_words(rest)}" if rest else russian
    return text


# who moved the order, as the customer's history names them (an admin is "магазин" too)
WHO_WORDS = {
    "payment_svc": "оплата",
    "order_svc": "магазин",
    "orchestra": "магазин",
    "store": "склад",
    "store_svc": "склад",
    "delivery": "доставка",
    "delivery_svc": "доставка",
    "billing_svc": "магазин",
}


def who_word(by: object, customer: object) -> str:
    if by == customer:
        return "вы"
    return WHO_WORDS.get(str(by), "магазин")


def status_word(status: object) -> str:
    return STATUS_WORDS.get(str(status), str(status))


def first_reached(order: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each status's first history entry (a status reached twice counts from the first)."""
    reached: dict[str, dict[str, Any]] = {}
    for entry in order.get("history", ()):
        reached.setdefault(str(entry.get("status")), entry)
    return reached


def path_of(order: dict[str, Any]) -> tuple[str, ...]:
    courier = (order.get("delivery") or {}).get("type") == "courier"
    return COURIER_PATH if courier else PICKUP_PATH


def steps(order: dict[str, Any]) -> list[Step]:
    """The path after payment: the steps reached (with when), the one the order is in, the
    ones still ahead; an order that ended badly shows where it stopped and why. Empty for an
    order not paid yet and for a gift card."""
    reached, status = first_reached(order), str(order.get("status"))
    path = path_of(order)
    if order.get("kind", "GOODS") != "GOODS" or "PAID" not in reached:
        return []
    last = max((i for i, s in enumerate(path) if s in reached), default=-1)
    ended = status in ENDED_BADLY
    found = []
    for i, s in enumerate(path):
        at = reached[s]["at"] if s in reached else None
        if i < last or (i == last and (ended or s == "COMPLETED")):
            found.append(Step(s, STEP_WORDS[s], "done", at))
        elif i == last:
            found.append(Step(s, STEP_WORDS[s], "current", at))
        elif not ended:
            found.append(Step(s, STEP_WORDS[s], "next"))
    if ended:
        end = reached.get(status, {})
        reason = reason_words(order.get("reason") or end.get("reason"))
        found.append(Step(status, status_word(status), "ended", end.get("at"), reason))
    return found


def may_cancel(order: dict[str, Any]) -> bool:
    """The customer's "Отменить заказ": until picking starts, one request at a time, and
    never for a paid gift card (it is being issued)."""
    status = order.get("status")
    if order.get("cancellation") or status not in CUSTOMER_CANCELLABLE:
        return False
    return not (order.get("kind") == "GIFT_CARD" and status == "PAID")


def refund_awaited(order: dict[str, Any], payment: dict[str, Any] | None) -> bool:
    """A paid order that ended cancelled or returned whose money is not back yet: its page
    keeps following it until the refund shows."""
    ended = order.get("status") in ("CANCELLED", "RETURNED")
    return (
        ended and payment is not None and payment.get("status") in ("SUCCEEDED", "REFUND_PENDING")
    )


def pending_cancellation(order: dict[str, Any]) -> str:
    """ "Отмена оформляется" (or the return's) while orchestra undoes a handed-over order."""
    pending = order.get("cancellation")
    if not pending or order.get("status") in FINAL - {"COMPLETED"}:
        return ""
    if pending.get("kind") == "RETURN":
        return "Возврат оформляется: деньги вернутся тем же способом, которым вы платили"
    return (
        "Отмена оформляется: товар вернётся на склад, деньги — тем же способом, которым вы платили"
    )
