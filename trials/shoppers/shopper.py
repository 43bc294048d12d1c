"""A customer driving the system through its HTTP edges, the way the web front would: used by
the e2e tests, `sagashop chaos` and `sagashop bench`."""

from __future__ import annotations

import asyncio
import operator
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from trials.shoppers.payer import DECLINED_CARD, GOOD_CARD, Payer

__all__ = [
    "DECLINED_CARD",
    "ENDED",
    "FINAL",
    "FULFILLING",
    "GOOD_CARD",
    "PAID_OR_LATER",
    "EdgeError",
    "Shopper",
]
# the order's life after the saga confirmed it: picking, then delivery (SPEC §5)
FULFILLING = {"CONFIRMED", "ASSEMBLING", "READY_FOR_PICKUP", "DELIVERING"}
# where an order's life ends
ENDED = {"COMPLETED", "CANCELLED", "RETURNED", "FAILED"}
# the saga has answered: confirmed (and maybe moved on since) or not
FINAL = FULFILLING | ENDED
# paid orders are handed to the saga by order_svc itself: PAID may last only a moment
PAID_OR_LATER = {"PAID", "IN_PROGRESS"} | FINAL


class EdgeError(RuntimeError):
    def __init__(self, method: str, url: str, status: int, body: Any) -> None:
        super().__init__(f"{method} {url} -> {status}: {body}")
        self.status = status
        self.body = body


@dataclass
class Shopper(Payer):
    urls: dict[str, str]  # service name -> edge URL (as in stack.json)
    name: str = field(default_factory=lambda: f"shopper_{uuid.uuid4().hex[:10]}")
    http: aiohttp.ClientSession | None = None
    phone: str = ""

    @property
    def email(self) -> str:
        return f"{self.name}@example.com"

    async def __aenter__(self) -> Shopper:
        self.http = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=aiohttp.ClientTimeout(total=30)
        )
        return self

    async def __aexit__(self, *_: object) -> None:
        if self.http is not None:
            await self.http.close()

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        json: Any = None,
        expect: tuple[int, ...] = (200,),
        **kw: Any,
    ) -> Any:
        assert self.http is not None  # noqa: S101 - type narrowing, not a guard
        url = f"{self.urls[service]}{path}"
        async with self.http.request(method, url, json=json, **kw) as resp:
            body = (
                await resp.json() if resp.content_type == "application/json" else await resp.text()
            )
            if resp.status not in expect:
                raise EdgeError(method, url, resp.status, body)
            return body

    # -- account ------------------------------------------------------------------------
    async def register(self) -> None:
        digits = int(uuid.uuid4().int % 10**9)
        self.phone = f"+7999{digits:09d}"[:12]
        await self.call(
            "auth_svc",
            "POST",
            "/register",
            {
                "username": self.name,
                "firstName": "Test",
                "lastName": "Shopper",
                "email": self.email,
                "phone": self.phone,
                "password": "shopper-pass-1",
            },
        )
        await self.call(
            "auth_svc", "POST", "/login", {"username": self.name, "password": "shopper-pass-1"}
        )

    # -- catalog ------------------------------------------------------------------------
    async def search(self, q: str, page_size: int = 20) -> list[dict[str, Any]]:
        page = await self.call(
            "store_svc", "GET", "/products", params={"q": q, "pageSize": str(page_size)}
        )
        return list(page["items"])

    # -- cart and checkout ----------------------------------------------------------------
    async def place(self, product_id: int, quantity: int = 1) -> dict[str, Any]:
        return dict(
            await self.call(
                "order_svc",
                "POST",
                "/place",
                {
                    "id": str(uuid.uuid4()),
                    "orderItems": [{"product": {"id": product_id}, "quantity": quantity}],
                },
            )
        )

    async def adjust(self, order: dict[str, Any], product_id: int, quantity: int) -> dict[str, Any]:
        return dict(
            await self.call(
                "order_svc",
                "PUT",
                "/adjust",
                {
                    "id": order["id"],
                    "version": order["version"],
                    "orderItems": [{"product": {"id": product_id}, "quantity": quantity}],
                },
            )
        )

    async def delivery_choice(
        self, kind: str, pick: Callable[[list[Any]], Any] = operator.itemgetter(0)
    ) -> dict[str, Any]:
        """What a customer picks at checkout: a pickup point, or a courier company's quote
        (`pick` chooses among the points or companies: the first, unless told otherwise)."""
        if kind == "pickup":
            points = await self.call("delivery_svc", "GET", "/pickup-points")
            return {"type": "pickup", "pointId": pick(points["items"])["id"]}
        couriers = await self.call("delivery_svc", "GET", "/couriers")
        company = pick(couriers["items"])["id"]
        address = "Москва, ул. Тверская, д. 7, кв. 12"
        quote = await self.call(
            "delivery_svc", "POST", "/quotes", {"address": address, "courierCompany": company}
        )
        return {
            "type": "courier",
            "address": address,
            "courierCompany": company,
            "quoteId": quote["quoteId"],
            "cost": quote["cost"],
        }

    async def checkout(
        self,
        order: dict[str, Any],
        kind: str = "pickup",
        expect: tuple[int, ...] = (200,),
        key: str | None = None,
        delivery: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """`key`: the Idempotency-Key; a retry after a lost answer must reuse it."""
        delivery = delivery or await self.delivery_choice(kind)
        body = {
            "id": order["id"],
            "version": order["version"],
            "phone": self.phone,
            "delivery": delivery,
        }
        headers = {"Idempotency-Key": key or str(uuid.uuid4())}
        return dict(
            await self.call("order_svc", "PUT", "/checkout", body, headers=headers, expect=expect)
        )

    async def process(self, order: dict[str, Any]) -> dict[str, Any]:
        return dict(
            await self.call(
                "order_svc", "PUT", "/process", {"id": order["id"], "version": order["version"]}
            )
        )

    async def cancel(self, order: dict[str, Any]) -> dict[str, Any]:
        return dict(await self.call("order_svc", "PUT", "/cancel", {"id": order["id"]}))

    async def order(self, order_id: str) -> dict[str, Any]:
        return dict(await self.call("order_svc", "GET", "/get", params={"orderId": order_id}))

    async def wait_status(
        self, order_id: str, statuses: set[str], timeout: float = 60.0, interval: float = 0.05
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            order = await self.order(order_id)
            if order["status"] in statuses:
                return order
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"order {order_id} still {order['status']}, wanted {sorted(statuses)}"
                )
            await asyncio.sleep(interval)

    async def wait_paid(self, order_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """The order once its payment reached it (it may be on its way through the saga)."""
        return await self.wait_status(order_id, PAID_OR_LATER, timeout)
