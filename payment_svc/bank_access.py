"""Who may call the bank simulator: the shop (payment_svc) with the client token for cards,
charges and refunds; the operator (the launcher's chaos and bench code) with the admin token
for its behaviour and its ledger; the customer's bank app paying a QR code with none, as it is
the customer's own side. A token left empty leaves its routes open (a simulator started by hand
for development); the launcher always sets both."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import Field

from schemas.payment_http import BankConfigUpdate
from servicekit.simulator import Handler, unauthorized

CLIENT, ADMIN = "client", "admin"
# by route: what is not named here (the QR scan, /health, /ready) is open to anyone
ROLES = {
    "/cards": CLIENT,
    "/charges": CLIENT,
    "/charges/{key}": CLIENT,
    "/refunds": CLIENT,
    "/config": ADMIN,
    "/ledger": ADMIN,
}
# upper bounds on what `PUT /config` may ask: a delay past these only ties up the shop's workers
MAX_LATENCY_MS = 10_000
MAX_HANG_SECONDS = 120.0
MAX_DECLINES = 1_000


class BoundedConfigUpdate(BankConfigUpdate):
    """`PUT /config` as the simulator takes it: the delays bounded, the declines counted."""

    latency_ms: int | None = Field(default=None, ge=0, le=MAX_LATENCY_MS)
    hang_seconds: float | None = Field(default=None, ge=0.0, le=MAX_HANG_SECONDS)
    declines: dict[str, str] | None = Field(default=None, max_length=MAX_DECLINES)


@dataclass(frozen=True)
class BankTokens:
    client: str = ""
    admin: str = ""

    def required_for(self, request: web.Request) -> str:
        """The token the request must carry ("" when none)."""
        resource = request.match_info.route.resource
        role = ROLES.get(resource.canonical) if resource is not None else None
        return {CLIENT: self.client, ADMIN: self.admin}.get(role or "", "")


def token_check(tokens: BankTokens) -> Any:  # an aiohttp middleware
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        wanted = tokens.required_for(request)
        needs = "this bank call needs its Authorization: Bearer token"
        return unauthorized(request, wanted, needs) or await handler(request)

    return middleware
