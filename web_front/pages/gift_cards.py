"""Gift cards (001 §1 scenarios 7-8): "Купить подарочную карту" (donee, e-mail, amount, design
-> order's `POST /gift-card-orders` -> the payment page) and "Активировать подарочную карту"
(the e-mailed code -> billing's `POST /gift-cards/activate`), with the customer's cards."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from schemas.billing import GIFT_CARD_MAX, GIFT_CARD_MIN, GiftCardDesign
from web_front.edges import call
from web_front.forms import Form, read_form
from web_front.money import kopecks_from_text, rubles
from web_front.pages.pay import must_be_customer
from web_front.render import render

BUY_FIELDS = ("doneeName", "doneeEmail", "amount", "design", "key")
DESIGNS = {
    GiftCardDesign.CLASSIC: "Классическая",
    GiftCardDesign.BIRTHDAY: "С днём рождения",
    GiftCardDesign.HOLIDAY: "Праздничная",
    GiftCardDesign.FLOWERS: "Цветы",
}
BOUNDS = f"от {rubles(GIFT_CARD_MIN)} до {rubles(GIFT_CARD_MAX)}"
ACTIVATION_ERRORS = {
    400: "Введите код из письма: от 4 до 64 букв и цифр",
    404: "Карта с таким кодом не найдена: проверьте код в письме",
    409: "Эта карта уже активирована",
}


def too_many_attempts(retry_after: str | None) -> str:
    """billing's 429, with its `Retry-After` (seconds) in whole minutes."""
    minutes = -(-int(retry_after) // 60) if retry_after and retry_after.isdigit() else 15
    return f"Слишком много неверных кодов. Попробуйте снова через {minutes} мин."


async def render_buy(request: web.Request, form: Form, status: int = 200) -> web.Response:
    form.values.setdefault("key", str(uuid.uuid4()))
    form.values["design"] = form.values.get("design") or GiftCardDesign.CLASSIC.value
    context = {"form": form, "designs": DESIGNS, "bounds": BOUNDS}
    return await render(request, "gift_cards/buy.html", context, status=status)


async def buy_page(request: web.Request) -> web.Response:
    await must_be_customer(request)
    return await render_buy(request, Form())


def check_buy(form: Form) -> dict[str, Any] | None:
    form.require(
        ("doneeName", "doneeEmail", "amount"),
        {
            "doneeName": "Введите имя получателя",
            "doneeEmail": "Введите e-mail получателя",
            "amount": f"Введите сумму {BOUNDS}",
        },
    )
    amount = kopecks_from_text(form.values["amount"]) if form.values["amount"] else None
    if form.values["amount"] and (amount is None or not GIFT_CARD_MIN <= amount <= GIFT_CARD_MAX):
        form.errors["amount"] = f"Сумма подарочной карты — {BOUNDS}"
    if form.values["design"] not in {d.value for d in DESIGNS}:
        form.errors["design"] = "Выберите оформление карты"
    if not form.ok:
        return None
    return {
        "doneeName": form.values["doneeName"],
        "doneeEmail": form.values["doneeEmail"],
        "amount": amount,
        "design": form.values["design"],
    }


async def buy(request: web.Request) -> web.StreamResponse:
    """The order for the card (its Idempotency-Key from the form: a double click is one
    order), then the payment page."""
    await must_be_customer(request)
    form = await read_form(request, BUY_FIELDS)
    body = check_buy(form)
    if body is None:
        return await render_buy(request, form, status=400)
    key = form.values["key"]
    answer = await call(request, "order", "POST", "/gift-card-orders", json=body, key=key)
    if not answer.ok:
        field = "doneeEmail" if "email" in answer.error.lower() else ""
        form.errors[field] = (
            "Введите e-mail в виде name@example.ru" if field else f"Заказ не создан: {answer.error}"
        )
        return await render_buy(request, form, status=400)
    raise web.HTTPSeeOther(f"/pay/{answer.body['id']}")


async def my_cards(request: web.Request) -> list[dict[str, Any]]:
    answer = await call(request, "billing", "GET", "/gift-cards")
    return list(answer.body.get("items", [])) if answer.ok else []


def back_link(request: web.Request, form: Form | None = None) -> str:
    """Only a path of this site (`/pay/...`) is a way back: never another origin."""
    raw = form.values.get("next", "") if form else request.query.get("next", "")
    return raw if raw.startswith("/") and not raw.startswith("//") else ""


async def render_activate(
    request: web.Request, form: Form, card: dict[str, Any] | None = None, status: int = 200
) -> web.Response:
    context = {
        "form": form,
        "card": card,
        "cards": await my_cards(request),
        "next": back_link(request, form),
        "designs": DESIGNS,
    }
    return await render(request, "gift_cards/activate.html", context, status=status)


async def activate_page(request: web.Request) -> web.Response:
    await must_be_customer(request)
    return await render_activate(request, Form(values={"next": back_link(request)}))


async def activate(request: web.Request) -> web.Response:
    await must_be_customer(request)
    form = await read_form(request, ("code", "next"))
    form.require(("code",), {"code": "Введите код активации из письма"})
    if not form.ok:
        return await render_activate(request, form, status=400)
    body = {"code": form.values["code"]}
    answer = await call(request, "billing", "POST", "/gift-cards/activate", json=body)
    if not answer.ok:
        if answer.status == 429:
            form.errors["code"] = too_many_attempts(answer.headers.get("Retry-After"))
        else:
            form.errors["code"] = ACTIVATION_ERRORS.get(answer.status, answer.error)
        return await render_activate(request, form, status=answer.status)
    return await render_activate(request, Form(values={"next": form.values["next"]}), answer.body)


def mount(app: web.Application) -> None:
    app.router.add_get("/gift-cards/buy", buy_page)
    app.router.add_post("/gift-cards/buy", buy)
    app.router.add_get("/gift-cards/activate", activate_page)
    app.router.add_post("/gift-cards/activate", activate)
