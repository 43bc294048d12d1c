"""A stand-in for the bank's card and SBP API, run beside the services by the launcher and by
tests: `python -m payment_svc.bank_sim` (settings `SAGASHOP_HTTP_HOST`, `SAGASHOP_HTTP_PORT`,
`SAGASHOP_BANK_STATE` = the ledger file, `SAGASHOP_BANK_LATENCY_MS`,
`SAGASHOP_BANK_TIMEOUT_RATE`, `SAGASHOP_BANK_HANG_SECONDS`, `SAGASHOP_BANK_DECLINES` as JSON,
`SAGASHOP_BANK_CALLBACK_LOSS_RATE`, `SAGASHOP_BANK_WEBHOOK_SECRET` = the key QR callbacks are
signed with; empty: no callbacks; `SAGASHOP_BANK_CLIENT_TOKEN` and `SAGASHOP_BANK_ADMIN_TOKEN`
= the bearer tokens of the shop's and the operator's calls, see bank_access).

`POST /cards` saves a card and answers its token; `POST /charges` (card, saved-card token, SBP
phone or SBP QR code), `GET /charges/{idempotencyKey}`, `POST /refunds`; `POST /qr/{qrId}/pay`
is the customer paying a QR code in their bank app; `GET|PUT /config` changes latency, lost
answers, declines and lost callbacks at run time (bounded delays); `GET /ledger` answers the
money moved.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from payment_svc.bank_access import BankTokens, BoundedConfigUpdate, token_check
from payment_svc.bank_cards import DEFAULT_DECLINES
from payment_svc.bank_ledger import Ledger
from payment_svc.bank_notifier import CallbackSender
from payment_svc.bank_rules import Bank, BankError, Invalid
from schemas.base import WireModel
from schemas.payment_http import (
    BankConfig,
    ChargeRequest,
    RefundRequest,
    TokenizeRequest,
)
from servicekit import simulator
from servicekit.http import validation_message
from servicekit.simulator import SimulatorSettings, refuse

log = logging.getLogger("bank_sim")
M = TypeVar("M", bound=BaseModel)


class BankSimSettings(SimulatorSettings):
    http_port: int = 8090
    bank_state: Path = Path(".sagashop/bank-ledger.jsonl")
    bank_latency_ms: int = 0
    bank_timeout_rate: float = 0.0
    bank_hang_seconds: float = 30.0
    bank_declines: dict[str, str] = DEFAULT_DECLINES
    bank_callback_loss_rate: float = 0.0
    bank_webhook_secret: str = ""
    bank_client_token: str = ""
    bank_admin_token: str = ""

    def config(self) -> BankConfig:
        return BankConfig(
            latency_ms=self.bank_latency_ms,
            timeout_rate=self.bank_timeout_rate,
            hang_seconds=self.bank_hang_seconds,
            declines=self.bank_declines,
            callback_loss_rate=self.bank_callback_loss_rate,
        )


class QrScan(WireModel):
    """`POST /qr/{qrId}/pay` body (optional): `decline` makes the payment fail with it."""

    decline: str | None = None


BANK = web.AppKey("bank", Bank)


def answer(body: BaseModel, status: int = 200) -> web.Response:
    text = body.model_dump_json(by_alias=True, exclude_none=True)
    return web.Response(text=text, status=status, content_type="application/json")


async def parse(request: web.Request, model: type[M]) -> M:
    try:
        return model.model_validate_json(await request.read())
    except ValidationError as exc:
        raise Invalid(validation_message(exc)) from exc


@web.middleware
async def refusals_are_4xx(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except BankError as exc:
        return refuse(exc.status, str(exc))


async def post_charge(request: web.Request) -> web.Response:
    bank = request.app[BANK]
    req = await parse(request, ChargeRequest)
    await bank.delay()
    result = bank.charge(req)
    log.info("charge %s %s: %s", req.idempotency_key, req.amount, result.status)
    await bank.maybe_lose_answer()
    return answer(result)


async def get_charge(request: web.Request) -> web.Response:
    bank = request.app[BANK]
    await bank.delay()
    known = bank.lookup(request.match_info["key"])
    if known is None:
        return refuse(404, "no charge with this idempotency key")
    return answer(known)


async def post_card(request: web.Request) -> web.Response:
    bank = request.app[BANK]
    req = await parse(request, TokenizeRequest)
    await bank.delay()
    saved = bank.tokenize(req.card)
    log.info("card %s saved: %s **** %s", saved.token, saved.brand, saved.last4)
    return answer(saved)


async def pay_qr(request: web.Request) -> web.Response:
    bank = request.app[BANK]
    scan = await parse(request, QrScan) if await request.read() else QrScan()
    await bank.delay()
    result = bank.pay_qr(request.match_info["qrId"], scan.decline)
    log.info("QR %s scanned: %s", request.match_info["qrId"], result.status)
    return answer(result)


async def post_refund(request: web.Request) -> web.Response:
    bank = request.app[BANK]
    req = await parse(request, RefundRequest)
    await bank.delay()
    result = bank.refund(req)
    if result is None:
        return refuse(404, "no such charge")
    log.info("refund %s of %s: %s", req.idempotency_key, req.charge_id, result.status)
    await bank.maybe_lose_answer()
    return answer(result)


async def put_config(request: web.Request) -> web.Response:
    bank = request.app[BANK]
    update = await parse(request, BoundedConfigUpdate)
    bank.config = bank.config.model_copy(update=update.model_dump(exclude_none=True))
    return answer(bank.config)


async def get_config(request: web.Request) -> web.Response:
    return answer(request.app[BANK].config)


async def get_ledger(request: web.Request) -> web.Response:
    return answer(request.app[BANK].ledger.totals())


def build_app(
    bank: Bank,
    webhook_secret: str = "",
    callbacks: CallbackSender | None = None,
    tokens: BankTokens | None = None,
) -> web.Application:
    """The simulator's routes over `bank`; QR callbacks are signed with `webhook_secret`
    (or sent by `callbacks`, which tests give shorter pauses); calls need `tokens`."""
    app = web.Application(middlewares=[token_check(tokens or BankTokens()), refusals_are_4xx])
    app[BANK] = bank
    callbacks = callbacks or CallbackSender(webhook_secret)
    bank.on_settled = callbacks.send
    app.router.add_post("/cards", post_card)
    app.router.add_post("/qr/{qrId}/pay", pay_qr)
    app.router.add_post("/charges", post_charge)
    app.router.add_get("/charges/{key}", get_charge)
    app.router.add_post("/refunds", post_refund)
    app.router.add_get("/config", get_config)
    app.router.add_put("/config", put_config)
    app.router.add_get("/ledger", get_ledger)
    simulator.add_health(app, "bank_sim")

    async def close_ledger(_: web.Application) -> None:
        await callbacks.close()
        bank.ledger.close()

    app.on_cleanup.append(close_ledger)
    return app


def app_of(settings: BankSimSettings) -> web.Application:
    bank = Bank(Ledger(settings.bank_state), settings.config())
    log.info("ledger %s: %s", settings.bank_state, bank.ledger.totals().to_wire())
    tokens = BankTokens(settings.bank_client_token, settings.bank_admin_token)
    for role, token in (
        ("charges and refunds", tokens.client),
        ("config and ledger", tokens.admin),
    ):
        if not token:
            log.warning("no token set: %s are open to anyone who reaches the bank", role)
    return build_app(bank, settings.bank_webhook_secret, tokens=tokens)


def main() -> None:
    simulator.run("bank_sim", BankSimSettings, app_of)


if __name__ == "__main__":
    main()
