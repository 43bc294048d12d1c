"""payment_svc's edge: `POST /pay` (an order, by bank card or SBP) and `GET /payments/{id}`."""

from __future__ import annotations

import uuid

from aiohttp import web

from payment_svc import domain
from payment_svc.adapters import OrderEdge
from payment_svc.cashier import Cashier, Clock
from payment_svc.repository import Payments
from schemas.payment import TokenType
from schemas.payment_http import (
    ChargeRequest,
    PaymentState,
    PaymentView,
    PayRequest,
    PayResponse,
    SbpDetails,
)
from servicekit import idempotency
from servicekit.errors import InvalidRequest, NotFound
from servicekit.http import read_body, reply
from servicekit.identity import customer, session_id
from servicekit.mongo import Doc
from servicekit.service import Service


def pay_reply(doc: Doc) -> web.Response:
    status = PaymentState(doc["status"])
    body = PayResponse(payment_id=doc["_id"], status=status, error_msg=doc.get("errorMsg"))
    return reply(body, status=202 if status is PaymentState.PENDING else 200)


def view(doc: Doc) -> PaymentView:
    return PaymentView(
        payment_id=doc["_id"],
        order_id=doc["orderId"],
        username=doc["username"],
        status=doc["status"],
        amount=doc["amount"],
        currency=doc["currency"],
        method=doc["method"],
        masked_token_id=doc["masked"],
        error_msg=doc.get("errorMsg"),
        created_at=doc["createdAt"],
        updated_at=doc.get("updatedAt"),
        refunded_at=doc.get("refundedAt"),
    )


def charge_request(attempt: domain.Attempt, req: PayRequest) -> ChargeRequest:
    sbp = SbpDetails(phone=req.phone) if req.method is TokenType.QR_PAY and req.phone else None
    return ChargeRequest(
        idempotency_key=attempt.payment_id,
        amount=attempt.amount,
        currency=attempt.currency,
        card=req.card if req.method is TokenType.BANK_CARD else None,
        sbp=sbp,
    )


def mount(
    service: Service, cashier: Cashier, payments: Payments, orders: OrderEdge, clock: Clock
) -> None:
    routes = service.routes

    @routes.post("/pay", body=PayRequest, response=PayResponse, auth="customer")
    async def pay(request: web.Request) -> web.Response:
        """Pay an order by bank card or SBP; the `Idempotency-Key` header is required and the
        same key answers the same attempt (200 when final, 202 while the bank has not)."""
        caller = await customer(request, service.auth)
        key = idempotency.key_of(request)
        assert key is not None
        req = await read_body(request, PayRequest)
        if req.means_id:
            raise InvalidRequest("saved payment means are not supported yet")
        masked = domain.masked_means(req.method, req.card, req.phone)
        doc = await payments.by_key(caller.username, key)
        if doc is None:
            order = await orders.get(req.order_id, session_id(request))
            attempt = domain.Attempt(
                payment_id=str(uuid.uuid4()),
                order_id=req.order_id,
                username=caller.username,
                idem_key=key,
                amount=order.total,
                currency=order.currency,
                method=req.method,
                masked=masked,
                created_at=clock(),
            )
            doc = await cashier.open(attempt, order.status)
            if doc["_id"] == attempt.payment_id:
                doc = await cashier.charge(doc, charge_request(attempt, req))
        if doc["orderId"] != req.order_id:
            raise domain.KeyReused("this Idempotency-Key was used to pay another order")
        return pay_reply(doc)

    @routes.get("/payments/{paymentId}", response=PaymentView, auth="customer")
    async def get_payment(request: web.Request) -> web.Response:
        """One payment attempt (its owner or an admin; 404 for anyone else)."""
        caller = await customer(request, service.auth)
        doc = await payments.get(request.match_info["paymentId"])
        if doc is None or not (doc["username"] == caller.username or caller.is_admin):
            raise NotFound("Payment not found")
        return reply(view(doc))
