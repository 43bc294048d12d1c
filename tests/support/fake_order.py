"""A stand-in for order_svc's `GET /get?orderId=`: answers the orders a test puts into it, and
only to the session that owns them (others get 404, as order_svc answers), so a test also
proves that the caller's `sessionId` cookie is forwarded."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from launcher.embedded import free_port


class FakeOrders:
    def __init__(self) -> None:
        self.orders: dict[str, dict[str, Any]] = {}
        self.owners: dict[str, str] = {}
        self.url = ""

    def put(
        self,
        session_id: str,
        total: int = 2500,
        status: str = "AWAITING_PAYMENT",
        order_id: str | None = None,
    ) -> str:
        """An order owned by `session_id`'s user; returns its id."""
        order_id = order_id or f"o-{uuid.uuid4().hex[:12]}"
        self.orders[order_id] = {
            "id": order_id,
            "status": status,
            "version": 2,
            "total": total,
            "currency": "RUB",
            "orderItems": [],
        }
        self.owners[order_id] = session_id
        return order_id

    async def get(self, request: web.Request) -> web.Response:
        session = request.cookies.get("sessionId")
        if not session:
            return web.json_response({"errorMessage": "User not authorized"}, status=401)
        order_id = request.query.get("orderId", "")
        if order_id not in self.orders or self.owners[order_id] != session:
            return web.json_response({"errorMessage": "Order not found"}, status=404)
        return web.json_response(self.orders[order_id])


@contextlib.asynccontextmanager
async def fake_orders() -> AsyncIterator[FakeOrders]:
    orders = FakeOrders()
    app = web.Application()
    app.router.add_get("/get", orders.get)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    orders.url = f"http://127.0.0.1:{port}"
    try:
        yield orders
    finally:
        await runner.cleanup()
