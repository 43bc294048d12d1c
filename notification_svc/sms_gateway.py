"""A stand-in for an SMS provider's HTTP API, run beside the services by the launcher and by
tests: `python -m notification_svc.sms_gateway` (`SAGASHOP_HTTP_PORT`, `SAGASHOP_SMS_STATE` =
its store of accepted messages, `SAGASHOP_SMS_WEBHOOK_SECRET` = the key receipts are signed
with).

`POST /messages` `{to, text, clientMessageId, callbackUrl}` answers `201 {messageId}` (or
`200` with the first one's id for a `clientMessageId` it has seen: nothing is sent twice);
`400` for a number it cannot deliver to; `429` over its rate limit; `503` now and then.
A while later it calls `callbackUrl` with a signed receipt: `delivered`, or `failed` for
numbers in `undeliverable`. `GET /messages` lists what it accepted with each one's status;
`GET|PUT /config` changes the rate limit, the errors and the receipts at run time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import BaseModel, Field, ValidationError

from notification_svc.sms_receipts import SIGNATURE_HEADER, sign
from servicekit import simulator
from servicekit.simulator import SimulatorSettings, refuse

log = logging.getLogger("sms_sim")
PHONE = re.compile(r"^\+?\d{10,15}$")


class GatewaySettings(SimulatorSettings):
    http_port: int = 8091
    sms_state: Path = Path(".sagashop/sent/sms-gateway.jsonl")
    sms_webhook_secret: str = ""


class GatewayConfig(BaseModel):
    rate_per_second: float = Field(200.0, gt=0)  # a token bucket of this rate and burst
    error_next: int = Field(0, ge=0)  # the next N sends answer 503
    error_rate: float = Field(0.0, ge=0, le=1)
    receipt_delay_ms: int = Field(200, ge=0)
    undeliverable: list[str] = []  # numbers whose receipts say "failed"


class SendRequest(BaseModel):
    to: str
    text: str = Field(min_length=1, max_length=1600)
    clientMessageId: str = Field(min_length=1, max_length=200)
    callbackUrl: str | None = None


class Gateway:
    def __init__(self, store: Path, secret: str, config: GatewayConfig | None = None) -> None:
        self.store, self.secret = store, secret
        self.config = config or GatewayConfig()
        self.accepted: dict[str, dict[str, Any]] = {}
        self._tokens, self._at = self.config.rate_per_second, time.monotonic()
        self._tasks: set[asyncio.Task[None]] = set()
        self.http: aiohttp.ClientSession | None = None
        for row in self._rows():
            self.accepted[row["idempotencyKey"]] = row

    def _rows(self) -> list[dict[str, Any]]:
        if not self.store.exists():
            return []
        rows = []
        for line in self.store.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue  # a line torn by a kill
        return rows

    def admit(self) -> bool:
        """The token bucket: one token per send, refilled at `rate_per_second`."""
        now, rate = time.monotonic(), self.config.rate_per_second
        self._tokens = min(rate, self._tokens + (now - self._at) * rate)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def failing(self) -> bool:
        if self.config.error_next:
            self.config.error_next -= 1
            return True
        return random.random() < self.config.error_rate  # noqa: S311 - simulator randomness, not security

    def accept(self, req: SendRequest) -> dict[str, Any]:
        row = {
            "idempotencyKey": req.clientMessageId,
            "messageId": uuid.uuid4().hex,
            "to": req.to,
            "text": req.text,
            "acceptedAt": datetime.now(UTC).isoformat(),
        }
        self.store.parent.mkdir(parents=True, exist_ok=True)
        with self.store.open("a") as f:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
        self.accepted[req.clientMessageId] = row
        if req.callbackUrl:
            task = asyncio.create_task(self.send_receipt(row, req.callbackUrl))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return row

    async def send_receipt(self, row: dict[str, Any], url: str) -> None:
        """Tell the sender how the SMS ended; try again for a while if it does not answer."""
        await asyncio.sleep(self.config.receipt_delay_ms / 1000)
        failed = row["to"] in self.config.undeliverable
        receipt = {"messageId": row["messageId"], "clientMessageId": row["idempotencyKey"]}
        receipt |= (
            {"status": "failed", "error": "unreachable"} if failed else {"status": "delivered"}
        )
        row["status"] = receipt["status"]
        body = json.dumps(receipt).encode()
        headers = {SIGNATURE_HEADER: sign(self.secret, body), "Content-Type": "application/json"}
        self.http = self.http or aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        for attempt in range(8):
            try:
                async with self.http.post(url, data=body, headers=headers) as resp:
                    if resp.status < 500:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(min(0.5 * 2**attempt, 10))
        log.warning("receipt for %s never reached %s", row["messageId"], url)


GATEWAY = web.AppKey("gateway", Gateway)


async def post_message(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY]
    try:
        req = SendRequest.model_validate_json(await request.read())
    except ValidationError as exc:
        return refuse(400, f"bad request: {exc.errors()[0]['msg']}")
    if (seen := gateway.accepted.get(req.clientMessageId)) is not None:
        return web.json_response({"messageId": seen["messageId"], "duplicate": True})
    if not PHONE.match(req.to):
        return refuse(400, "not a phone number we can deliver to")
    if not gateway.admit():
        return refuse(429, "rate limit exceeded", **{"Retry-After": "1"})
    if gateway.failing():
        return refuse(503, "temporarily unavailable")
    row = gateway.accept(req)
    return web.json_response({"messageId": row["messageId"]}, status=201)


async def list_messages(request: web.Request) -> web.Response:
    rows = list(request.app[GATEWAY].accepted.values())
    if to := request.query.get("to"):
        rows = [r for r in rows if r["to"] == to]
    return web.json_response(rows)


async def get_config(request: web.Request) -> web.Response:
    return web.json_response(request.app[GATEWAY].config.model_dump())


async def put_config(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY]
    try:
        update = json.loads(await request.read() or b"{}")
        gateway.config = GatewayConfig.model_validate({**gateway.config.model_dump(), **update})
    except (ValueError, ValidationError, TypeError) as exc:
        return refuse(400, f"bad config: {exc}")
    return await get_config(request)


def build_app(gateway: Gateway) -> web.Application:
    app = web.Application()
    app[GATEWAY] = gateway
    app.router.add_post("/messages", post_message)
    app.router.add_get("/messages", list_messages)
    app.router.add_get("/config", get_config)
    app.router.add_put("/config", put_config)
    simulator.add_health(app, "sms_sim")

    async def close(_: web.Application) -> None:
        if gateway.http is not None:
            await gateway.http.close()

    app.on_cleanup.append(close)
    return app


def app_of(settings: GatewaySettings) -> web.Application:
    return build_app(Gateway(settings.sms_state, settings.sms_webhook_secret))


def main() -> None:
    simulator.run("sms_sim", GatewaySettings, app_of)


if __name__ == "__main__":
    main()
