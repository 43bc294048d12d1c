""" "Моя корзина" (001 §1 scenario 4): the customer's NEW order with editable quantities,
"Удалить" behind a confirmation page, the total and "Оформить заказ"."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from schemas.base import MAX_ORDER_ITEMS
from web_front.cart import find_cart
from web_front.edges import call, visitor
from web_front.forms import Form
from web_front.render import render

MAX_QUANTITY = 1000
NOTICES = {
    "saved": "Количество сохранено.",
    "removed": "Товар удалён из корзины.",
    "stale": "Корзина изменилась, пока вы её редактировали. Вот она сейчас — проверьте и "
    "повторите.",
}


async def require_customer(request: web.Request) -> None:
    if not (await visitor(request)).is_customer:
        raise web.HTTPSeeOther(f"/login?next={request.path_qs}")


def positions(cart: dict[str, Any] | None) -> list[dict[str, Any]]:
    return list(cart.get("orderItems", ())) if cart else []


async def render_cart(
    request: web.Request, form: Form | None = None, notice: str = "", status: int = 200
) -> web.Response:
    cart = await find_cart(request)
    form = form or Form(
        values={f"q-{p['product']['id']}": str(p["quantity"]) for p in positions(cart)}
    )
    context = {
        "cart": cart,
        "positions": positions(cart),
        "form": form,
        "notice": notice or NOTICES.get(request.query.get("done", ""), ""),
        "limit": MAX_ORDER_ITEMS,
    }
    return await render(request, "cart/cart.html", context, status=status)


async def show(request: web.Request) -> web.Response:
    await require_customer(request)
    return await render_cart(request)


def quantity_errors(form: Form, names: list[str]) -> None:
    for name in names:
        text = form.values.get(name, "")
        if not text.isdigit() or int(text) > MAX_QUANTITY:
            form.errors[name] = f"Укажите количество от 0 до {MAX_QUANTITY} (0 — убрать товар)"


async def adjust(request: web.Request, cart_id: str, version: str, items: list[Any]) -> str:
    """`PUT /adjust`; "" when it went through, "stale" on a version conflict, else the
    edge's errorMessage."""
    body = {
        "id": cart_id,
        "version": int(version) if version.isdigit() else -1,
        "orderItems": items,
    }
    answer = await call(request, "order", "PUT", "/adjust", json=body)
    if answer.ok:
        return ""
    return "stale" if answer.status == 409 and "version" in answer.error else answer.error


async def save_quantities(request: web.Request) -> web.StreamResponse:
    """The quantities form: each typed number replaces the position's quantity (0 removes)."""
    await require_customer(request)
    posted = await request.post()
    names = [str(k) for k in posted if str(k).startswith("q-") and str(k)[2:].isdigit()]
    form = Form(values={name: str(posted[name]).strip() for name in names})
    quantity_errors(form, names)
    if not form.ok:
        return await render_cart(request, form, status=400)
    items = [{"product": {"id": int(n[2:])}, "quantity": int(form.values[n])} for n in names]
    if not items:
        raise web.HTTPSeeOther("/cart")
    problem = await adjust(
        request, str(posted.get("orderId", "")), str(posted.get("version", "")), items
    )
    if problem == "stale":
        return await render_cart(request, notice=NOTICES["stale"], status=409)
    if problem:
        form.edge_error(problem)
        return await render_cart(request, form, status=400)
    raise web.HTTPSeeOther("/cart?done=saved")


def position_of(cart: dict[str, Any] | None, product_id: int) -> dict[str, Any]:
    for position in positions(cart):
        if position["product"]["id"] == product_id:
            return position
    raise web.HTTPSeeOther("/cart")  # already gone: the cart shows what is left


async def confirm_removal(request: web.Request) -> web.Response:
    """The confirmation 001 asks for before a position leaves the cart."""
    await require_customer(request)
    cart = await find_cart(request)
    position = position_of(cart, int(request.match_info["id"]))
    context = {"cart": cart, "position": position}
    return await render(request, "cart/remove.html", context)


async def remove(request: web.Request) -> web.StreamResponse:
    await require_customer(request)
    posted = await request.post()
    product_id = int(request.match_info["id"])
    items = [{"product": {"id": product_id}, "quantity": 0}]
    problem = await adjust(
        request, str(posted.get("orderId", "")), str(posted.get("version", "")), items
    )
    if problem == "stale":
        return await render_cart(request, notice=NOTICES["stale"], status=409)
    if problem:
        return await render_cart(request, notice=problem, status=400)
    raise web.HTTPSeeOther("/cart?done=removed")


def mount(app: web.Application) -> None:
    app.router.add_get("/cart", show)
    app.router.add_post("/cart", save_quantities)
    app.router.add_get(r"/cart/remove/{id:\d+}", confirm_removal)
    app.router.add_post(r"/cart/remove/{id:\d+}", remove)
