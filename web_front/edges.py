"""The services' edges as web_front calls them: one `Neighbour` per edge, the customer's
`sessionId` cookie forwarded, and who the customer is (auth's `GET /auth`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from servicekit.errors import ServiceUnavailable
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
)


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
        self.by_name = {
            name: Neighbour(name, getattr(settings, f"{name}_url"), settings.edge_timeout_seconds)
            for name in EDGE_NAMES
        }

        self.auth_url = settings.auth_url
        self.timeout = aiohttp.ClientTimeout(total=settings.edge_timeout_seconds)
        # its own session without a cookie jar: one customer's cookie must never reach another
        self._login_http: aiohttp.ClientSession | None = None

    async def login(self, path: str, body: dict[str, Any]) -> tuple[Answer, str | None]:
        """auth's `POST /login` (or `/login/email`, `/login/phone`) and the `sessionId` it
        sets, which `Neighbour` does not show: the front sets it as its own cookie."""
        if self._login_http is None:
            self._login_http = aiohttp.ClientSession(
                timeout=self.timeout, cookie_jar=aiohttp.DummyCookieJar()
            )
        try:
            async with self._login_http.post(f"{self.auth_url}{path}", json=body) as resp:
                if resp.status >= 500:
                    raise ServiceUnavailable("auth is not answering")
                answer = Answer(resp.status, await resp.json(content_type=None))
                morsel = resp.cookies.get(SESSION_COOKIE)
                return answer, (morsel.value if morsel and answer.ok else None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ServiceUnavailable("auth is not answering") from exc

    async def close(self) -> None:
        for neighbour in self.by_name.values():
            await neighbour.close()
        if self._login_http is not None:
            await self._login_http.close()


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
) -> Answer:
    """Call `edge` on behalf of the visitor (their session forwarded); a state-changing call
    is not retried unless the caller says it is safe (ServiceUnavailable when it is away)."""
    edges: Edges = request.app[EDGES]
    safe = method == "GET" if idempotent is None else idempotent
    return await edges.by_name[edge].call(
        method, path, session_of(request), json=json, params=params, idempotent=safe
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
