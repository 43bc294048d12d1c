"""Orders for the admin pages' tests, made over the edges as a customer makes them (the
checkout and payment pages have their own tests): one the saga confirms (the shared system's
simulators keep it CONFIRMED), and one it compensates because delivery is away past the
saga's deadline (it is started again: the next module finds it running)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from tests.browser.system import Account, ShopSystem
from trials.shoppers.shopper import FINAL, Shopper


@dataclass(frozen=True)
class SagaOrders:
    customer: str
    confirmed: dict[str, Any]
    compensated: dict[str, Any]


async def until(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.1)


class AdminApi:
    """The admin's own session on the edges, for what a test does beside the browser."""

    def __init__(self, urls: dict[str, str], admin: Account) -> None:
        self.urls, self.admin = urls, admin
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def login(self) -> None:
        body = {"username": self.admin.username, "password": self.admin.password}
        async with self.http.post(f"{self.urls['auth_svc']}/login", json=body) as resp:
            assert resp.status == 200, await resp.text()

    async def call(self, service: str, method: str, path: str, json: Any = None) -> Any:
        async with self.http.request(method, f"{self.urls[service]}{path}", json=json) as resp:
            return resp.status, await resp.json(content_type=None)

    async def saga_state(self, order_id: str) -> str | None:
        status, body = await self.call("orchestra", "GET", f"/sagas/{order_id}")
        return body["state"] if status == 200 else None


async def paid_order(s: Shopper, product_id: int) -> dict[str, Any]:
    return await pay(s, await s.checkout(await s.place(product_id)))


async def pay(s: Shopper, order: dict[str, Any]) -> dict[str, Any]:
    payment = await s.pay(order)
    assert payment["status"] == "SUCCEEDED", payment
    return await s.wait_paid(order["id"])


def make_saga_orders(shop: ShopSystem, admin: Account, product_id: int) -> SagaOrders:
    async def make() -> SagaOrders:
        api = AdminApi(shop.system.urls, admin)
        async with Shopper(shop.system.urls) as s:
            await api.login()
            await s.register()
            confirmed = await s.wait_status((await paid_order(s, product_id))["id"], FINAL, 60)
            assert confirmed["status"] == "CONFIRMED", confirmed
            # paid orders go to the saga by themselves: delivery falls silent between the
            # checkout and the payment, past the saga's deadline, so the saga compensates
            doomed = await s.checkout(await s.place(product_id))
            delivery = shop.stack.procs["delivery_svc"]
            delivery.kill()
            try:
                doomed = await pay(s, doomed)
                state = lambda: api.saga_state(doomed["id"])  # noqa: E731
                await until(lambda: _is(state, "COMPENSATING"), 60, "saga never compensated")
            finally:
                delivery.start()
                await delivery.wait_ready(120)
            compensated = await s.wait_status(doomed["id"], {"CANCELLED"}, timeout=90)
            await api.http.close()
            return SagaOrders(s.name, confirmed, compensated)

    return shop.run(make())


async def _is(state: Callable[[], Awaitable[str | None]], wanted: str) -> bool:
    return await state() == wanted
