"""A stand-in for the warehouse's staff, run beside the services by the launcher and by tests:
`python -m store_svc.warehouse_sim` (`SAGASHOP_HTTP_PORT`, `SAGASHOP_STORE_URL`,
`SAGASHOP_WAREHOUSE_TOKEN` = the warehouse's credential at store_svc,
`SAGASHOP_WAREHOUSE_PACE_SECONDS` (10) = how long each step takes,
`SAGASHOP_WAREHOUSE_DAMAGED_SHARE` (0.02) = the share of cases where an item turns out damaged).

It reads store_svc's live picking cases every round and moves each one step on once `pace`
has passed since its last move: created -> picking -> picked (or damaged) -> handed_over. The
next round comes when the next case it read falls due, `pace` later at most (a case opened
after a round is due no sooner), instead of every `pace / 4` (2 s at most) as it did. It
keeps nothing between rounds (the case's own history says when it last moved), so a crash or a
restart loses nothing. `GET /config` shows `{paceSeconds, damagedShare}`, `PUT /config` (with
the warehouse token) changes them; `/health` and `/ready` answer while it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from servicekit import simulator
from servicekit.simulator import SimulatorSettings, refuse

log = logging.getLogger("warehouse_sim")
LIVE = "CREATED,PICKING,PICKED"
NEXT = {"CREATED": "PICKING", "PICKING": "PICKED", "PICKED": "HANDED_OVER"}
DUE_MARGIN = 0.01  # a timer may fire a little early: look just after a case falls due
SHORTEST = 0.1  # between two rounds (pace 0 moves every case at every round)


class WarehouseSettings(SimulatorSettings):
    http_port: int = 8094
    store_url: str = "http://127.0.0.1:8084"
    warehouse_token: str = ""
    warehouse_pace_seconds: float = Field(default=10.0, ge=0)
    warehouse_damaged_share: float = Field(default=0.02, ge=0, le=1)
    # how many cases one round reads at most (oldest first)
    warehouse_batch: int = Field(default=200, ge=1, le=500)


class WarehouseConfig(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    pace_seconds: float = Field(ge=0, le=3600)
    damaged_share: float = Field(ge=0, le=1)


class Warehouse:
    def __init__(self, settings: WarehouseSettings) -> None:
        self.settings = settings
        self.config = WarehouseConfig(
            pace_seconds=settings.warehouse_pace_seconds,
            damaged_share=settings.warehouse_damaged_share,
        )
        self.http: aiohttp.ClientSession | None = None
        self.wake = asyncio.Event()

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.warehouse_token}"}

    async def run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=10)
        self.http = aiohttp.ClientSession(timeout=timeout, headers=self.headers)
        while True:
            wait = self.poll_seconds()
            try:
                wait = await self.round()
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                log.warning("store not reachable: %r", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), wait)
            self.wake.clear()

    def poll_seconds(self) -> float:
        """The next look after a round that could not see every case (the store away, a full
        batch, a step refused)."""
        return min(max(self.config.pace_seconds / 4, 0.1), 2.0)

    async def round(self) -> float:
        """Move on every case that is due; how long until the next round: until the next case
        known falls due, at most `pace` (a case opened after this look is due no sooner)."""
        assert self.http is not None  # noqa: S101 - type narrowing, not a guard
        url = f"{self.settings.store_url}/picking"
        params = {"status": LIVE, "limit": str(self.settings.warehouse_batch)}
        async with self.http.get(url, params=params) as resp:
            body = await resp.json()
            if resp.status != 200:
                log.warning("store refused the case list: %s %s", resp.status, body)
                return self.poll_seconds()
        now = datetime.now(UTC)
        wait = self.config.pace_seconds
        for case in body["cases"]:
            left = self.left(case, now)
            if left > 0:
                wait = min(wait, left)
            elif not await self.step(case):
                wait = min(wait, self.poll_seconds())
        if len(body["cases"]) >= self.settings.warehouse_batch:
            wait = min(wait, self.poll_seconds())
        return max(wait + DUE_MARGIN, SHORTEST)

    def left(self, case: dict[str, Any], now: datetime) -> float:
        """Seconds until the case is due its next step (its last move + pace)."""
        last = case.get("updatedAt") or case["openedAt"]
        moved = datetime.fromisoformat(last.replace("Z", "+00:00"))
        return self.config.pace_seconds - (now - moved).total_seconds()

    async def step(self, case: dict[str, Any]) -> bool:
        """Move the case on; False when the store refused it for another reason than someone
        having moved it first (the next round comes at the old poll, to try again)."""
        assert self.http is not None  # noqa: S101 - type narrowing, not a guard
        body: dict[str, Any] = {"status": NEXT[case["status"]]}
        if case["status"] == "PICKING" and random.random() < self.config.damaged_share:  # noqa: S311 - simulator randomness, not security
            item = case["items"][0]
            body = {"status": "DAMAGED", "productId": item["productId"], "quantity": 1}
            body["reason"] = "found damaged on the shelf"
        url = f"{self.settings.store_url}/picking/{case['orderId']}/status"
        async with self.http.put(url, json=body) as resp:
            if resp.status == 200:
                log.info("case %s: %s", case["orderId"], body["status"])
            elif resp.status != 409:  # 409: someone else moved it first (staff, a REVERSE)
                log.warning("case %s: %s refused %s", case["orderId"], body, resp.status)
                return False
        return True

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()


WAREHOUSE = web.AppKey("warehouse", Warehouse)


async def get_config(request: web.Request) -> web.Response:
    return web.json_response(request.app[WAREHOUSE].config.model_dump(by_alias=True))


async def put_config(request: web.Request) -> web.Response:
    warehouse = request.app[WAREHOUSE]
    token, message = (
        warehouse.settings.warehouse_token,
        "this call needs the warehouse's Bearer token",
    )
    if refused := simulator.unauthorized(request, token, message):
        return refused
    try:
        update = WarehouseConfig.model_validate(
            {**warehouse.config.model_dump(by_alias=True), **await request.json()}
        )
    except (ValueError, ValidationError, TypeError) as exc:
        return refuse(400, f"bad config: {exc}")
    warehouse.config = update
    warehouse.wake.set()
    log.info("config: %s", update.model_dump(by_alias=True))
    return await get_config(request)


def build_app(warehouse: Warehouse) -> web.Application:
    app = web.Application()
    app[WAREHOUSE] = warehouse
    app.router.add_get("/config", get_config)
    app.router.add_put("/config", put_config)
    simulator.add_health(app, "warehouse_sim")

    async def driving(_: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(warehouse.run())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await warehouse.close()

    app.cleanup_ctx.append(driving)
    return app


def app_of(settings: WarehouseSettings) -> web.Application:
    if not settings.warehouse_token:
        log.warning("no warehouse token: store_svc will refuse the picking calls, config is open")
    return build_app(Warehouse(settings))


def main() -> None:
    simulator.run("warehouse_sim", WarehouseSettings, app_of)


if __name__ == "__main__":
    main()
