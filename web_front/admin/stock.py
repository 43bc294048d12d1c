"""`/admin/stock`: find a product, see its stock per warehouse (on hand, reserved, booked,
available) and set how many units a warehouse holds (store_svc's `PUT /stock/{sku}/{wh}`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aiohttp import web

from web_front.admin.access import admin_only, read
from web_front.edges import call
from web_front.forms import Form, read_form
from web_front.render import render

MAX_UNITS = 1_000_000


@admin_only
async def find_product(request: web.Request) -> web.Response:
    q = request.query.get("product", "").strip()[:200]
    found = await read(request, "store", "/products", q=q, page="0", pageSize="20") if q else None
    return await render(request, "admin/stock_search.html", {"q": q, "found": found})


async def render_stock(
    request: web.Request, form: Form | None = None, status: int = 200
) -> web.Response:
    sku = request.match_info["id"]
    product: dict[str, Any] = await read(request, "store", f"/products/{sku}")
    lines = await read(request, "store", f"/stock/{sku}")
    context = {
        "product": product,
        "lines": lines["lines"],
        "form": form or Form(),
        "done": request.query.get("done", ""),
    }
    return await render(request, "admin/stock.html", context, status=status)


@admin_only
async def stock_page(request: web.Request) -> web.Response:
    return await render_stock(request)


def count_errors(form: Form) -> None:
    units, warehouse = form.values["onHand"], form.values["warehouse"]
    if not warehouse or len(warehouse) > 64:
        form.errors["warehouse"] = "Укажите склад: от 1 до 64 символов, например msk-1"
    if not units.isdigit() or int(units) > MAX_UNITS:
        form.errors["onHand"] = f"Укажите количество целым числом от 0 до {MAX_UNITS}"


@admin_only
async def set_count(request: web.Request) -> web.StreamResponse:
    form = await read_form(request, ("warehouse", "onHand"))
    count_errors(form)
    if not form.ok:
        return await render_stock(request, form, status=400)
    sku, warehouse = request.match_info["id"], form.values["warehouse"]
    path = f"/stock/{sku}/{quote(warehouse, safe='')}"
    answer = await call(request, "store", "PUT", path, json={"onHand": int(form.values["onHand"])})
    if answer.status == 409:
        form.errors["onHand"] = (
            "Нельзя поставить меньше, чем уже зарезервировано покупателями на этом складе"
        )
    elif not answer.ok:
        form.errors["onHand"] = answer.error
    if not form.ok:
        return await render_stock(request, form, status=answer.status)
    done = f"На складе {warehouse} теперь {answer.body['onHand']} шт."
    raise web.HTTPSeeOther(f"/admin/stock/{sku}?done={quote(done)}")


def mount(app: web.Application) -> None:
    app.router.add_get("/admin/stock", find_product)
    app.router.add_get(r"/admin/stock/{id:\d+}", stock_page)
    app.router.add_post(r"/admin/stock/{id:\d+}", set_count)
