"""delivery_svc's client of the courier companies' API (the carrier simulator,
`delivery_svc.carrier_sim`, stands in for it): quotes, bookings, cancellations, tracking, and
the signature check of the tracking events the carriers POST to `{delivery}/carrier/events`.

Settings (delivery_svc.settings.DeliverySettings, env `SAGASHOP_...`):
- `carrier_url` (SAGASHOP_CARRIER_URL, the launcher sets it): the carriers' API;
- `carrier_token` (SAGASHOP_CARRIER_TOKEN): the shop's API key, sent as `Authorization: Bearer`;
- `carrier_webhook_secret` (SAGASHOP_CARRIER_WEBHOOK_SECRET): the key events are signed with;
- `carrier_timeout_seconds` (default 3): one call's bound; `carrier_attempts` (default 8) and
  `carrier_retry_seconds` (default 30): how long timeouts, connection failures and 5xx are
  retried (exponential backoff with jitter) before `CarrierUnavailable` (503);
- `carrier_signature_tolerance_seconds` (default 300): how old a signed event may be.

Use::

    client = CarrierClient.from_settings(settings)
    q = await client.quote("cdek", address)            # CarrierQuote (price in kopecks)
    s = await client.book(order_id, q.quote_id, address, company="cdek")  # Shipment
    await client.track(s.shipment_id)                  # ShipmentView (status, events)
    await client.cancel(s.shipment_id)                 # before DELIVERED, else CarrierRefused
    event = client.verify_event(raw_body, request.headers)  # CarrierEvent or BadSignature
    await client.close()

`book` is idempotent by order id (the `Idempotency-Key`): the same order booked again answers
the same shipment, so it is safe to call again after a crash or a lost answer. An expired carrier
quote raises `QuoteExpired`; `book(..., company=...)` asks for a fresh quote and books with it
instead (the price the customer accepted stays the shop's business).

Tracking events arrive at least once and in order per shipment; `CarrierEvent.event_id` is the
key to dedupe them by. Status flow: ACCEPTED -> IN_TRANSIT -> OUT_FOR_DELIVERY -> DELIVERED, or
OUT_FOR_DELIVERY -> FAILED_ATTEMPT (attempt n) -> OUT_FOR_DELIVERY ... and after the last
allowed attempt RETURNED (the parcel goes back to the shop). A lost parcel sends no more events;
`track` says LOST some time later.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import aiohttp
from pydantic import ConfigDict

from payment_svc import signing
from schemas.base import NonEmptyStr, Timestamp, WireModel
from servicekit.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    ServiceUnavailable,
    Unauthorized,
)
from servicekit.retry import transient_retry

if TYPE_CHECKING:
    from delivery_svc.settings import DeliverySettings

SIGNATURE_HEADER = "X-Carrier-Signature"  # `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`
TIMESTAMP_HEADER = "X-Carrier-Timestamp"  # the same `t`, for a reader's convenience
WEBHOOK_PATH = "/carrier/events"  # where the carriers POST events, under delivery_svc's edge


class CarrierStatus(StrEnum):
    """A shipment's status at the carrier. Events carry only the first six."""

    ACCEPTED = "ACCEPTED"
    IN_TRANSIT = "IN_TRANSIT"
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY"
    DELIVERED = "DELIVERED"
    FAILED_ATTEMPT = "FAILED_ATTEMPT"
    RETURNED = "RETURNED"
    BOOKED = "BOOKED"  # booked, not yet picked up by the courier
    CANCELLED = "CANCELLED"  # cancelled by the shop before delivery
    LOST = "LOST"  # no news for too long: the carrier has given the parcel up


FINAL = frozenset(
    {CarrierStatus.DELIVERED, CarrierStatus.RETURNED, CarrierStatus.CANCELLED, CarrierStatus.LOST}
)


class CarrierModel(WireModel):
    """The carrier's JSON: camelCase; fields this shop does not know yet are ignored."""

    model_config = ConfigDict(**{**WireModel.model_config, "extra": "ignore"})


