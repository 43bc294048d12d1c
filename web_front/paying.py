"""The means of payment as a form chooses them (the payment page and the wallet top-up): one
radio `means` = "card:<id>" | "new-card" | "sbp" | "wallet" | "gift:<id>", and the new card's
number, "MM/YY" and CVC. Turned into the `method`/`card`/`meansId` part of payment's bodies."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from web_front.forms import Form
from web_front.money import rubles

CARD_FIELDS = ("number", "expiry", "cvc", "saveCard")
EXPIRY = re.compile(r"^(\d{1,2})\s*/\s*(\d{2}|\d{4})$")
# the bank simulator's test cards, shown as a hint so a person running `make up` can pay
TEST_CARD_HINT = "16 цифр с лицевой стороны, например 4242 4242 4242 4242"


def expiry_of(text: str) -> tuple[int, int] | None:
    """ "12/29" -> (12, 2029); None when it is not a month and a year."""
    found = EXPIRY.match(text.strip())
    if not found:
        return None
    month, year = int(found.group(1)), int(found.group(2))
    year = year + 2000 if year < 100 else year
    return (month, year) if 1 <= month <= 12 and 2000 <= year <= 2099 else None


def new_card(form: Form, today: date) -> dict[str, Any] | None:
    """The typed card as payment's `CardDetails`, or None with the errors beside its fields."""
    digits = form.values.get("number", "").replace(" ", "")
    if not (digits.isdigit() and 12 <= len(digits) <= 19):
        form.errors["number"] = "Введите номер карты: от 12 до 19 цифр"
    expiry = expiry_of(form.values.get("expiry", ""))
    if expiry is None:
        form.errors["expiry"] = "Введите срок действия в виде ММ/ГГ, например 12/29"
    elif (expiry[1], expiry[0]) < (today.year, today.month):
        form.errors["expiry"] = "Срок действия карты истёк"
    cvc = form.values.get("cvc", "")
    if not (cvc.isdigit() and 3 <= len(cvc) <= 4):
        form.errors["cvc"] = "Введите CVC: 3 или 4 цифры с обратной стороны карты"
    if not form.ok or expiry is None:
        return None
    return {"number": digits, "expMonth": expiry[0], "expYear": expiry[1], "cvc": cvc}


def means_body(form: Form, today: date) -> dict[str, Any] | None:
    """`method` + `card` | `meansId` (+ `saveCard`) for the chosen means; None on errors."""
    chosen = form.values.get("means", "")
    kind, _, means_id = chosen.partition(":")
    if kind == "card" and means_id:
        return {"method": "BANK_CARD", "meansId": means_id}
    if kind == "gift" and means_id:
        return {"method": "GIFT_CARD", "meansId": means_id}
    if chosen == "wallet":
        return {"method": "WALLET"}
    if chosen == "sbp":
        return {"method": "QR_PAY"}
    if chosen == "new-card":
        card = new_card(form, today)
        save = form.values.get("saveCard") == "on"
        return {"method": "BANK_CARD", "card": card, "saveCard": save} if card else None
    form.errors["means"] = "Выберите способ оплаты"
    return None


def short_reason(means: dict[str, Any], amount: int | None) -> str:
    """Why a wallet or gift card cannot pay, in Russian (payment's `reason` is English)."""
    if means.get("expired"):
        return "Срок действия карты истёк"
    balance = means.get("balance")
    if balance is not None and amount is not None and balance < amount:
        return f"Недостаточно средств: на балансе {rubles(balance)}, к оплате {rubles(amount)}"
    return "Этим способом нельзя оплатить этот заказ"
