"""Realistic customers for chaos and bench runs: each one registers, searches, fills a cart,
checks out (pickup or courier) and pays — some with a card the bank declines, some competing
for the last units, some cancelling, some never paying. Every step survives a service being
killed under it: it is retried with the same order id / Idempotency-Key until it lands."""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trials.shoppers.load_money import Purse
from trials.shoppers.load_retry import LoadStats, persist
from trials.shoppers.shopper import DECLINED_CARD, FINAL, FULFILLING, EdgeError, Shopper

__all__ = ["Customer", "LoadStats"]
log = logging.getLogger("sagashop.load")


@dataclass
class Customer:
    urls: dict[str, str]
    rng: random.Random
    catalog: list[int]  # product ids
    scarce: list[int]  # products with a few units many customers want
    stats: LoadStats
    patience: float = 600.0  # how long to wait for an order to settle
    cancel_share: float = 0.1  # confirmed orders their customer cancels (before picking starts)
    sent: Path | None = None  # the e-mail log gift-card codes arrive in (None: no gift cards)
    purse: Purse = field(init=False)

    def __post_init__(self) -> None:
        self.purse = Purse(self.rng, self.stats, self.sent, self.patience)

    async def shop(self, orders: int, next_order: Callable[[], bool]) -> None:
        async with Shopper(self.urls) as s:
            await persist(s.register, self.stats, "register")
            while next_order():
                try:
                    fate = await self.one_order(s)
                except Exception as exc:  # a failure the run reports, never hides
                    fate = "error"
                    self.stats.errors.append(f"{s.name}: {exc!r}"[:500])
                self.stats.orders[fate] += 1

    async def one_order(self, s: Shopper) -> str:
        r = self.rng.random()
        await persist(lambda: s.search("a"), self.stats, "search")
        product = self.rng.choice(self.scarce if r < 0.2 else self.catalog)
        order_id = str(uuid.uuid4())
        order = await persist(lambda: self.place(s, order_id, product), self.stats, "place")
        self.stats.order_ids.append(order["id"])
        if self.rng.random() < 0.3:
            extra = self.rng.choice(self.catalog)
            if extra != product:
                order = await persist(lambda: self.adjust(s, order, extra), self.stats, "adjust")
        fate = self.rng.random()
        if fate < 0.05:
            await persist(lambda: self.cancel(s, order), self.stats, "cancel")
            return "cancelled cart"
        means = await self.purse.prepare(s, order["total"])
        order = await self.checkout(s, order)
        if order["status"] == "FAILED":
            return "failed at checkout"
        if fate < 0.12:
            return "never paid"
        if fate < 0.18:
            await persist(lambda: self.cancel(s, order), self.stats, "cancel")
            return "cancelled before paying"
        if means.label == "card" and self.rng.random() < 0.15:
            key = str(uuid.uuid4())
            await persist(lambda: s.pay(order, DECLINED_CARD, key=key), self.stats, "pay")
        try:
            paid = await self.purse.pay(s, order, means)
        except EdgeError as exc:
            if exc.status == 409 and "CANCELLED" in str(exc.body):
                return "cancelled (unpaid in time) while paying"
            raise
        if paid["status"] != "SUCCEEDED":
            return "payment failed"
        # order_svc hands the paid order to the saga by itself; the customer waits for its
        # verdict, then leaves the order to the warehouse and the carriers (the run waits for
        # every order to end before the checks)
        final = await persist(
            lambda: s.wait_status(order["id"], FINAL, timeout=self.patience),
            self.stats,
            "final",
            patience=self.patience,
        )
        # the payment's event can reach the order after its payment deadline when the services
        # between them are being killed: then the order is cancelled and the payment refunded
        if final["status"] == "CANCELLED" and "PAID" not in statuses(final):
            return "paid too late: cancelled and refunded"
        if final["status"] not in FULFILLING | {"COMPLETED"}:
            return f"saga {final['status'].lower()}"
        if self.rng.random() < self.cancel_share:
            return await self.cancel_confirmed(s, final)
        return "saga confirmed"

    async def cancel_confirmed(self, s: Shopper, order: dict[str, Any]) -> str:
        """A customer may cancel until picking starts (then 409): orchestra compensates."""
        try:
            await persist(lambda: s.cancel(order), self.stats, "cancel confirmed")
        except EdgeError as exc:
            if exc.status != 409:
                raise
            return "saga confirmed, cancel refused (picking started)"
        return "saga confirmed, then cancelled by the customer"

    async def place(self, s: Shopper, order_id: str, product: int) -> dict[str, Any]:
        """Idempotent by the client-chosen id; a cart left from an earlier try is reused."""
        try:
            return dict(
                await s.call(
                    "order_svc",
                    "POST",
                    "/place",
                    {"id": order_id, "orderItems": [{"product": {"id": product}, "quantity": 1}]},
                )
            )
        except EdgeError as exc:
            if exc.status != 409:
                raise
        carts = await s.call("order_svc", "GET", "/orders", params={"pageSize": "5"})
        cart = next(o for o in carts["items"] if o["status"] == "NEW")
        return dict(cart)

    async def adjust(self, s: Shopper, order: dict[str, Any], product: int) -> dict[str, Any]:
        """Setting a quantity is idempotent: after a lost answer, set it at the new version."""
        try:
            return await s.adjust(order, product, 1)
        except EdgeError as exc:
            if exc.status != 409:
                raise
            return await s.adjust(await s.order(order["id"]), product, 1)

    async def checkout(self, s: Shopper, order: dict[str, Any]) -> dict[str, Any]:
        kind = "pickup" if self.rng.random() < 0.5 else "courier"
        delivery = await persist(lambda: s.delivery_choice(kind), self.stats, "delivery")
        key = str(uuid.uuid4())

        async def attempt() -> dict[str, Any]:
            try:
                return await s.checkout(order, key=key, delivery=delivery)
            except EdgeError as exc:
                if exc.status != 409:
                    raise
                current = await s.order(order["id"])  # an earlier try may have landed
                if current["status"] == "NEW":  # or the cart moved on: try at its version
                    return await s.checkout(current, key=key, delivery=delivery)
                return current

        return await persist(attempt, self.stats, "checkout")

    async def cancel(self, s: Shopper, order: dict[str, Any]) -> dict[str, Any]:
        """After a lost answer the retry finds the order cancelled already (409): done."""
        try:
            return await s.cancel(order)
        except EdgeError as exc:
            if exc.status != 409:
                raise
            current = await s.order(order["id"])
            if current["status"] != "CANCELLED":
                raise
            return current


def statuses(order: dict[str, Any]) -> list[str]:
    return [h["status"] for h in order.get("history") or []]
