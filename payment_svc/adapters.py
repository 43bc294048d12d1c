"""The neighbours payment_svc calls: the bank (cards, saved-card tokens, SBP by phone and by QR
code) and order_svc's edge.

Every bank call carries an idempotency key (a charge: the paymentId; a refund:
`<paymentId>:refund`), so a call whose answer was lost to a timeout, a dropped connection or a
5xx is safe to send again: the bank answers the same key with the same result instead of
moving money twice. Those are the only retries, bounded in attempts and time; a 4xx is the
bank's final word and is never retried. Every call carries the shop's client token
(`SAGASHOP_BANK_CLIENT_TOKEN`, as `Authorization: Bearer`): the bank takes charges and refunds
from the shop only.
"""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import quote

import aiohttp
from pydantic_settings import BaseSettings, SettingsConfigDict
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

from schemas.base import WireModel
from schemas.payment_http import (
    CardDetails,
    CardToken,
    ChargeAnswer,
    ChargeRequest,
    PayableOrder,
    RefundAnswer,
    RefundRequest,
    TokenizeRequest,
)
from servicekit.errors import InvalidRequest, NotFound, ServiceUnavailable, Unauthorized
from servicekit.neighbours import Neighbour
from servicekit.retry import is_transient


class BankUnavailable(Exception):
    """No answer from the bank within the bounded retries: the outcome is unknown."""


class BankRefused(Exception):
    """The bank refused the request itself (4xx): sending it again would not help."""


class BankApi(Protocol):
    async def tokenize(self, card: CardDetails) -> CardToken:
        """The bank keeps the card and answers its token (the same card, the same token)."""
        ...

    async def charge(self, request: ChargeRequest) -> ChargeAnswer:
        """A QR charge answers `pending` with the code to scan."""
        ...

    async def lookup(self, key: str) -> ChargeAnswer | None:
        """What the bank did with the charge of `key` (`pending` while a QR code waits to be
        paid); None if it never saw it."""
        ...

    async def refund(self, request: RefundRequest) -> RefundAnswer: ...

    async def pay_qr(self, qr_id: str, decline: str | None = None) -> ChargeAnswer:
        """The customer pays the QR code in their bank app (or fails to, with `decline`): the
        simulator's hook for tests and the web front's "scan" button, no real bank has it."""
        ...

    async def close(self) -> None: ...


class BankClientSettings(BaseSettings):
    """The token the bank knows the shop by (the launcher gives it to both)."""

    model_config = SettingsConfigDict(env_prefix="SAGASHOP_", extra="ignore")

    bank_client_token: str = ""


class HttpBank:
    def __init__(
        self,
        base_url: str,
        timeout_seconds: float = 5.0,
        attempts: int = 3,
        client_token: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_seconds = timeout_seconds
        self.attempts = attempts
        token = BankClientSettings().bank_client_token if client_token is None else client_token
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http: aiohttp.ClientSession | None = None

    async def tokenize(self, card: CardDetails) -> CardToken:
        status, body = await self._call("POST", "/cards", TokenizeRequest(card=card))
        if status != 200:
            raise BankRefused(_message(body))
        return CardToken.model_validate(body)

    async def charge(self, request: ChargeRequest) -> ChargeAnswer:
        status, body = await self._call("POST", "/charges", request)
        if status != 200:
            raise BankRefused(_message(body))
        return ChargeAnswer.model_validate(body)

    async def lookup(self, key: str) -> ChargeAnswer | None:
        status, body = await self._call("GET", f"/charges/{quote(key, safe='')}")
        if status == 404:
            return None
        if status != 200:
            raise BankRefused(_message(body))
        return ChargeAnswer.model_validate(body)

    async def refund(self, request: RefundRequest) -> RefundAnswer:
        status, body = await self._call("POST", "/refunds", request)
        if status != 200:
            raise BankRefused(_message(body))
        return RefundAnswer.model_validate(body)

    async def pay_qr(self, qr_id: str, decline: str | None = None) -> ChargeAnswer:
        body = {"decline": decline} if decline else {}
        status, answer = await self._call("POST", f"/qr/{quote(qr_id, safe='')}/pay", body)
        if status != 200:
            raise BankRefused(_message(answer))
        return ChargeAnswer.model_validate(answer)

    async def _call(
        self, method: str, path: str, body: WireModel | dict[str, Any] | None = None
    ) -> tuple[int, Any]:
        if self._http is None:
            timeout = aiohttp.ClientTimeout(total=self.timeout_seconds)
            self._http = aiohttp.ClientSession(timeout=timeout, headers=self._headers)
        retrying = AsyncRetrying(
            retry=retry_if_exception(is_transient),
            stop=stop_after_attempt(self.attempts)
            | stop_after_delay(self.timeout_seconds * self.attempts),
            wait=wait_exponential_jitter(multiplier=0.1, jitter=0.1, max=1.0),
            reraise=True,
        )
        json = body.to_wire() if isinstance(body, WireModel) else body
        try:
            async for attempt in retrying:
                with attempt:
                    async with self._http.request(
                        method, f"{self.base_url}{path}", json=json
                    ) as resp:
                        if resp.status >= 500:
                            resp.raise_for_status()
                        return resp.status, await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise BankUnavailable(f"{method} {path}: {exc!r}") from exc
        raise BankUnavailable(f"{method} {path}: no answer")  # pragma: no cover

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None


def _message(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("errorMessage", body))
    return str(body)


class OrderEdge:
    """order_svc's `GET /get`, asked on behalf of the caller (their session cookie)."""

    def __init__(self, base_url: str, timeout_seconds: float = 5.0) -> None:
        self.neighbour = Neighbour("order_svc", base_url, timeout_seconds)

    async def get(self, order_id: str, session_id: str | None) -> PayableOrder:
        answer = await self.neighbour.call(
            "GET", "/get", session_id=session_id, params={"orderId": order_id}
        )
        if answer.status == 404:
            raise NotFound("Order not found")
        if answer.status == 401:
            raise Unauthorized("User not authorized")
        if not answer.ok:
            raise InvalidRequest(f"order_svc: {answer.error}")
        try:
            return PayableOrder.model_validate(answer.body)
        except ValueError as exc:
            raise ServiceUnavailable("order_svc answered an unexpected order body") from exc

    async def close(self) -> None:
        await self.neighbour.close()