class CarrierEvent(CarrierModel):
    """One tracking event as POSTed to the webhook (camelCase on the wire)."""

    event_id: NonEmptyStr
    shipment_id: NonEmptyStr
    order_id: NonEmptyStr
    status: CarrierStatus
    at: Timestamp
    attempt: int | None = None  # the delivery attempt (OUT_FOR_DELIVERY, FAILED_ATTEMPT)


class CarrierQuote(CarrierModel):
    quote_id: NonEmptyStr
    company: NonEmptyStr
    price: int  # kopecks
    currency: str = "RUB"
    expires_at: Timestamp


class Shipment(CarrierModel):
    shipment_id: NonEmptyStr
    tracking_number: NonEmptyStr
    status: CarrierStatus


class ShipmentView(CarrierModel):
    """`GET /shipments/{id}`: the shipment and every event it has produced so far."""

    shipment_id: NonEmptyStr
    tracking_number: NonEmptyStr
    order_id: NonEmptyStr
    company: NonEmptyStr
    status: CarrierStatus
    price: int = 0
    events: tuple[CarrierEvent, ...] = ()


class CarrierRefused(Conflict):
    """The carrier said no (a 4xx): the message is the carrier's."""


class QuoteExpired(CarrierRefused):
    pass


class UnknownShipment(NotFound):
    pass


class CarrierUnavailable(ServiceUnavailable):
    """Timeouts, connection failures or 5xx outlasted the retries."""


class BadSignature(Unauthorized):
    """A webhook body whose signature is missing, wrong, or too old."""


def sign_event(secret: str, body: bytes, at: int | None = None) -> dict[str, str]:
    """The headers the carrier sends with `body` (used by the simulator and by tests)."""
    at = int(time.time()) if at is None else at
    return {
        SIGNATURE_HEADER: signing.sign(secret, body, at),
        TIMESTAMP_HEADER: str(at),
        "Content-Type": "application/json",
    }


def verify_event(
    secret: str,
    raw_body: bytes,
    headers: Mapping[str, str],
    now: int | None = None,
    tolerance: int = signing.DEFAULT_TOLERANCE_SECONDS,
) -> CarrierEvent:
    """The event in `raw_body` once its signature is checked against `secret` (HMAC-SHA256
    over `"<t>.<raw body>"`, `t` at most `tolerance` seconds from now). Raises `BadSignature`
    (401) for a missing, wrong or stale signature and InvalidRequest (400) for a signed body
    that is not an event."""
    now = int(time.time()) if now is None else now
    header = headers.get(SIGNATURE_HEADER)
    stamp = headers.get(TIMESTAMP_HEADER)
    if stamp is not None and header is not None and f"t={stamp}," not in f"{header},":
        raise BadSignature("carrier event timestamp headers disagree")
    if not signing.verify(secret, header, raw_body, now, tolerance):
        raise BadSignature("carrier event signature is missing, wrong or too old")
    try:
        return CarrierEvent.model_validate_json(raw_body)
    except ValueError as exc:
        raise InvalidRequest(f"not a carrier event: {exc}") from exc


