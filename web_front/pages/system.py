"""Liveness, readiness and the generated product pictures."""

from __future__ import annotations

from aiohttp import web

from servicekit.errors import ServiceUnavailable
from servicekit.neighbours import Answer
from web_front.edges import call
from web_front.images import product_svg

IMAGE_CACHE = "public, max-age=3600"


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def ready(request: web.Request) -> web.Response:
    """Ready as soon as it serves: the front keeps no state, and an edge that is away gives
    its own friendly page rather than a front that is not ready."""
    return web.json_response({"status": "ready"})


async def product_image(request: web.Request) -> web.Response:
    """`/images/products/{id}.svg`: a picture from the product's name (its id when the
    catalog does not know it, so a card never shows a broken image)."""
    product_id = request.match_info["id"]
    try:
        answer = await call(request, "store", "GET", f"/products/{product_id}")
    except ServiceUnavailable:  # a picture is no place for an error page
        answer = Answer(503, None)
    name = answer.body.get("name") if answer.ok and isinstance(answer.body, dict) else None
    return web.Response(
        text=product_svg(name or f"Товар {product_id}"),
        content_type="image/svg+xml",
        headers={"Cache-Control": IMAGE_CACHE},
    )


def mount(app: web.Application) -> None:
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get(r"/images/products/{id:\d+}.svg", product_image)
