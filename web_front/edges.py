"""The services' edges as web_front calls them: one `Neighbour` per edge, the customer's
`sessionId` cookie forwarded, and who the customer is (auth's `GET /auth`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from servicekit.forwarding import front_headers
from servicekit.identity import SESSION_COOKIE
from servicekit.neighbours import Answer, Neighbour
from web_front.settings import FrontSettings

EDGE_NAMES = (
    "auth",
    "order",
    "store",
    "delivery",
    "payment",
    "billing",
    "notification",
    "orchestra",
    "bank",  # the bank simulator: its "customer's bank app" pays an SBP QR code
    "mail",  # the mail catcher (mail_sim, or Mailpit in compose): the admin's "Письма"
)
# a state-changing call that waits for a neighbour of its own (a payment waits for the bank,
# a checkout for the store and delivery): longer than a page's read
SLOW_CALL_SECONDS = 30.0


@dataclass(frozen=True)
class Visitor:
    """Who looks at the page: a guest (no username) or a logged-in user with roles."""

    username: str | None = None
    first_name: str = ""
    roles: tuple[str, ...] = ()

    @property
    def is_customer(self) -> bool:
        return self.username is not None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


GUEST = Visitor()


class Edges:
    def __init__(self, settings: FrontSettings) -> None:
        self.settings = settings
        self.by_name = {
            name: Neighbour(name, getattr(settings, f"{name}_url"), settings.edge_timeout_seconds)
            for name in EDGE_NAMES
        }

    def forwarding(self, request: web.Request, edge: str) -> dict[str, str]:
        """auth counts attempts per client address: it is told the visitor's (issue 15)."""
        if edge != "auth":
            return {}
        settings = self.settings
        return front_headers(request, settings.web_trusted_proxies, settings.front_token)

    async def login(
        self, request: web.Request, path: str, body: dict[str, Any]
    ) -> tuple[Answer, str | None]:
        """auth's `POST /login` (or `/login/email`, `/login/phone`) for the visitor of
        `request` and the `sessionId` it sets: the front sets it as its own cookie."""
        answer = await self.by_name["auth"].call(
            "POST", path, json=body, idempotent=False, headers=self.forwarding(request, "auth")
        )
        return answer, (answer.cookies.get(SESSION_COOKIE) if answer.ok else None)

    async def close(self) -> None:
        for neighbour in self.by_name.values():
            await neighbour.close()


def session_of(request: web.Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


async def call(
    request: web.Request,
    edge: str,
    method: str,
    path: str,
    json: Any = None,
    params: dict[str, str] | None = None,
    idempotent: bool | None = None,
    key: str | None = None,
) -> Answer:
    """Call `edge` on behalf of the visitor (their session forwarded); a state-changing call
    is not retried unless the caller says it is safe (ServiceUnavailable when it is away).
    `key`: the form's Idempotency-Key, so a double click or a resubmit answers the first
    request instead of doing it twice; such a call may wait for the edge's own neighbours."""
    edges: Edges = request.app[EDGES]
    safe = method == "GET" if idempotent is None else idempotent
    headers = {**edges.forwarding(request, edge), **({"Idempotency-Key": key} if key else {})}
    return await edges.by_name[edge].call(
        method,
        path,
        session_of(request),
        json=json,
        params=params,
        idempotent=safe,
        headers=headers or None,
        timeout_seconds=SLOW_CALL_SECONDS if key else None,
    )


async def visitor(request: web.Request) -> Visitor:
    """Who is looking, asked once per request; no session or an ended one is a guest."""
    if "visitor" in request:
        known: Visitor = request["visitor"]
        return known
    found = GUEST
    if session_of(request):
        answer = await call(request, "auth", "GET", "/auth")
        if answer.ok and isinstance(answer.body, dict):
            found = Visitor(
                username=answer.body["username"],
                first_name=answer.body.get("firstName", ""),
                roles=tuple(answer.body.get("roles", ())),
            )
    request["visitor"] = found
    return found


EDGES = web.AppKey("edges", Edges)
