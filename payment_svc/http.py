"""payment_svc's edge: `POST /pay` (an order or a gift-card order, by any means),
`POST /top-ups` (the wallet, by card or SBP), `GET /payments/{id}` and its QR picture, and the
bank's signed `POST /bank/callbacks`."""

from __future__ import annotations

import io
import logging
import uuid

import segno
from aiohttp import web
from pydantic import ValidationError

from payment_svc import domain, signing
from payment_svc.adapters import OrderEdge
from payment_svc.cashier import Cashier, Clock, Outcome
from payment_svc.means import Means, MeansDesk
from payment_svc.settings import PaymentSettings
from schemas.payment import PaymentPurpose, TokenType
from schemas.payment_http import (
    BankCallback,
    BankStatus,
    CallbackReceived,
    ChargeRequest,
    PaymentState,
    PaymentView,
    PayRequest,
    PayResponse,
    QrCode,
    QrRequest,
    TopUpRequest,
)
from servicekit import idempotency
from servicekit.errors import Conflict, InvalidRequest, NotFound, Unauthorized
from servicekit.http import read_body, reply
from servicekit.identity import Caller, customer, session_id
from servicekit.mongo import Doc
from servicekit.service import Service

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Bank-Signature"


def qr_of(doc: Doc) -> QrCode | None:
    qr = doc.get("qr")
    if not qr:
        return None
    image = f"/payments/{doc['_id']}/qr.svg"
    return QrCode(qr_id=qr["qrId"], payload=qr["payload"], expires_at=qr["expiresAt"], image=image)


def pay_reply(doc: Doc) -> web.Response:
    """200 when final, 202 while pending; a ledger payment refused (short balance, a card
    that is not the caller's) is the 409 the customer would have got up front."""
    status = PaymentState(doc["status"])
    if status is PaymentState.FAILED and doc.get("via") == domain.Via.BILLING:
        raise Conflict(doc.get("errorMsg") or "the payment was refused")
    body = PayResponse(
        payment_id=doc["_id"],
        status=status,
        error_message=doc.get("errorMsg"),
        order_id=doc["orderId"],
        amount=doc["amount"],
        qr=qr_of(doc),
    )
    return reply(body, status=202 if status is PaymentState.PENDING else 200)


def view(doc: Doc) -> PaymentView:
    return PaymentView(
        payment_id=doc["_id"],
        order_id=doc["orderId"],
        username=doc["username"],
        purpose=doc.get("purpose", PaymentPurpose.ORDER),
        status=doc["status"],
        amount=doc["amount"],
        refunded=doc.get("refunded", 0),
        currency=doc["currency"],
        method=doc["method"],
        masked_token_id=doc["masked"],
        error_message=doc.get("errorMsg"),
        qr=qr_of(doc),
        created_at=doc["createdAt"],
        updated_at=doc.get("updatedAt"),
        refunded_at=doc.get("refundedAt"),
    )


