"""The home page, search (001 §1 scenarios 2-3), the product page and "Добавить в корзину"."""

from __future__ import annotations

import math
import uuid
from typing import Any

from aiohttp import web

from web_front.cart import add_to_cart
from web_front.edges import call, visitor
from web_front.forms import Form, read_form
from web_front.render import render

PAGE_SIZE = 12
HOME_PRODUCTS = 8
MAX_QUANTITY = 1000


def page_number(request: web.Request) -> int:
    raw = request.query.get("page", "1")
    return max(1, min(int(raw), 100_000)) if raw.isdigit() else 1


async def product_page_of(request: web.Request, q: str, page: int, size: int) -> dict[str, Any]:
    params = {"page": str(page - 1), "pageSize": str(size)}
    if q:
        params["q"] = q
    answer = await call(request, "store", "GET", "/products", params=params)
    if not answer.ok:
        return {"items": [], "total": 0, "error": answer.error}
    body: dict[str, Any] = answer.body
    return body


async def home(request: web.Request) -> web.Response:
    found = await product_page_of(request, "", 1, HOME_PRODUCTS)
    return await render(request, "home.html", {"products": found["items"]})


async def search(request: web.Request) -> web.Response:
    q = request.query.get("q", "").strip()[:200]
    page = page_number(request)
    found = await product_page_of(request, q, page, PAGE_SIZE)
    pages = max(1, math.ceil(found["total"] / PAGE_SIZE))
    context = {"q": q, "found": found, "page": page, "pages": pages}
    return await render(request, "search.html", context)


async def product_of(request: web.Request) -> dict[str, Any]:
    product_id = request.match_info["id"]
    answer = await call(request, "store", "GET", f"/products/{product_id}")
    if answer.status in (400, 404):
        raise web.HTTPNotFound()
    if not answer.ok:
        raise web.HTTPBadGateway(text=answer.error)
    body: dict[str, Any] = answer.body
    return body


async def render_product(
    request: web.Request, product: dict[str, Any], form: Form, status: int = 200
) -> web.Response:
    context = {
        "product": product,
        "form": form,
        "place_id": str(uuid.uuid4()),
        "added": request.query.get("added", ""),
    }
    return await render(request, "product.html", context, status=status)


async def product(request: web.Request) -> web.Response:
    return await render_product(request, await product_of(request), Form(values={"quantity": "1"}))


def quantity_error(text: str) -> str | None:
    if not text.isdigit() or not 1 <= int(text) <= MAX_QUANTITY:
        return f"Укажите количество от 1 до {MAX_QUANTITY}"
    return None


async def add(request: web.Request) -> web.StreamResponse:
    """ "Добавить в корзину": the first product creates the cart, the next ones join it.
    A guest is sent to log in first and comes back to the product."""
    here = f"/products/{request.match_info['id']}"
    if not (await visitor(request)).is_customer:
        raise web.HTTPSeeOther(f"/login?next={here}")
    form = await read_form(request, ("quantity", "placeId"))
    product = await product_of(request)
    if error := quantity_error(form.values["quantity"]):
        form.errors["quantity"] = error
        return await render_product(request, product, form, status=400)
    place_id = form.values["placeId"] or str(uuid.uuid4())
    answer = await add_to_cart(request, product["id"], int(form.values["quantity"]), place_id)
    if not answer.ok:
        form.edge_error(answer.error)
        return await render_product(
            request, product, form, status=400 if answer.status < 500 else 502
        )
    raise web.HTTPSeeOther(f"{here}?added={form.values['quantity']}")


def mount(app: web.Application) -> None:
    app.router.add_get("/", home)
    app.router.add_get("/search", search)
    app.router.add_get(r"/products/{id:\d+}", product)
    app.router.add_post(r"/products/{id:\d+}/cart", add)
