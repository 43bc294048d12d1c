"""billing_svc's edge as payment reads it, on behalf of the caller (their session cookie):
the wallet's balance and the gift cards they activated. Only reads: money moves through
billing's Kafka requests (`payment_svc.effects.billing_request`), never over HTTP."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from schemas.billing_http import GiftCardList, GiftCardView, WalletView
from servicekit.errors import InvalidRequest, ServiceUnavailable, Unauthorized
from servicekit.neighbours import Answer, Neighbour

M = TypeVar("M", bound=BaseModel)


class BillingEdge:
    def __init__(self, base_url: str, timeout_seconds: float = 5.0) -> None:
        self.neighbour = Neighbour("billing_svc", base_url, timeout_seconds)

    async def wallet(self, session_id: str | None) -> WalletView | None:
        """The caller's wallet; None when billing has not opened it yet."""
        answer = await self.neighbour.call("GET", "/wallet", session_id=session_id)
        if answer.status == 404:
            return None
        return _parse(WalletView, _ok(answer))

    async def gift_cards(self, session_id: str | None) -> list[GiftCardView]:
        answer = await self.neighbour.call("GET", "/gift-cards", session_id=session_id)
        return list(_parse(GiftCardList, _ok(answer)).items)

    async def gift_card(self, card_id: str, session_id: str | None) -> GiftCardView | None:
        """One of the caller's activated gift cards; None if it is not theirs (or unknown)."""
        answer = await self.neighbour.call("GET", f"/gift-cards/{card_id}", session_id=session_id)
        if answer.status == 404:
            return None
        return _parse(GiftCardView, _ok(answer))

    async def close(self) -> None:
        await self.neighbour.close()


def _ok(answer: Answer) -> object:
    if answer.status == 401:
        raise Unauthorized("User not authorized")
    if not answer.ok:
        raise InvalidRequest(f"billing_svc: {answer.error}")
    return answer.body


def _parse(model: type[M], body: object) -> M:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise ServiceUnavailable("billing_svc answered an unexpected body") from exc