def mount(
    service: Service,
    settings: PaymentSettings,
    cashier: Cashier,
    desk: MeansDesk,
    orders: OrderEdge,
    clock: Clock,
) -> None:
    routes, payments = service.routes, cashier.payments

    def charge_request(attempt: domain.Attempt, means: Means) -> ChargeRequest:
        qr = None
        if means.method is TokenType.QR_PAY:
            qr = QrRequest(callback_url=settings.callback_url, ttl_seconds=settings.qr_ttl_seconds)
        return ChargeRequest(
            idempotency_key=attempt.payment_id,
            amount=attempt.amount,
            currency=attempt.currency,
            card=means.card,
            card_token=means.token,
            qr=qr,
        )

    async def start(attempt: domain.Attempt, means: Means, order_status: str) -> Doc:
        """A new attempt, charged; the earlier one if this key was used already."""
        doc = await cashier.open(attempt, order_status)
        if doc["_id"] != attempt.payment_id:
            return doc
        if attempt.via is domain.Via.BANK:
            return await cashier.charge(doc, charge_request(attempt, means))
        return await cashier.wait_settled(attempt.payment_id, settings.billing_wait_seconds)

    def attempt_of(
        caller: Caller, key: str, means: Means, order_id: str, amount: int, **kw: object
    ) -> domain.Attempt:
        return domain.Attempt(
            payment_id=str(uuid.uuid4()),
            order_id=order_id,
            username=caller.username,
            idem_key=key,
            amount=amount,
            currency=str(kw.pop("currency", "RUB")),
            method=means.method,
            masked=means.masked,
            created_at=clock(),
            means_id=means.means_id,
            account_id=means.account_id,
            **kw,  # type: ignore[arg-type]
        )

    @routes.post(
        "/pay",
        body=PayRequest,
        response=PayResponse,
        auth="customer",
        also=(202,),
        idempotency_key="required",
    )
    async def pay(request: web.Request) -> web.Response:
        """Pay an order by card (new or saved), SBP QR, wallet or gift card; the
        `Idempotency-Key` header is required and the same key answers the same attempt (200
        when final, 202 while pending, 409 when a wallet or gift card cannot pay it)."""
        caller = await customer(request, service.auth)
        key = idempotency.key_of(request)
        assert key is not None  # noqa: S101 - type narrowing, not a guard
        req = await read_body(request, PayRequest)
        doc = await payments.by_key(caller.username, key)
        if doc is None:
            sid = session_id(request)
            order = await orders.get(req.order_id, sid)
            means = await desk.resolve(
                caller, req.method, req.card, req.means_id, req.save_card, order.total, sid
            )
            purpose = PaymentPurpose.GIFT_CARD if order.kind == "GIFT_CARD" else None
            attempt = attempt_of(
                caller,
                key,
                means,
                req.order_id,
                order.total,
                currency=order.currency,
                purpose=purpose or PaymentPurpose.ORDER,
            )
            doc = await start(attempt, means, order.status)
        if doc["orderId"] != req.order_id:
            raise domain.KeyReused("this Idempotency-Key was used to pay another order")
        return pay_reply(doc)

    @routes.post(
        "/top-ups",
        body=TopUpRequest,
        response=PayResponse,
        auth="customer",
        also=(202,),
        idempotency_key="required",
    )
    async def top_up(request: web.Request) -> web.Response:
        """Top up the caller's wallet by card or SBP QR (100 ₽ to 100 000 ₽); credited once
        the bank has captured it. `Idempotency-Key` required; answers as `POST /pay`."""
        caller = await customer(request, service.auth)
        key = idempotency.key_of(request)
        assert key is not None  # noqa: S101 - type narrowing, not a guard
        req = await read_body(request, TopUpRequest)
        domain.check_top_up(req.amount, req.method)
        doc = await payments.by_key(caller.username, key)
        if doc is None:
            means = await desk.resolve(
                caller, req.method, req.card, req.means_id, req.save_card, req.amount, None
            )
            top_up_id = f"top-up-{uuid.uuid4()}"
            attempt = attempt_of(
                caller, key, means, top_up_id, req.amount, purpose=PaymentPurpose.TOP_UP
            )
            doc = await start(attempt, means, domain.PAYABLE_ORDER_STATUS)
        if doc.get("purpose") != PaymentPurpose.TOP_UP or doc["amount"] != req.amount:
            raise domain.KeyReused("this Idempotency-Key was used for another payment")
        return pay_reply(doc)

    async def own_payment(request: web.Request) -> Doc:
        caller = await customer(request, service.auth)
        doc = await payments.get(request.match_info["paymentId"])
        if doc is None or not (doc["username"] == caller.username or caller.is_admin):
            raise NotFound("Payment not found")
        return doc

    @routes.get("/payments/{paymentId}", response=PaymentView, auth="customer")
    async def get_payment(request: web.Request) -> web.Response:
        """One payment attempt (its owner or an admin; 404 for anyone else)."""
        return reply(view(await own_payment(request)))

    @routes.get("/payments/{paymentId}/qr.svg", auth="customer", media="image/svg+xml")
    async def qr_image(request: web.Request) -> web.Response:
        """The SBP QR code of a QR payment as an SVG picture (its owner; 404 otherwise)."""
        doc = await own_payment(request)
        if not doc.get("qr"):
            raise NotFound("this payment has no QR code")
        picture = io.BytesIO()
        segno.make(doc["qr"]["payload"], error="m").save(picture, kind="svg", scale=5, border=2)
        return web.Response(body=picture.getvalue(), content_type="image/svg+xml")

    @routes.post("/bank/callbacks", response=CallbackReceived, auth="bank-signature")
    async def bank_callback(request: web.Request) -> web.Response:
        """The bank's word on a QR charge, signed (`X-Bank-Signature`); a bad signature is
        401 and changes nothing, a replay records nothing twice."""
        raw = await request.read()
        header = request.headers.get(SIGNATURE_HEADER)
        now = int(clock().timestamp())
        if not signing.verify(settings.bank_webhook_secret, header, raw, now):
            raise Unauthorized("bad or missing bank signature")
        try:
            callback = BankCallback.model_validate_json(raw)
        except ValidationError as exc:
            raise InvalidRequest("not a bank callback") from exc
        if await payments.get(callback.idempotency_key) is None:
            raise NotFound("Payment not found")
        log.info("bank callback for %s: %s", callback.idempotency_key, callback.status)
        if callback.status is not BankStatus.PENDING:
            captured = callback.status is BankStatus.SUCCEEDED
            outcome = Outcome(captured, callback.charge_id, callback.decline_reason)
            await cashier.record(callback.idempotency_key, outcome)
        return reply(CallbackReceived(received=True))
