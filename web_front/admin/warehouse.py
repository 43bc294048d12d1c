"""`/admin/warehouse`: the warehouse's picking cases by status (store_svc's `GET /picking`),
each with the button for its next move, and one case's page with its items, its history and
"Товар повреждён" (`PUT /picking/{orderId}/status`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from aiohttp import web

from web_front.admin.access import admin_only, read
from web_front.edges import call
from web_front.forms import Form, read_form
from web_front.render import render

CASE_STATUSES = {
    "CREATED": "Ждёт сборки",
    "PICKING": "Собирается",
    "PICKED": "Собран",
    "HANDED_OVER": "Передан в доставку",
    "DAMAGED": "Товар повреждён",
    "CANCELLED": "Отменён",
}
OPEN = ("CREATED", "PICKING", "PICKED")
# status -> (the next move, its button); damaged has its own form on the case's page
NEXT_MOVE = {
    "CREATED": ("PICKING", "Начать сборку"),
    "PICKING": ("PICKED", "Собран"),
    "PICKED": ("HANDED_OVER", "Передан в доставку"),
}
MOVE_DONE = {
    "PICKING": "Сборка начата",
    "PICKED": "Заказ собран",
    "HANDED_OVER": "Посылка передана в доставку",
    "DAMAGED": "Отмечен повреждённый товар: заказ будет отменён",
}
MAX_UNITS = 1_000_000


def filters_of(request: web.Request) -> dict[str, str]:
    status = request.query.get("status", "open")
    return {
        "status": status if status in CASE_STATUSES or status == "open" else "open",
        "warehouse": request.query.get("warehouse", "").strip()[:64],
    }


@admin_only
async def case_list(request: web.Request) -> web.Response:
    filters = filters_of(request)
    status = ",".join(OPEN) if filters["status"] == "open" else filters["status"]
    params = {
        "status": status,
        **({"warehouse": filters["warehouse"]} if filters["warehouse"] else {}),
    }
    found = await read(request, "store", "/picking", **params)
    context = {
        "cases": found["cases"],
        "filters": filters,
        "statuses": CASE_STATUSES,
        "next_move": NEXT_MOVE,
        "done": request.query.get("done", ""),
        "back": urlencode(filters),
    }
    return await render(request, "admin/warehouse.html", context)


async def product_names(request: web.Request, case: dict[str, Any]) -> dict[int, str]:
    names = {}
    for item in case.get("items", ()):
        answer = await call(request, "store", "GET", f"/products/{item['productId']}")
        names[item["productId"]] = answer.body["name"] if answer.ok else f"№ {item['productId']}"
    return names


async def render_case(
    request: web.Request, form: Form | None = None, status: int = 200
) -> web.Response:
    order_id = request.match_info["orderId"]
    case = await read(request, "store", f"/picking/{quote(order_id, safe='')}")
    context = {
        "case": case,
        "names": await product_names(request, case),
        "statuses": CASE_STATUSES,
        "next_move": NEXT_MOVE,
        "form": form or Form(values={"quantity": "1"}),
        "done": request.query.get("done", ""),
    }
    return await render(request, "admin/picking_case.html", context, status=status)


@admin_only
async def case_page(request: web.Request) -> web.Response:
    return await render_case(request)


def move_of(form: Form) -> dict[str, Any]:
    """The body of the move; a damaged item needs which product and how many."""
    body: dict[str, Any] = {"status": form.values["status"]}
    if form.values["status"] != "DAMAGED":
        return body
    product, units = form.values["productId"], form.values["quantity"] or "1"
    if not product.isdigit():
        form.errors["productId"] = "Выберите повреждённый товар"
    if not units.isdigit() or not 0 < int(units) <= MAX_UNITS:
        form.errors["quantity"] = "Укажите, сколько штук повреждено, целым числом больше нуля"
    if form.ok:
        body.update(productId=int(product), quantity=int(units))
        body["reason"] = form.values["reason"] or None
    return body


@admin_only
async def move(request: web.Request) -> web.StreamResponse:
    """A button on the list or the case's page: the case moves on (409: it already moved)."""
    form = await read_form(request, ("status", "productId", "quantity", "reason", "back"))
    order_id = request.match_info["orderId"]
    if form.values["status"] not in MOVE_DONE:
        raise web.HTTPBadRequest(text="unknown move")
    body = move_of(form)
    if not form.ok:
        return await render_case(request, form, status=400)
    path = f"/picking/{quote(order_id, safe='')}/status"
    answer = await call(request, "store", "PUT", path, json=body)
    if answer.status == 409:
        form.errors[""] = f"Сборка уже в другом состоянии: обновите страницу. ({answer.error})"
    elif not answer.ok:
        form.edge_error(answer.error)
    if not form.ok:
        return await render_case(request, form, status=409 if answer.status == 409 else 400)
    done = f"{MOVE_DONE[form.values['status']]}: заказ {order_id[:8]}"
    if form.values["back"] == "case":
        raise web.HTTPSeeOther(f"/admin/warehouse/{quote(order_id)}?{urlencode({'done': done})}")
    kept = {k: v for k, v in parse_qsl(form.values["back"]) if k in ("status", "warehouse")}
    raise web.HTTPSeeOther(f"/admin/warehouse?{urlencode({**kept, 'done': done})}")


def mount(app: web.Application) -> None:
    app.router.add_get("/admin/warehouse", case_list)
    app.router.add_get("/admin/warehouse/{orderId}", case_page)
    app.router.add_post("/admin/warehouse/{orderId}", move)
