"""payment_svc's admin edge: refunds on request (`POST /refunds`, `GET /refunds/{id}`), partial
or whole, always to the means that paid."""

from __future__ import annotations

import uuid

from aiohttp import web
from pymongo.errors import DuplicateKeyError

from payment_svc import domain
from payment_svc.refund_book import refund_doc
from payment_svc.refunds import Refunder
from schemas.payment_http import PaymentState, RefundCreate, RefundView
from servicekit import idempotency
from servicekit.errors import Conflict, NotFound, StaleWrite
from servicekit.http import read_body, reply
from servicekit.identity import admin, customer
from servicekit.mongo import Doc
from servicekit.service import Service
from servicekit.unit import Tx


def refund_view(doc: Doc) -> RefundView:
    return RefundView(
        refund_id=doc["_id"],
        payment_id=doc["paymentId"],
        order_id=doc["orderId"],
        amount=doc["amount"],
        currency=doc["currency"],
        reason=doc["reason"],
        status=doc["status"],
        method=doc["method"],
        masked_token_id=doc["masked"],
        created_by=doc["createdBy"],
        created_at=doc["createdAt"],
        refunded_at=doc.get("refundedAt"),
    )


def mount(service: Service, refunder: Refunder) -> None:
    routes, book, payments = service.routes, refunder.book, refunder.payments

    async def open_refund(tx: Tx, req: RefundCreate, by: str, key: str) -> tuple[Doc, bool]:
        earlier = await book.by_key(by, key, tx.session)
        if earlier is not None:
            return earlier, False
        doc = await payments.get(req.payment_id, tx.session)
        if doc is None:
            raise NotFound("Payment not found")
        reserved = doc.get("refundReserved", 0)
        domain.check_refundable(PaymentState(doc["status"]), doc["amount"], reserved, req.amount)
        now = refunder.clock()
        await payments.update(doc, {"refundReserved": reserved + req.amount}, tx.session, at=now)
        ref = refund_doc(str(uuid.uuid4()), req, doc, by, key, now)
        await book.insert(ref, tx.session)
        tx.on_commit(refunder.wake)
        return ref, True

    @routes.post(
        "/refunds",
        body=RefundCreate,
        response=RefundView,
        status=201,
        auth="admin",
        also=(200,),
        idempotency_key="required",
    )
    async def create_refund(request: web.Request) -> web.Response:
        """Give back `amount` of a captured payment (partial allowed, never more than
        captured minus refunded) to the means that paid it; `Idempotency-Key` required, the
        same key answers the same refund. 409 when the payment has nothing (that much) left."""
        caller = await admin(request, service.auth)
        key = idempotency.key_of(request)
        assert key is not None  # noqa: S101 - type narrowing, not a guard
        req = await read_body(request, RefundCreate)
        try:
            ref, created = await service.transaction(
                lambda tx: open_refund(tx, req, caller.username, key)
            )
        except DuplicateKeyError:  # the same request, sent twice at once
            again = await book.by_key(caller.username, key)
            if again is None:
                raise
            ref, created = again, False
        except StaleWrite as exc:
            raise Conflict("the payment changed meanwhile; read it again") from exc
        if ref["paymentId"] != req.payment_id or ref["amount"] != req.amount:
            raise domain.KeyReused("this Idempotency-Key was used for another refund")
        return reply(refund_view(ref), status=201 if created else 200)

    @routes.get("/refunds/{refundId}", response=RefundView, auth="customer")
    async def get_refund(request: web.Request) -> web.Response:
        """A refund (an admin, or the customer it pays back; 404 for anyone else)."""
        caller = await customer(request, service.auth)
        ref = await book.get(request.match_info["refundId"])
        if ref is None or not (caller.is_admin or ref["username"] == caller.username):
            raise NotFound("Refund not found")
        return reply(refund_view(ref))
