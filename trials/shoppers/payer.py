"""The customer's money steps over payment_svc's and billing_svc's edges (001 scenarios 6-9):
pay an order by card, saved card, SBP QR code, wallet or gift card; top up the wallet; save a
card; buy, activate and spend a gift card; an admin's partial refund. Mixed into `Shopper`,
which supplies `call`."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

GOOD_CARD = {"number": "4242424242424242", "expMonth": 12, "expYear": 2030, "cvc": "123"}
DECLINED_CARD = {**GOOD_CARD, "number": "4000000000000002"}
Body = dict[str, Any]


def new_key() -> str:
    return str(uuid.uuid4())


class Payer:
    call: Callable[..., Awaitable[Any]]

    # -- paying ----------------------------------------------------------------------------
    async def pay(
        self,
        order: Body,
        card: Body | None = None,
        key: str | None = None,
        settle: float = 60.0,
        method: str = "BANK_CARD",
        means_id: str | None = None,
        save_card: bool = False,
    ) -> Body:
        """Pay an order and follow a PENDING answer (202: the bank's answer was lost) until it
        settles. A QR_PAY answer is returned at once: the customer has to scan it first."""
        body = means_body(method, card, means_id, save_card)
        answer = await self.send_payment("/pay", {"orderId": order["id"], **body}, key)
        return answer if method == "QR_PAY" else await self.follow(answer, settle)

    async def pay_by_qr(
        self, order: Body, key: str | None = None, decline: str | None = None, settle: float = 60.0
    ) -> Body:
        """SBP: ask for a QR code, pay it in the bank's app, wait for the bank's callback."""
        return await self.scan_and_follow(
            await self.pay(order, key=key, method="QR_PAY"), decline, settle
        )

    async def top_up(
        self,
        amount: int,
        card: Body | None = None,
        key: str | None = None,
        method: str = "BANK_CARD",
        means_id: str | None = None,
        settle: float = 60.0,
    ) -> Body:
        """`POST /top-ups`; by QR the code is scanned at once."""
        body = {"amount": amount, **means_body(method, card, means_id, False)}
        answer = await self.send_payment("/top-ups", body, key)
        if method == "QR_PAY":
            return await self.scan_and_follow(answer, None, settle)
        return await self.follow(answer, settle)

    async def send_payment(self, path: str, body: Body, key: str | None) -> Body:
        headers = {"Idempotency-Key": key or new_key()}
        return dict(
            await self.call("payment_svc", "POST", path, body, headers=headers, expect=(200, 202))
        )

    async def scan_and_follow(self, answer: Body, decline: str | None, settle: float) -> Body:
        if answer["status"] == "PENDING" and answer.get("qr"):
            await self.scan(answer["qr"]["qrId"], decline)
        return await self.follow(answer, settle)

    async def scan(self, qr_id: str, decline: str | None = None) -> Body:
        """The customer's bank app pays (or refuses) the QR code; a code paid already answers
        409, which a retry after a lost answer accepts."""
        body = {"decline": decline} if decline else {}
        answer = await self.call(
            "bank_sim", "POST", f"/qr/{qr_id}/pay", body, expect=(200, 201, 202, 409)
        )
        return answer if isinstance(answer, dict) else {"answer": answer}

    async def follow(self, payment: Body, settle: float = 60.0) -> Body:
        deadline = time.monotonic() + settle
        while payment["status"] == "PENDING" and time.monotonic() < deadline:
            await asyncio.sleep(0.3)
            payment = await self.payment(payment["paymentId"])
        return payment

    async def payment(self, payment_id: str) -> Body:
        return dict(await self.call("payment_svc", "GET", f"/payments/{payment_id}"))

    # -- means -----------------------------------------------------------------------------
    async def means(self, order_id: str | None = None) -> Body:
        params = {"orderId": order_id} if order_id else {}
        return dict(await self.call("payment_svc", "GET", "/means", params=params))

    async def save_card(self, card: Body | None = None) -> Body:
        """201 for a new card, 200 for one this customer saved before (the same id)."""
        body = {"card": card or GOOD_CARD}
        answer = await self.call("payment_svc", "POST", "/means/cards", body, expect=(200, 201))
        return dict(answer)

    async def delete_card(self, card_id: str) -> None:
        await self.call("payment_svc", "DELETE", f"/means/cards/{card_id}", expect=(204,))

    async def wallet(self) -> Body:
        return dict(await self.call("billing_svc", "GET", "/wallet"))

    # -- gift cards ------------------------------------------------------------------------
    async def order_gift_card(
        self,
        amount: int,
        donee_email: str,
        donee_name: str = "Анна",
        design: str = "classic",
        key: str | None = None,
    ) -> Body:
        """An order for a gift card, AWAITING_PAYMENT: paid with `pay` like any order."""
        body = {
            "doneeName": donee_name,
            "doneeEmail": donee_email,
            "amount": amount,
            "design": design,
        }
        headers = {"Idempotency-Key": key or new_key()}
        return dict(
            await self.call(
                "order_svc", "POST", "/gift-card-orders", body, headers=headers, expect=(200, 201)
            )
        )

    async def activate(self, code: str) -> Body:
        body = {"code": code}
        return dict(
            await self.call("billing_svc", "POST", "/gift-cards/activate", body, expect=(200, 201))
        )

    async def gift_cards(self) -> list[Body]:
        return list((await self.call("billing_svc", "GET", "/gift-cards"))["items"])

    # -- admin -----------------------------------------------------------------------------
    async def refund(
        self, payment_id: str, amount: int, reason: str = "goodwill", key: str | None = None
    ) -> Body:
        body = {"paymentId": payment_id, "amount": amount, "reason": reason}
        headers = {"Idempotency-Key": key or new_key()}
        return dict(
            await self.call("payment_svc", "POST", "/refunds", body, headers=headers, expect=(201,))
        )


def means_body(method: str, card: Body | None, means_id: str | None, save_card: bool) -> Body:
    """A bank card is typed in unless a saved one (`meansId`) is chosen; QR and wallet need
    nothing more; a gift card is its `meansId`."""
    body: Body = {"method": method}
    if means_id:
        body["meansId"] = means_id
    elif method == "BANK_CARD":
        body["card"] = card or GOOD_CARD
    if save_card:
        body["saveCard"] = True
    return body
