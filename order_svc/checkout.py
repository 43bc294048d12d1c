"""Checkout (stock and a delivery slot pre-reserved, then AWAITING_PAYMENT) and `PUT /process`
(a PAID order handed to orchestra). The payment hands the order over by itself (setting
`auto_handover`); with that off the customer (or the front end right after a successful
payment) calls `PUT /process`, as in 001.

Holds are order_svc's alone (servicekit.holds): it asks for exactly the order's items under the
order's own id and owner, and caps what one customer may hold (settings `max_unpaid_orders`,
`max_units_per_product`). The unpaid count needs no lock: a customer has one cart (`cartOf` is
unique), so two checkouts of different orders of one customer never run at once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from aiohttp import web

from order_svc import domain, effects, guards
from order_svc.book import OrderBook
from order_svc.guards import Actor
from order_svc.repository import positions_of
from order_svc.views import view
from schemas.notification import NotificationType
from schemas.order import OrderStatus as S
from schemas.order_http import CheckoutRequest, OrderView, VersionedRef
from schemas.saga import CourierChoice
from servicekit import idempotency
from servicekit.errors import (
    Conflict,
    DomainError,
    InvalidRequest,
    NotFound,
    StaleWrite,
    Unprocessable,
)
from servicekit.holds import holder_headers
from servicekit.http import read_body, reply
from servicekit.identity import Caller, customer, session_id
from servicekit.mongo import Doc
from servicekit.neighbours import Answer
from servicekit.unit import Tx


def normalize_phone(raw: str) -> str:
    digits = "".join(ch for ch in raw if ch.isdigit())
    if len(digits) == 11 and digits[0] == "8":
        digits = "7" + digits[1:]
    if not 10 <= len(digits) <= 15:
        raise InvalidRequest("phone: expected 10 to 15 digits, e.g. +79991234567")
    return "+" + digits


def mount(book: OrderBook) -> None:
    routes, orders, service = book.service.routes, book.orders, book.service
    keys = service.db[idempotency.COLLECTION]

    @routes.put(
        "/checkout",
        body=CheckoutRequest,
        response=OrderView,
        auth="customer",
        idempotency_key="required",
    )
    async def checkout(request: web.Request) -> web.Response:
        """Phone + delivery choice: stock and a delivery slot are pre-reserved and the order
        awaits payment; stock that cannot be reserved makes the order FAILED. Needs an
        `Idempotency-Key` header."""
        caller = await customer(request, service.auth)
        key = idempotency.key_of(request)
        req = await read_body(request, CheckoutRequest)
        return await idempotency.once(
            keys, caller.username, key, lambda: check_out(caller, req, session_id(request))
        )

    async def check_out(caller: Caller, req: CheckoutRequest, sid: str | None) -> web.Response:
        doc = await book.owned(caller, req.id)
        domain.check_goods(domain.kind_of(doc), "checked out")
        domain.check_version(doc["version"], req.version)
        guards.check(Actor.CUSTOMER, S(doc["status"]), S.AWAITING_PAYMENT)
        if not doc["items"]:
            raise Conflict("the cart is empty: add at least one product")
        phone = normalize_phone(req.phone)
        units = check_units(doc, book.settings.max_units_per_product)
        await check_unpaid(doc["username"])
        items = [{"productId": pid, "quantity": n} for pid, n in units.items()]
        holder = holder_headers(book.settings.holds_token, doc["username"])
        stock = await book.store.call(
            "POST", "/reservations", sid, {"orderId": doc["_id"], "items": items}, headers=holder
        )
        if stock.status == 409:
            return reply(view(await fail(doc, caller, stock)))
        expect_ok(stock, "store")
        delivery = req.delivery.to_wire()
        slot = await book.delivery.call(
            "POST", "/slots", sid, {"orderId": doc["_id"], "delivery": delivery}, headers=holder
        )
        if not slot.ok:
            await book.store.call("DELETE", f"/reservations/{doc['_id']}", sid, headers=holder)
            expect_ok(slot, "delivery")
        cost = req.delivery.cost if isinstance(req.delivery, CourierChoice) else 0
        now = book.clock()
        expires = now + timedelta(seconds=book.settings.payment_timeout_seconds)

        async def await_payment(tx: Tx) -> Doc:
            new = await orders.update(
                doc,
                {
                    "phone": phone,
                    "delivery": delivery,
                    "deliveryCost": cost,
                    "total": domain.total(positions_of(doc), cost),
                    "expiresAt": expires,
                    "slot": slot.body,
                },
                tx.session,
                status=S.AWAITING_PAYMENT,
                by=caller.username,
                at=now,
                unset=("cartOf",),
            )
            effects.notify(tx, new, NotificationType.REQUIRES_PAYMENT)
            return new

        return reply(view(await service.transaction(await_payment)))

    async def check_unpaid(username: str) -> None:
        cap = book.settings.max_unpaid_orders
        if await orders.unpaid_of(username) >= cap:
            raise Conflict(
                f"you already have {cap} orders awaiting payment: pay for one or cancel it "
                "before checking out another"
            )

    async def fail(doc: Doc, caller: Caller, stock: Answer) -> Doc:
        reason = f"stock cannot be reserved: {stock.error}"
        return await orders.update(
            doc,
            {"reason": reason},
            status=S.FAILED,
            by=caller.username,
            at=book.clock(),
            reason=reason,
            unset=("cartOf",),
        )

    @routes.put("/process", body=VersionedRef, response=OrderView, auth="customer")
    async def process(request: web.Request) -> web.Response:
        """Hand a PAID order to orchestra, which confirms payment, stock and delivery. With
        the hand-over by itself (the default) a paid order is already there: the order is
        answered as it is."""
        caller = await customer(request, service.auth)
        req = await read_body(request, VersionedRef)
        doc = await book.owned(caller, req.id)
        domain.check_goods(domain.kind_of(doc), "processed")
        if book.settings.auto_handover and handed_over(doc):
            return reply(view(doc))
        domain.check_version(doc["version"], req.version)

        async def hand_over(tx: Tx) -> Doc:
            try:  # the order as just read: its write is conditional on that version
                return await book.hand_over(tx, doc, caller.username, Actor.CUSTOMER)
            except StaleWrite:  # changed since: read it again, as the version check wants
                fresh = await orders.get(req.id, tx.session) or doc
                domain.check_version(fresh["version"], req.version)
                return await book.hand_over(tx, fresh, caller.username, Actor.CUSTOMER)

        return reply(view(await service.transaction(hand_over)))


def check_units(doc: Doc, cap: int) -> Counter[int]:
    """Units per product of the order, each at most `cap` (409 naming the first past it)."""
    units: Counter[int] = Counter()
    for p in positions_of(doc):
        units[p.product_id] += p.quantity
    for product_id, count in units.items():
        if count > cap:
            raise Conflict(
                f"at most {cap} units of one product per order: product {product_id} has "
                f"{count}, lower its quantity"
            )
    return units


def handed_over(doc: Doc) -> bool:
    return any(h["status"] == S.IN_PROGRESS for h in doc.get("history", ()))


def expect_ok(answer: Answer, who: str) -> None:
    """A neighbour's refusal as ours: what was wrong with the customer's request (400, 404,
    422) as it was, anything else a 409 naming the neighbour."""
    if answer.ok:
        return
    raise REQUEST_FAULTS.get(answer.status, Conflict)(f"{who}: {answer.error}")


# a neighbour's answers that say the customer's request itself was wrong
REQUEST_FAULTS: dict[int, type[DomainError]] = {
    400: InvalidRequest,
    404: NotFound,
    422: Unprocessable,
}
