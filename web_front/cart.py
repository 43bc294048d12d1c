"""The customer's cart is their NEW goods order (order_svc keeps at most one): found through
`GET /orders`, created by `POST /place`, changed by `PUT /adjust` (which SETS quantities)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from servicekit.neighbours import Answer
from web_front.edges import call

CART_SCAN = {"page": "0", "pageSize": "100"}  # the cart is recent: newest orders come first


async def find_cart(request: web.Request) -> dict[str, Any] | None:
    """The visitor's NEW goods order as order_svc shows it, or None."""
    answer = await call(request, "order", "GET", "/orders", params=CART_SCAN)
    if not answer.ok:
        return None
    for order in answer.body.get("items", ()):
        if order.get("status") == "NEW" and order.get("kind", "GOODS") == "GOODS":
            found: dict[str, Any] = order
            return found
    return None


def quantity_in(cart: dict[str, Any], product_id: int) -> int:
    for position in cart.get("orderItems", ()):
        if position["product"]["id"] == product_id:
            return int(position["quantity"])
    return 0


async def add_to_cart(
    request: web.Request, product_id: int, quantity: int, place_id: str
) -> Answer:
    """Add `quantity` units: to the existing cart, or as a new cart whose id is `place_id`
    (chosen when the page was drawn, so a form sent twice creates one cart). A cart changed
    meanwhile (stale version, 409) is read again once."""
    answer = Answer(409, {"errorMessage": "cart changed"})
    for _ in range(2):
        cart = await find_cart(request)
        if cart is None:
            items = [{"product": {"id": product_id}, "quantity": quantity}]
            body = {"id": place_id, "orderItems": items}
            answer = await call(request, "order", "POST", "/place", json=body, idempotent=True)
        else:
            wanted = quantity_in(cart, product_id) + quantity
            items = [{"product": {"id": product_id}, "quantity": wanted}]
            body = {"id": cart["id"], "version": cart["version"], "orderItems": items}
            answer = await call(request, "order", "PUT", "/adjust", json=body)
        if answer.status != 409:
            return answer
    return answer
