"""The personal cabinet (001 §1 scenario 9): account data (auth `GET /users/me`), the wallet
with its latest entries (billing `GET /wallet`), saved cards (delete), gift cards, and
"Пополнить баланс кошелька" (payment `POST /top-ups`, then followed until the wallet shows it)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from aiohttp import web

from web_front.edges import call
from web_front.forms import Form, read_form
from web_front.money import kopecks_from_text, rubles
from web_front.pages.pay import bank_app_scan, must_be_customer, qr_svg
from web_front.pay_views import means_options, payment_error_text
from web_front.paying import CARD_FIELDS, TEST_CARD_HINT, means_body
from web_front.render import render

TOP_UP_MIN, TOP_UP_MAX = 10_000, 10_000_000
TOP_UP_BOUNDS = f"от {rubles(TOP_UP_MIN)} до {rubles(TOP_UP_MAX)}"
ENTRY_REASONS = {
    "TOP_UP": "Пополнение",
    "PAYMENT": "Оплата заказа",
    "REFUND": "Возврат",
    "ISSUE": "Выпуск карты",
}


async def wallet_of(request: web.Request) -> dict[str, Any]:
    """The wallet; billing opens it a moment after registration (404 until then: empty)."""
    answer = await call(request, "billing", "GET", "/wallet")
    if answer.ok:
        return dict(answer.body)
    return {"balance": 0, "entries": []}


async def cabinet_context(request: web.Request, form: Form) -> dict[str, Any]:
    me = await call(request, "auth", "GET", "/users/me")
    if not me.ok:
        raise web.HTTPSeeOther(f"/login?next={request.path}")
    means = await call(request, "payment", "GET", "/means")
    gifts = await call(request, "billing", "GET", "/gift-cards")
    form.values.setdefault("key", str(uuid.uuid4()))
    return {
        "me": me.body,
        "wallet": await wallet_of(request),
        "reasons": ENTRY_REASONS,
        "cards": means.body.get("cards", []) if means.ok else [],
        "options": means_options(means.body if means.ok else {}, None),
        "gift_cards": gifts.body.get("items", []) if gifts.ok else [],
        "form": form,
        "bounds": TOP_UP_BOUNDS,
        "card_hint": TEST_CARD_HINT,
        "deleted": request.query.get("deleted") == "1",
    }


async def cabinet(request: web.Request) -> web.Response:
    await must_be_customer(request)
    context = await cabinet_context(request, Form())
    return await render(request, "cabinet/cabinet.html", context)


def top_up_body(form: Form) -> dict[str, Any] | None:
    amount = kopecks_from_text(form.values["amount"])
    if amount is None or not TOP_UP_MIN <= amount <= TOP_UP_MAX:
        form.errors["amount"] = f"Сумма пополнения — {TOP_UP_BOUNDS}"
    if form.values["means"] in ("wallet", "") or form.values["means"].startswith("gift:"):
        form.errors["means"] = "Выберите карту или СБП"
    means = means_body(form, date.today()) if form.ok else None
    return {"amount": amount, **means} if means and form.ok else None


async def top_up(request: web.Request) -> web.StreamResponse:
    """ "Пополнить баланс кошелька": the bank charges, billing credits; the page then follows."""
    await must_be_customer(request)
    form = await read_form(request, ("amount", "means", "key", *CARD_FIELDS))
    body = top_up_body(form)
    if body is not None:
        key = form.values["key"]
        answer = await call(request, "payment", "POST", "/top-ups", json=body, key=key)
        if answer.ok:
            raise web.HTTPSeeOther(f"/cabinet/top-ups/{answer.body['paymentId']}")
        form.errors[""] = payment_error_text(answer.error)
    context = await cabinet_context(request, form)
    return await render(request, "cabinet/cabinet.html", context, status=400)


async def top_up_of(request: web.Request) -> dict[str, Any]:
    payment_id = request.match_info["paymentId"]
    answer = await call(request, "payment", "GET", f"/payments/{payment_id}")
    if not answer.ok or answer.body.get("purpose") != "TOP_UP":
        raise web.HTTPNotFound()
    return dict(answer.body)


async def top_up_context(request: web.Request) -> dict[str, Any]:
    payment = await top_up_of(request)
    payment_id = payment["paymentId"]
    wallet = await wallet_of(request)
    credited = any(e.get("paymentId") == payment_id for e in wallet.get("entries", []))
    return {
        "payment": payment,
        "wallet": wallet,
        "credited": credited,
        "final": credited or payment["status"] == "FAILED",
        "error": payment_error_text(payment.get("errorMessage") or ""),
        "live_url": f"/cabinet/top-ups/{payment_id}/live",
    }


async def top_up_result(request: web.Request) -> web.Response:
    await must_be_customer(request)
    return await render(request, "cabinet/top_up.html", await top_up_context(request))


async def top_up_live(request: web.Request) -> web.Response:
    await must_be_customer(request)
    return await render(request, "cabinet/top_up_live.html", await top_up_context(request))


async def top_up_qr(request: web.Request) -> web.Response:
    await must_be_customer(request)
    return await qr_svg(request, await top_up_of(request))


async def top_up_bank_app(request: web.Request) -> web.StreamResponse:
    """ "Оплатить в приложении банка (симулятор)" for an SBP top-up."""
    await must_be_customer(request)
    payment = await top_up_of(request)
    await bank_app_scan(request, payment)
    raise web.HTTPSeeOther(f"/cabinet/top-ups/{payment['paymentId']}")


async def delete_card(request: web.Request) -> web.StreamResponse:
    await must_be_customer(request)
    await read_form(request, ())
    card_id = request.match_info["cardId"]
    await call(request, "payment", "DELETE", f"/means/cards/{card_id}", idempotent=True)
    raise web.HTTPSeeOther("/cabinet?deleted=1")


def mount(app: web.Application) -> None:
    app.router.add_get("/cabinet", cabinet)
    app.router.add_post("/cabinet/top-ups", top_up)
    app.router.add_get("/cabinet/top-ups/{paymentId}", top_up_result)
    app.router.add_get("/cabinet/top-ups/{paymentId}/live", top_up_live)
    app.router.add_get("/cabinet/top-ups/{paymentId}/qr.svg", top_up_qr)
    app.router.add_post("/cabinet/top-ups/{paymentId}/bank-app", top_up_bank_app)
    app.router.add_post("/cabinet/cards/{cardId}/delete", delete_card)
