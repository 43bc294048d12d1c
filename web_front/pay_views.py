"""What the money pages show, in Russian: the means of payment as radio options, order
statuses, payment errors (payment and the bank answer in English)."""

from __future__ import annotations

from typing import Any

from web_front.money import rubles
from web_front.paying import short_reason

STATUS_NAMES = {
    "NEW": "Корзина",
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
KNOWN_PAYMENT_ERRORS = (
    ("insufficient", "Недостаточно средств на карте"),
    ("declined", "Банк отклонил оплату"),
    ("expired card", "Срок действия карты истёк"),
    ("qr code expired", "Время оплаты по QR-коду истекло"),
    ("not enough money", "Недостаточно средств"),
    ("timed out", "Банк не ответил вовремя"),
    ("not awaiting payment", "Этот заказ сейчас нельзя оплатить"),
    ("already paid", "Заказ уже оплачен"),
)


def status_name(status: str) -> str:
    return STATUS_NAMES.get(status, status)


def payment_error_text(message: str) -> str:
    """The bank's or payment's reason as a person reads it, the original kept in brackets."""
    lowered = message.lower()
    for needle, text in KNOWN_PAYMENT_ERRORS:
        if needle in lowered:
            return f"{text} ({message})"
    return f"Оплата не прошла ({message})" if message else "Оплата не прошла"


def option(value: str, label: str, detail: str = "", reason: str = "") -> dict[str, str]:
    return {"value": value, "label": label, "detail": detail, "reason": reason}


def card_options(cards: list[dict[str, Any]], amount: int | None) -> list[dict[str, str]]:
    return [
        option(
            f"card:{c['id']}",
            f"{c['brand']} {c['masked']}",
            f"до {c['expMonth']:02d}/{c['expYear'] % 100:02d}",
            short_reason(c, amount) if c.get("canPay") is False or c.get("expired") else "",
        )
        for c in cards
    ]


def means_options(means: dict[str, Any], amount: int | None) -> dict[str, Any]:
    """payment's `GET /means` as the page's choices; a means that cannot pay carries why."""
    wallet = means.get("wallet") or {"balance": 0}
    gifts = [
        option(
            f"gift:{g['id']}",
            f"Подарочная карта {g['number']}",
            f"баланс {rubles(g['balance'])}",
            short_reason(g, amount) if g.get("canPay") is False else "",
        )
        for g in means.get("giftCards", [])
    ]
    wallet_reason = short_reason(wallet, amount) if wallet.get("canPay") is False else ""
    return {
        "cards": card_options(list(means.get("cards", [])), amount),
        "wallet": option("wallet", "Кошелёк", f"баланс {rubles(wallet['balance'])}", wallet_reason),
        "gifts": gifts,
    }


def wants_hand_over(payment: dict[str, Any], order: dict[str, Any]) -> bool:
    """A captured goods order that is PAID waits for the client's `PUT /process` (001); a
    gift-card order completes by itself."""
    return (
        payment["status"] == "SUCCEEDED"
        and order.get("kind", "GOODS") == "GOODS"
        and order["status"] == "PAID"
    )
