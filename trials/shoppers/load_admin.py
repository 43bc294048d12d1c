"""The shop's staff during a chaos run: an admin who accepts a few returns of delivered orders
(001's admin, issue 13), each restocked or written off, while services are being killed."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

from pymongo import AsyncMongoClient

from launcher.stack import Stack
from trials.shoppers.load_retry import LoadStats, persist
from trials.shoppers.shopper import EdgeError, Shopper


async def grant_admin(stack: Stack, s: Shopper) -> None:
    """The role straight in auth_svc's database (the CLI's way), then a fresh login so the
    session carries it."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongo)
    try:
        await client["auth_svc"].users.update_one(
            {"_id": s.name.lower()}, {"$addToSet": {"roles": "admin"}}
        )
    finally:
        await client.close()
    await s.call("auth_svc", "POST", "/login", {"username": s.name, "password": "shopper-pass-1"})


@dataclass
class ReturnsClerk:
    """Accepts up to `returns` returns of COMPLETED orders, one every few seconds; a share of
    them are written off (damaged in the customer's hands)."""

    stack: Stack
    rng: random.Random
    stats: LoadStats
    returns: int = 3
    write_off_share: float = 0.3
    accepted: list[str] = field(default_factory=list)

    async def run(self, stop: asyncio.Event, patience: float = 90.0) -> None:
        """Works while the load runs; after `stop`, for at most `patience` seconds more until
        its returns are done (the last orders are still being delivered)."""
        async with Shopper(self.stack.urls) as admin:
            await persist(admin.register, self.stats, "register admin")
            await persist(lambda: grant_admin(self.stack, admin), self.stats, "grant admin")
            loop = asyncio.get_running_loop()
            deadline: float | None = None
            while len(self.accepted) < self.returns:
                if stop.is_set():
                    deadline = deadline or loop.time() + patience
                    if loop.time() > deadline:
                        return
                await asyncio.sleep(self.rng.uniform(2.0, 5.0))
                try:
                    await self.return_one(admin)
                except Exception as exc:  # a failure the run reports, never hides
                    self.stats.errors.append(f"returns clerk: {exc!r}"[:500])
                    return

    async def return_one(self, admin: Shopper) -> None:
        page = await persist(
            lambda: admin.call("order_svc", "GET", "/admin/orders", params={"status": "COMPLETED"}),
            self.stats,
            "list completed",
        )
        goods = [o for o in page["items"] if o.get("kind", "GOODS") == "GOODS"]
        candidates = [o for o in goods if o["id"] not in self.accepted]
        if not candidates:
            return
        order = self.rng.choice(candidates)
        off = self.rng.random() < self.write_off_share
        body = {
            "reason": "the customer brought it back",
            "disposition": "WRITE_OFF" if off else "RESTOCK",
        }

        async def ask() -> Any:
            try:
                return await admin.call(
                    "order_svc", "POST", f"/admin/orders/{order['id']}/return", body
                )
            except EdgeError as exc:  # a lost answer's retry may find it returned already
                if exc.status != 409:
                    raise
                now = await admin.call("order_svc", "GET", f"/admin/orders/{order['id']}")
                if now["order"]["status"] != "RETURNED":
                    raise
                return now

        await persist(ask, self.stats, "accept return")
        self.accepted.append(order["id"])
        self.stats.orders[f"returned by an admin ({body['disposition'].lower()})"] += 1