@dataclass
class CarrierClient:
    """The carriers' API over HTTP; every call carries the shop's token and is retried on
    transient failures (all of them are idempotent: booking by its Idempotency-Key)."""

    base_url: str
    token: str
    webhook_secret: str = ""
    timeout_seconds: float = 3.0
    attempts: int = 8
    retry_seconds: float = 30.0
    tolerance_seconds: int = signing.DEFAULT_TOLERANCE_SECONDS
    _http: aiohttp.ClientSession | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: DeliverySettings) -> CarrierClient:
        return cls(
            base_url=settings.carrier_url.rstrip("/"),
            token=settings.carrier_token,
            webhook_secret=settings.carrier_webhook_secret,
            timeout_seconds=settings.carrier_timeout_seconds,
            attempts=settings.carrier_attempts,
            retry_seconds=settings.carrier_retry_seconds,
            tolerance_seconds=settings.carrier_signature_tolerance_seconds,
        )

    async def quote(self, company: str, address: str) -> CarrierQuote:
        """The company's price (kopecks) for `address`, valid until `expires_at`. Raises
        CarrierRefused for an unknown company or an address it does not serve."""
        status, body = await self._call("POST", "/quotes", {"company": company, "address": address})
        self._refusal(status, body)
        return CarrierQuote.model_validate(body)

    async def book(
        self,
        order_id: str,
        quote_id: str | None,
        address: str,
        company: str | None = None,
        recipient: str | None = None,
        phone: str | None = None,
    ) -> Shipment:
        """Book the delivery of `order_id` on a carrier quote (the order id is the idempotency
        key: the same order again answers the same shipment). With `company` given, an expired
        or missing quote is replaced by a fresh one; without, an expired one raises
        QuoteExpired."""
        if quote_id is None:
            if company is None:
                raise ValueError("book needs a quote id or a company to quote")
            quote_id = (await self.quote(company, address)).quote_id
        try:
            return await self._book(order_id, quote_id, address, recipient, phone)
        except QuoteExpired:
            if company is None:
                raise
            fresh = await self.quote(company, address)
            return await self._book(order_id, fresh.quote_id, address, recipient, phone)

    async def _book(
        self,
        order_id: str,
        quote_id: str,
        address: str,
        recipient: str | None,
        phone: str | None,
    ) -> Shipment:
        body: dict[str, Any] = {"quoteId": quote_id, "orderId": order_id, "address": address}
        if recipient:
            body["recipient"] = recipient
        if phone:
            body["phone"] = phone
        status, answer = await self._call(
            "POST", "/shipments", body, headers={"Idempotency-Key": order_id}
        )
        self._refusal(status, answer)
        return Shipment.model_validate(answer)

    async def track(self, shipment_id: str) -> ShipmentView:
        """The shipment's status and its events so far; UnknownShipment (404) if none."""
        status, body = await self._call("GET", f"/shipments/{shipment_id}")
        self._refusal(status, body)
        return ShipmentView.model_validate(body)

    async def cancel(self, shipment_id: str) -> ShipmentView:
        """Cancel before delivery (again: the same answer). CarrierRefused (409) once the
        parcel is DELIVERED, RETURNED or LOST; UnknownShipment (404) if none."""
        status, body = await self._call("DELETE", f"/shipments/{shipment_id}")
        self._refusal(status, body)
        return ShipmentView.model_validate(body)

    def verify_event(self, raw_body: bytes, headers: Mapping[str, str]) -> CarrierEvent:
        """See the module-level `verify_event`; uses this client's webhook secret."""
        return verify_event(
            self.webhook_secret, raw_body, headers, tolerance=self.tolerance_seconds
        )

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    # -- plumbing ------------------------------------------------------------------------
    @staticmethod
    def _refusal(status: int, body: Any) -> None:
        if 200 <= status < 300:
            return
        message = body.get("errorMessage", str(body)) if isinstance(body, dict) else str(body)
        message = f"carrier: {message}"
        if status == 404:
            raise UnknownShipment(message)
        if status == 409 and "expired" in message:
            raise QuoteExpired(message)
        if status in (401, 403):
            raise CarrierUnavailable(f"{message} (the shop's carrier token is not accepted)")
        raise CarrierRefused(message)

    async def _call(
        self,
        method: str,
        path: str,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        if self._http is None:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_seconds),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        sent = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        try:
            async for attempt in transient_retry(self.attempts, self.retry_seconds):
                with attempt:
                    async with self._http.request(
                        method, f"{self.base_url}{path}", json=json, headers=sent
                    ) as resp:
                        if resp.status >= 500:
                            resp.raise_for_status()
                        if resp.content_type == "application/json":
                            return resp.status, await resp.json()
                        return resp.status, await resp.text()
        except aiohttp.ClientResponseError as exc:
            raise CarrierUnavailable(f"the carrier answers {exc.status}, try again") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise CarrierUnavailable("the carrier is not answering, try again") from exc
        raise CarrierUnavailable("the carrier is not answering")  # pragma: no cover
