"""Who is calling: every edge asks auth_svc's `GET /auth` with the caller's `sessionId` cookie.

Answers are cached for a couple of seconds per session (an edge sees a logout at most that
late), the call is bounded by a timeout and retried on transient failures; no or an invalid
session becomes 401 on the calling edge, auth being away becomes 503.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from servicekit.errors import Forbidden, ServiceUnavailable, Unauthorized
from servicekit.retry import transient_retry

SESSION_COOKIE = "sessionId"
ADMIN = "admin"


@dataclass(frozen=True)
class Caller:
    username: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    roles: tuple[str, ...] = ()

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles

    @classmethod
    def from_auth(cls, body: dict[str, Any]) -> Caller:
        return cls(
            username=body["username"],
            first_name=body.get("firstName", ""),
            last_name=body.get("lastName", ""),
            email=body.get("email", ""),
            phone=body.get("phone", ""),
            roles=tuple(body.get("roles", ())),
        )


@dataclass
class AuthClient:
    base_url: str
    cache_seconds: float = 2.0
    timeout_seconds: float = 2.0
    max_cached: int = 10_000
    _cache: dict[str, tuple[float, Caller]] = field(default_factory=dict)
    _http: aiohttp.ClientSession | None = None

    async def who(self, session_id: str | None) -> Caller:
        if not session_id:
            raise Unauthorized("User not authorized")
        hit = self._cache.get(session_id)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        caller = await self._ask(session_id)
        if len(self._cache) >= self.max_cached:
            self._cache.clear()
        self._cache[session_id] = (time.monotonic() + self.cache_seconds, caller)
        return caller

    async def _ask(self, session_id: str) -> Caller:
        if self._http is None:
            timeout = aiohttp.ClientTimeout(total=self.timeout_seconds)
            self._http = aiohttp.ClientSession(timeout=timeout)
        try:
            async for attempt in transient_retry(attempts=3, max_delay=self.timeout_seconds * 3):
                with attempt:
                    async with self._http.get(
                        f"{self.base_url}/auth", cookies={SESSION_COOKIE: session_id}
                    ) as resp:
                        if resp.status == 200:
                            return Caller.from_auth(await resp.json())
                        if resp.status in (401, 403, 404):
                            raise Unauthorized("User not authorized")
                        resp.raise_for_status()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ServiceUnavailable("Authentication Server error") from exc
        raise ServiceUnavailable("Authentication Server error")  # pragma: no cover

    def forget(self, session_id: str) -> None:
        self._cache.pop(session_id, None)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None


def session_id(request: web.Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE)


async def customer(request: web.Request, auth: AuthClient) -> Caller:
    """The logged-in caller, or 401."""
    return await auth.who(session_id(request))


async def admin(request: web.Request, auth: AuthClient) -> Caller:
    """The logged-in admin, or 401 / 403."""
    caller = await auth.who(session_id(request))
    if not caller.is_admin:
        raise Forbidden("Forbidden: admin role required")
    return caller
