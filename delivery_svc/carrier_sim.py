"""A stand-in for the courier companies' API (СДЭК, Boxberry, DPD, Яндекс Доставка), run beside
the services by the launcher (as `carrier_sim`) and by tests: `python -m delivery_svc.carrier_sim`.

Settings (env): `SAGASHOP_HTTP_HOST`, `SAGASHOP_HTTP_PORT`, `SAGASHOP_CARRIER_STATE` (a JSON-lines
file of quotes and shipments with their events; a restarted simulator resumes every shipment's
schedule from it), `SAGASHOP_CARRIER_TOKEN` (the shop's API key: `Authorization: Bearer` on
every call but /health and /ready; empty: open), `SAGASHOP_CARRIER_WEBHOOK_SECRET` (events are
signed with it), `SAGASHOP_DELIVERY_URL` (events go to `POST {delivery}/carrier/events`, or to
`SAGASHOP_CARRIER_WEBHOOK_URL` when set), `SAGASHOP_COURIER_COMPANIES` (the companies and
tariffs, as delivery_svc's), and the starting behaviour: `SAGASHOP_CARRIER_PACE_SECONDS` (15),
`SAGASHOP_CARRIER_FAILED_ATTEMPT_SHARE` (0.05), `SAGASHOP_CARRIER_MAX_ATTEMPTS` (3),
`SAGASHOP_CARRIER_LOST_SHARE` (0.01), `SAGASHOP_CARRIER_LOST_AFTER_SECONDS` (120),
`SAGASHOP_CARRIER_ERROR_RATE` (0), `SAGASHOP_CARRIER_SLOW_SHARE` (0),
`SAGASHOP_CARRIER_SLOW_SECONDS` (5), `SAGASHOP_CARRIER_QUOTE_TTL_SECONDS` (900).

API:
- `POST /quotes {company, address}` -> `{quoteId, company, price, currency, expiresAt}`: the
  company's tariff applied to the address (delivery_svc.domain.price, so deterministic);
- `POST /shipments {quoteId, orderId, address, recipient?, phone?}` with `Idempotency-Key`
  -> 201 `{shipmentId, trackingNumber, status}` (the same key again: 200, the same shipment);
  409 `quote expired`;
- `GET /shipments/{id}` -> the shipment with its status and events; `DELETE /shipments/{id}`
  cancels it before delivery (409 after);
- `GET|PUT /config` (camelCase, bounded: 400 beyond), `GET /stats` (injected failures counted).

A shipment moves on every `paceSeconds`: ACCEPTED, IN_TRANSIT, OUT_FOR_DELIVERY (attempt 1),
then DELIVERED, or FAILED_ATTEMPT with `failedAttemptShare` and another OUT_FOR_DELIVERY, up to
`maxAttempts`, after which it is RETURNED. A share `lostShare` of parcels (decided at booking) is
lost in transit: no event after IN_TRANSIT, and `GET` says LOST `lostAfterSeconds` later. Each
event is POSTed signed (delivery_svc.carriers.sign_event) to the webhook, one shipment's events
in order, each retried with backoff until the webhook answers 2xx. `errorRate` (and `errorNext`)
answer 503 before doing anything; `slowShare` answers after `slowSeconds`, the work done.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from delivery_svc.carriers import FINAL, WEBHOOK_PATH, CarrierStatus, sign_event
from delivery_svc.domain import Tariff, normalize_address, price
from delivery_svc.settings import CourierCompanyConfig, simulated_companies
from servicekit import simulator
from servicekit.simulator import Handler, SimulatorSettings, refuse

log = logging.getLogger("carrier_sim")
MAX_BACKOFF_SECONDS = 30.0
IDLE_SECONDS = 60.0  # the longest between two rounds with nothing due (a booking wakes it)
M = TypeVar("M", bound=BaseModel)


class CarrierSimSettings(SimulatorSettings):
    http_port: int = 8093
    carrier_state: Path = Path(".sagashop/carrier-sim.jsonl")
    carrier_token: str = ""
    carrier_webhook_secret: str = ""
    delivery_url: str = "http://127.0.0.1:8085"
    carrier_webhook_url: str = ""
    courier_companies: list[CourierCompanyConfig] = Field(default_factory=simulated_companies)
    carrier_pace_seconds: float = 15.0
    carrier_failed_attempt_share: float = 0.05
    carrier_max_attempts: int = 3
    carrier_lost_share: float = 0.01
    carrier_lost_after_seconds: float = 120.0
    carrier_error_rate: float = 0.0
    carrier_slow_share: float = 0.0
    carrier_slow_seconds: float = 5.0
    carrier_quote_ttl_seconds: float = 900.0

    def webhook(self) -> str:
        return self.carrier_webhook_url or f"{self.delivery_url.rstrip('/')}{WEBHOOK_PATH}"

    def config(self) -> CarrierConfig:
        return CarrierConfig(
            pace_seconds=self.carrier_pace_seconds,
            failed_attempt_share=self.carrier_failed_attempt_share,
            max_attempts=self.carrier_max_attempts,
            lost_share=self.carrier_lost_share,
            lost_after_seconds=self.carrier_lost_after_seconds,
            error_rate=self.carrier_error_rate,
            slow_share=self.carrier_slow_share,
            slow_seconds=self.carrier_slow_seconds,
            quote_ttl_seconds=self.carrier_quote_ttl_seconds,
        )


class Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class CarrierConfig(Camel):
    """What `GET|PUT /config` shows and changes; every value bounded."""

    pace_seconds: float = Field(15.0, ge=0.01, le=3600)
    failed_attempt_share: float = Field(0.05, ge=0, le=1)
    max_attempts: int = Field(3, ge=1, le=10)
    lost_share: float = Field(0.01, ge=0, le=1)
    lost_after_seconds: float = Field(120.0, ge=0, le=86_400)
    error_rate: float = Field(0.0, ge=0, le=1)
    error_next: int = Field(0, ge=0, le=1000)  # the next N calls answer 503
    slow_share: float = Field(0.0, ge=0, le=1)
    slow_seconds: float = Field(5.0, ge=0, le=30)
    quote_ttl_seconds: float = Field(900.0, gt=0, le=86_400)


class QuoteRequest(Camel):
    company: str = Field(min_length=1, max_length=50)
    address: str = Field(min_length=1, max_length=500)


class BookRequest(Camel):
    quote_id: str = Field(min_length=1, max_length=100)
    order_id: str = Field(min_length=1, max_length=200)
    address: str = Field(min_length=1, max_length=500)
    recipient: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=30)


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")


class Refusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Carriers:
    """The simulator's state and its clock-driven shipments. Times are wall-clock unix seconds
    so that a restart resumes each shipment's schedule."""

    def __init__(
        self,
        store: Path,
        secret: str,
        webhook: str,
        companies: list[CourierCompanyConfig],
        config: CarrierConfig | None = None,
    ) -> None:
        self.store, self.secret, self.webhook = store, secret, webhook
        self.config = config or CarrierConfig()
        self.companies = {c.id: c for c in companies}
        self.quotes: dict[str, dict[str, Any]] = {}
        self.shipments: dict[str, dict[str, Any]] = {}
        self.by_key: dict[str, str] = {}
        self.stats = {"errors": 0, "slow": 0, "webhookFailures": 0, "eventsSent": 0}
        self.wake = asyncio.Event()  # a booking, a sent event to keep, a new config
        self.dirty: set[str] = set()  # shipments changed since they were last written
        self.senders: dict[str, asyncio.Task[None]] = {}
        self.http: aiohttp.ClientSession | None = None
        self._load()
        self._file = self.store.open("a", encoding="utf-8")

    # -- the state file: JSON lines, a quote or a shipment's latest copy each -----------------
    def _load(self) -> None:
        """Read the file (the last copy of each quote and shipment wins; a line torn by a kill
        is skipped), then write it again compacted: one line each, quotes a day past their
        expiry dropped."""
        self.store.parent.mkdir(parents=True, exist_ok=True)
        if self.store.exists():
            for line in self.store.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                    kind, item = row["kind"], row["item"]
                except (ValueError, KeyError, TypeError):
                    continue
                if kind == "quote":
                    self.quotes[item["quoteId"]] = item
                elif kind == "shipment":
                    self.shipments[item["shipmentId"]] = item
        old = time.time() - 86_400
        self.quotes = {k: q for k, q in self.quotes.items() if q["expiresAtTs"] > old}
        self.by_key = {s["idempotencyKey"]: s["shipmentId"] for s in self.shipments.values()}
        tmp = self.store.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as out:
            for quote in self.quotes.values():
                out.write(self._line("quote", quote))
            for shipment in self.shipments.values():
                out.write(self._line("shipment", shipment))
        os.replace(tmp, self.store)

    @staticmethod
    def _line(kind: str, item: dict[str, Any]) -> str:
        return json.dumps({"kind": kind, "item": item}, ensure_ascii=False) + "\n"

    def keep(self, kind: str, item: dict[str, Any]) -> None:
        """Append the item's current copy (flushed: a killed process loses nothing written)."""
        self._file.write(self._line(kind, item))
        self._file.flush()

    def save(self) -> None:
        """Write the shipments changed since the last save."""
        for shipment_id in sorted(self.dirty):
            self.keep("shipment", self.shipments[shipment_id])
        self.dirty.clear()

    # -- failures on purpose ---------------------------------------------------------------
    def failing(self) -> bool:
        if self.config.error_next:
            self.config.error_next -= 1
            return True
        return random.random() < self.config.error_rate  # noqa: S311 - simulator randomness, not security

    def slow(self) -> bool:
        return random.random() < self.config.slow_share  # noqa: S311 - simulator randomness, not security

    # -- the API -----------------------------------------------------------------------------
    def quote(self, req: QuoteRequest) -> dict[str, Any]:
        company = self.companies.get(req.company)
        if company is None:
            raise Refusal(
                400, f"unknown company {req.company!r}; known: {', '.join(self.companies)}"
            )
        now = time.time()
        expires = now + self.config.quote_ttl_seconds
        quote: dict[str, Any] = {
            "quoteId": uuid.uuid4().hex,
            "company": company.id,
            "address": req.address,
            "price": price(Tariff(company.base_cost, company.per_char_cost), req.address),
            "currency": "RUB",
            "expiresAt": iso(expires),
            "expiresAtTs": expires,
        }
        self.quotes[quote["quoteId"]] = quote
        self.keep("quote", quote)  # a quote given must still be there to book on after a restart
        return {k: v for k, v in quote.items() if k not in ("address", "expiresAtTs")}

    def book(self, key: str, req: BookRequest) -> tuple[bool, dict[str, Any]]:
        """(new, the shipment): the same idempotency key answers the first shipment."""
        known = self.by_key.get(key)
        if known is not None:
            shipment = self.shipments[known]
            if shipment["orderId"] != req.order_id:
                raise Refusal(422, "this Idempotency-Key was used for another order")
            return False, shipment
        quote = self.quotes.get(req.quote_id)
        if quote is None:
            raise Refusal(409, f"quote {req.quote_id} unknown or expired")
        now = time.time()
        if quote["expiresAtTs"] <= now:
            raise Refusal(409, "quote expired")
        if normalize_address(quote["address"]) != normalize_address(req.address):
            raise Refusal(409, "the quote was given for another address")
        shipment_id = uuid.uuid4().hex
        shipment = {
            "shipmentId": shipment_id,
            "trackingNumber": f"{quote['company'].upper()}-{random.randrange(10**9, 10**10)}",  # noqa: S311 - simulator randomness, not security
            "orderId": req.order_id,
            "idempotencyKey": key,
            "company": quote["company"],
            "quoteId": quote["quoteId"],
            "address": req.address,
            "recipient": req.recipient,
            "phone": req.phone,
            "price": quote["price"],
            "status": CarrierStatus.BOOKED.value,
            "bookedAt": iso(now),
            "attempt": 0,
            "lost": random.random() < self.config.lost_share,  # noqa: S311 - simulator randomness, not security
            "lostSince": None,
            "nextAt": now + self.config.pace_seconds,
            "events": [],
        }
        self.shipments[shipment_id] = shipment
        self.by_key[key] = shipment_id
        self.keep("shipment", shipment)  # booked means remembered: the key finds it after a crash
        log.info("booked %s for order %s (%s)", shipment_id, req.order_id, quote["company"])
        self.wake.set()
        return True, shipment

    def cancel(self, shipment_id: str) -> dict[str, Any]:
        shipment = self.shipment(shipment_id)
        status = CarrierStatus(shipment["status"])
        if status is CarrierStatus.CANCELLED:
            return shipment
        if status in FINAL:
            raise Refusal(409, f"shipment is already {status.value}: it cannot be cancelled")
        shipment["status"] = CarrierStatus.CANCELLED.value
        shipment["nextAt"] = None
        self.keep("shipment", shipment)
        log.info("shipment %s cancelled", shipment_id)
        return shipment

    def shipment(self, shipment_id: str) -> dict[str, Any]:
        shipment = self.shipments.get(shipment_id)
        if shipment is None:
            raise Refusal(404, f"no shipment {shipment_id}")
        return shipment

    # -- the schedule ------------------------------------------------------------------------
    def step(self, shipment: dict[str, Any], now: float) -> None:
        """The shipment's next move, if it is due."""
        status = CarrierStatus(shipment["status"])
        if status in FINAL:
            return
        if shipment["lostSince"] is not None:
            if now - shipment["lostSince"] >= self.config.lost_after_seconds:
                shipment["status"] = CarrierStatus.LOST.value
                self.dirty.add(shipment["shipmentId"])
                log.info("shipment %s is lost", shipment["shipmentId"])
            return
        if shipment["nextAt"] is None or shipment["nextAt"] > now:
            return
        attempt: int | None = None
        if status is CarrierStatus.BOOKED:
            nxt = CarrierStatus.ACCEPTED
        elif status is CarrierStatus.ACCEPTED:
            nxt = CarrierStatus.IN_TRANSIT
        elif status is CarrierStatus.IN_TRANSIT:
            if shipment["lost"]:
                shipment["lostSince"], shipment["nextAt"] = now, None
                self.dirty.add(shipment["shipmentId"])
                return
            nxt, attempt = CarrierStatus.OUT_FOR_DELIVERY, 1
        elif status is CarrierStatus.OUT_FOR_DELIVERY:
            attempt = shipment["attempt"]
            failed = random.random() < self.config.failed_attempt_share  # noqa: S311 - simulator randomness, not security
            nxt = CarrierStatus.FAILED_ATTEMPT if failed else CarrierStatus.DELIVERED
        else:  # FAILED_ATTEMPT
            if shipment["attempt"] >= self.config.max_attempts:
                nxt = CarrierStatus.RETURNED
            else:
                nxt, attempt = CarrierStatus.OUT_FOR_DELIVERY, shipment["attempt"] + 1
        event: dict[str, Any] = {
            "eventId": uuid.uuid4().hex,
            "shipmentId": shipment["shipmentId"],
            "orderId": shipment["orderId"],
            "status": nxt.value,
            "at": iso(now),
        }
        if attempt is not None:
            event["attempt"] = attempt
            shipment["attempt"] = attempt
        shipment["events"].append({"event": event, "sent": False})
        shipment["status"] = nxt.value
        shipment["nextAt"] = None if nxt in FINAL else now + self.config.pace_seconds
        self.dirty.add(shipment["shipmentId"])
        log.info("shipment %s: %s", shipment["shipmentId"], nxt.value)

    async def run(self) -> None:
        """Move every shipment on when due, keep the file, and keep a sender per shipment
        that has events the webhook has not taken yet."""
        while True:
            try:
                now = time.time()
                for shipment in self.shipments.values():
                    self.step(shipment, now)
                if self.dirty:
                    self.save()
                for shipment in self.shipments.values():
                    sid = shipment["shipmentId"]
                    unsent = any(not e["sent"] for e in shipment["events"])
                    if unsent and (sid not in self.senders or self.senders[sid].done()):
                        self.senders[sid] = asyncio.create_task(self.deliver(shipment))
            except Exception:
                log.exception("carrier schedule tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.next_tick())
            self.wake.clear()

    def next_tick(self) -> float:
        """Seconds until the next shipment is due a move (or to be lost), at least the old tick
        (0.2 s, or half the pace), IDLE_SECONDS at most: a round every tick whatever was due
        cost an idle shop a wake-up every 0.2 s."""
        tick = min(0.2, self.config.pace_seconds / 2)
        due = []
        for shipment in self.shipments.values():
            if CarrierStatus(shipment["status"]) in FINAL:
                continue
            if shipment["lostSince"] is not None:
                due.append(shipment["lostSince"] + self.config.lost_after_seconds)
            elif shipment["nextAt"] is not None:
                due.append(shipment["nextAt"])
        if not due:
            return IDLE_SECONDS
        return min(max(min(due) - time.time(), tick), IDLE_SECONDS)

    async def deliver(self, shipment: dict[str, Any]) -> None:
        """The shipment's unsent events, in order, each until the webhook answers 2xx."""
        self.http = self.http or aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        for entry in shipment["events"]:
            if entry["sent"]:
                continue
            body = json.dumps(entry["event"]).encode()
            pause = 0.1
            while not await self.post(body):
                self.stats["webhookFailures"] += 1
                await asyncio.sleep(pause * random.uniform(0.5, 1.5))  # noqa: S311 - simulator randomness, not security
                pause = min(pause * 2, MAX_BACKOFF_SECONDS)
            entry["sent"] = True
            self.stats["eventsSent"] += 1
            self.dirty.add(shipment["shipmentId"])
            self.wake.set()  # the next round keeps it in the file

    async def post(self, body: bytes) -> bool:
        assert self.http is not None  # noqa: S101 - type narrowing, not a guard
        try:
            headers = sign_event(self.secret, body) if self.secret else {}
            headers.setdefault("Content-Type", "application/json")
            async with self.http.post(self.webhook, data=body, headers=headers) as resp:
                return 200 <= resp.status < 300
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def close(self) -> None:
        for task in self.senders.values():
            task.cancel()
        self.save()
        self._file.close()
        if self.http is not None:
            await self.http.close()


def view(shipment: dict[str, Any]) -> dict[str, Any]:
    keep = ("shipmentId", "trackingNumber", "orderId", "company", "status", "price", "bookedAt")
    shown = {k: shipment[k] for k in keep}
    shown["address"] = shipment["address"]
    shown["events"] = [e["event"] for e in shipment["events"]]
    return shown


CARRIERS = web.AppKey("carriers", Carriers)


async def parse(request: web.Request, model: type[M]) -> M:
    try:
        return model.model_validate_json(await request.read())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise Refusal(400, f"bad request: {where}: {first['msg']}") from exc


@web.middleware
async def behaviour(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refusals as 4xx; injected 503s and slow answers on the shipping API."""
    carriers = request.app[CARRIERS]
    api = request.path.startswith(("/quotes", "/shipments"))
    if api and carriers.failing():
        carriers.stats["errors"] += 1
        return refuse(503, "temporarily unavailable")
    try:
        response = await handler(request)
    except Refusal as exc:
        response = refuse(exc.status, str(exc))
    if api and carriers.slow():
        carriers.stats["slow"] += 1
        await asyncio.sleep(carriers.config.slow_seconds)
    return response


async def post_quote(request: web.Request) -> web.Response:
    req = await parse(request, QuoteRequest)
    return web.json_response(request.app[CARRIERS].quote(req), status=201)


async def post_shipment(request: web.Request) -> web.Response:
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key or len(key) > 200:
        raise Refusal(400, "an Idempotency-Key header (the order id) is required")
    req = await parse(request, BookRequest)
    new, shipment = request.app[CARRIERS].book(key, req)
    body = {k: shipment[k] for k in ("shipmentId", "trackingNumber", "status")}
    return web.json_response(
        body if new else {**body, "duplicate": True}, status=201 if new else 200
    )


async def get_shipment(request: web.Request) -> web.Response:
    return web.json_response(view(request.app[CARRIERS].shipment(request.match_info["id"])))


async def delete_shipment(request: web.Request) -> web.Response:
    return web.json_response(view(request.app[CARRIERS].cancel(request.match_info["id"])))


async def get_config(request: web.Request) -> web.Response:
    return web.json_response(request.app[CARRIERS].config.model_dump(by_alias=True))


async def put_config(request: web.Request) -> web.Response:
    carriers = request.app[CARRIERS]
    try:
        update = json.loads(await request.read() or b"{}")
        if not isinstance(update, dict):
            raise Refusal(400, "bad config: a JSON object is expected")
        merged = {**carriers.config.model_dump(by_alias=True), **update}
        carriers.config = CarrierConfig.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise Refusal(400, f"bad config: {where}: {first['msg']}") from exc
    except ValueError as exc:
        raise Refusal(400, f"bad config: {exc}") from exc
    log.info("config now %s", carriers.config.model_dump(by_alias=True))
    carriers.wake.set()  # a shorter wait for a lost parcel, say
    return await get_config(request)


async def get_stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[CARRIERS].stats)


def build_app(carriers: Carriers, token: str = "") -> web.Application:
    api_key = simulator.token_check(token, "this call needs the shop's API key")
    app = web.Application(middlewares=[api_key, behaviour])
    app[CARRIERS] = carriers
    app.router.add_post("/quotes", post_quote)
    app.router.add_post("/shipments", post_shipment)
    app.router.add_get("/shipments/{id}", get_shipment)
    app.router.add_delete("/shipments/{id}", delete_shipment)
    app.router.add_get("/config", get_config)
    app.router.add_put("/config", put_config)
    app.router.add_get("/stats", get_stats)
    simulator.add_health(app, "carrier_sim")

    async def schedule(_: web.Application) -> Any:
        task = asyncio.create_task(carriers.run())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await carriers.close()

    app.cleanup_ctx.append(schedule)
    return app


def app_of(settings: CarrierSimSettings) -> web.Application:
    if not settings.carrier_token:
        log.warning("no SAGASHOP_CARRIER_TOKEN: the carriers' API is open to anyone")
    if not settings.carrier_webhook_secret:
        log.warning("no SAGASHOP_CARRIER_WEBHOOK_SECRET: tracking events go unsigned")
    carriers = Carriers(
        settings.carrier_state,
        settings.carrier_webhook_secret,
        settings.webhook(),
        settings.courier_companies,
        settings.config(),
    )
    log.info("%d shipments resumed from %s", len(carriers.shipments), settings.carrier_state)
    return build_app(carriers, settings.carrier_token)


def main() -> None:
    simulator.run("carrier_sim", CarrierSimSettings, app_of)


if __name__ == "__main__":
    main()
