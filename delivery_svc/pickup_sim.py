"""A stand-in for the pickup points' counters, run beside the services by the launcher (as
`pickup_sim`) and by tests: `python -m delivery_svc.pickup_sim`.

Settings (env): `SAGASHOP_HTTP_HOST`, `SAGASHOP_HTTP_PORT`, `SAGASHOP_PICKUP_TOKEN` (the
credential both ways: delivery_svc calls us with it, we call delivery_svc with it; every route
but /health and /ready needs it when set), `SAGASHOP_DELIVERY_URL`, `SAGASHOP_SMS_URL` (the SMS
gateway simulator, where "the customer" reads the pickup code), `SAGASHOP_PICKUP_STATE` (a JSON
file of the parcels, so a restart resumes; default `pickup-sim.json` beside
`SAGASHOP_OUTBOX_DIR`, i.e. in the run's state directory), and the starting behaviour:
`SAGASHOP_PICKUP_TRANSIT_SECONDS` (20), `SAGASHOP_PICKUP_COLLECT_SECONDS` (20),
`SAGASHOP_PICKUP_UNCLAIMED_SHARE` (0.05).

- `POST /parcels {orderId, pointId}`: a parcel on its way to a point (idempotent by order id);
  after `transitSeconds` the point reports its arrival (`POST {delivery}/pickup-points/{pointId}
  /arrivals`); after `collectSeconds` more, the customer comes with the code from their SMS
  (`GET {sms}/messages`) and the point posts it (`POST {delivery}/pickups`). A share
  `unclaimedShare` of customers (decided at arrival), and the orders in `unclaimedOrders`, never
  come. A parcel delivery_svc refuses (a cancelled order) is dropped.
- `GET /parcels`: every parcel and its state; `GET|PUT /config`: the behaviour at run time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from servicekit import simulator
from servicekit.simulator import SimulatorSettings, refuse

log = logging.getLogger("pickup_sim")
# what the pickup-code SMS says (notification_svc/templates/delivery.j2)
CODE = re.compile(r"[Кк]од получения:?\s*(\d{6})")
TICK_SECONDS = 0.2  # the shortest gap between two rounds
IDLE_SECONDS = 60.0  # the longest, with no parcel on its way or waiting (a new one wakes it)
LIVE = ("in_transit", "waiting")


class SimSettings(SimulatorSettings):
    http_port: int = 8094
    pickup_token: str = ""
    delivery_url: str = "http://127.0.0.1:8085"
    sms_url: str = "http://127.0.0.1:8091"
    pickup_state: Path | None = None
    outbox_dir: Path = Path(".sagashop/sent")
    pickup_transit_seconds: float = 20.0
    pickup_collect_seconds: float = 20.0
    pickup_unclaimed_share: float = 0.05

    @property
    def state_file(self) -> Path:
        return self.pickup_state or self.outbox_dir.parent / "pickup-sim.json"


class SimConfig(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    transit_seconds: float = Field(20.0, ge=0, le=86400)
    collect_seconds: float = Field(20.0, ge=0, le=86400)
    unclaimed_share: float = Field(0.05, ge=0, le=1)
    unclaimed_orders: list[str] = Field(default_factory=list, max_length=1000)


class ParcelIn(BaseModel):
    orderId: str = Field(min_length=1, max_length=64)
    pointId: int = Field(ge=0)


class Counters:
    """The parcels the points know about: `in_transit` -> `waiting` (arrived) -> `collected`,
    or `unclaimed` (nobody comes), or `dropped` (delivery_svc refused it)."""

    def __init__(self, settings: SimSettings, config: SimConfig) -> None:
        self.settings, self.config = settings, config
        self.file = settings.state_file
        self.parcels: dict[str, dict[str, Any]] = self._load()
        self.auth = {"Authorization": f"Bearer {settings.pickup_token}"}
        self.http: aiohttp.ClientSession | None = None
        self.texts: list[str] | None = None
        self.wake = asyncio.Event()

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            loaded: dict[str, dict[str, Any]] = json.loads(self.file.read_text())
            return loaded
        except (OSError, ValueError):
            return {}

    def save(self) -> None:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.parcels, ensure_ascii=False))
        tmp.replace(self.file)  # atomic: a kill leaves the old file or the new one

    def receive(self, parcel: ParcelIn) -> dict[str, Any]:
        if (known := self.parcels.get(parcel.orderId)) is not None:
            return known
        row = {
            "orderId": parcel.orderId,
            "pointId": parcel.pointId,
            "state": "in_transit",
            "dueAt": time.time() + self.config.transit_seconds,
        }
        self.parcels[parcel.orderId] = row
        self.save()
        self.wake.set()
        return row

    async def tick(self) -> None:
        now = time.time()
        self.texts = None  # the gateway's messages, read once a round
        for row in list(self.parcels.values()):
            if row["dueAt"] > now:
                continue
            try:
                if row["state"] == "in_transit":
                    await self.report_arrival(row)
                elif row["state"] == "waiting":
                    await self.customer_comes(row)
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.warning("parcel %s: %s, tried again", row["orderId"], exc)

    async def report_arrival(self, row: dict[str, Any]) -> None:
        path = f"/pickup-points/{row['pointId']}/arrivals"
        status, body = await self.call("POST", path, {"orderId": row["orderId"]})
        if status == 200:
            unclaimed = random.random() < self.config.unclaimed_share  # noqa: S311 - simulator randomness, not security
            come = not unclaimed and row["orderId"] not in self.config.unclaimed_orders
            row.update(state="waiting" if come else "unclaimed")
            row["dueAt"] = time.time() + self.config.collect_seconds
        elif 400 <= status < 500:
            row.update(state="dropped", reason=str(body))
        self.save()

    async def customer_comes(self, row: dict[str, Any]) -> None:
        code = await self.code_from_sms(row["orderId"])
        if code is None:
            row["dueAt"] = time.time() + 1.0  # the SMS has not come yet: look again soon
            return
        status, body = await self.call(
            "POST", "/pickups", {"orderId": row["orderId"], "code": code}
        )
        if status == 200:
            row.update(state="collected")
        elif status == 429:
            row["dueAt"] = time.time() + 5.0
        elif 400 <= status < 500:
            row.update(state="dropped", reason=str(body))
        self.save()

    async def code_from_sms(self, order_id: str) -> str | None:
        """The latest pickup code the SMS gateway carried for the order."""
        assert self.http is not None  # noqa: S101 - type narrowing, not a guard
        if self.texts is None:
            async with self.http.get(f"{self.settings.sms_url}/messages") as resp:
                rows = await resp.json() if resp.status == 200 else []
            self.texts = [r.get("text", "") for r in rows if CODE.search(r.get("text", ""))]
        codes = [m.group(1) for t in self.texts if order_id in t and (m := CODE.search(t))]
        return codes[-1] if codes else None

    async def call(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        assert self.http is not None  # noqa: S101 - type narrowing, not a guard
        url = f"{self.settings.delivery_url}{path}"
        async with self.http.request(method, url, json=body, headers=self.auth) as resp:
            answer = await resp.json() if resp.content_type == "application/json" else None
            if resp.status >= 500:
                raise aiohttp.ClientError(f"delivery_svc answered {resp.status}")
            return resp.status, answer

    async def run(self) -> None:
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("pickup counters' round failed; going on")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.next_round())
            self.wake.clear()

    def next_round(self) -> float:
        """Seconds until the next parcel on its way or waiting is due (what failed is due
        already: TICK_SECONDS), instead of a round every TICK_SECONDS whatever is due."""
        due = [row["dueAt"] for row in self.parcels.values() if row["state"] in LIVE]
        if not due:
            return IDLE_SECONDS
        return min(max(min(due) - time.time(), TICK_SECONDS), IDLE_SECONDS)


COUNTERS = web.AppKey("counters", Counters)


async def post_parcel(request: web.Request) -> web.Response:
    try:
        parcel = ParcelIn.model_validate_json(await request.read())
    except ValidationError as exc:
        return refuse(400, f"bad parcel: {exc.errors()[0]['msg']}")
    return web.json_response(request.app[COUNTERS].receive(parcel))


async def list_parcels(request: web.Request) -> web.Response:
    return web.json_response(list(request.app[COUNTERS].parcels.values()))


async def get_config(request: web.Request) -> web.Response:
    return web.json_response(request.app[COUNTERS].config.model_dump(by_alias=True))


async def put_config(request: web.Request) -> web.Response:
    counters = request.app[COUNTERS]
    try:
        update = json.loads(await request.read() or b"{}")
        merged = {**counters.config.model_dump(by_alias=True), **update}
        counters.config = SimConfig.model_validate(merged)
    except (ValueError, ValidationError, TypeError) as exc:
        return refuse(400, f"bad config: {exc}")
    return await get_config(request)


def build_app(counters: Counters, token: str) -> web.Application:
    needs = "this call needs the pickup points' Authorization: Bearer token"
    app = web.Application(middlewares=[simulator.token_check(token, needs)])
    app[COUNTERS] = counters
    app.router.add_post("/parcels", post_parcel)
    app.router.add_get("/parcels", list_parcels)
    app.router.add_get("/config", get_config)
    app.router.add_put("/config", put_config)
    simulator.add_health(app, "pickup_sim")

    async def background(_: web.Application) -> Any:
        task = asyncio.create_task(counters.run())
        yield
        task.cancel()
        if counters.http is not None:
            await counters.http.close()

    app.cleanup_ctx.append(background)
    return app


def app_of(settings: SimSettings) -> web.Application:
    config = SimConfig(
        transit_seconds=settings.pickup_transit_seconds,
        collect_seconds=settings.pickup_collect_seconds,
        unclaimed_share=settings.pickup_unclaimed_share,
    )
    return build_app(Counters(settings, config), settings.pickup_token)


def main() -> None:
    simulator.run("pickup_sim", SimSettings, app_of)


if __name__ == "__main__":
    main()
