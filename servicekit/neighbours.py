"""Calling another service's edge on behalf of the caller (their `sessionId` cookie is
forwarded): bounded timeout, retries only for transient failures of idempotent calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aiohttp

from servicekit.errors import ServiceUnavailable
from servicekit.identity import SESSION_COOKIE
from servicekit.retry import transient_retry


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)  # what the answer set (Set-Cookie)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error(self) -> str:
        if isinstance(self.body, dict):
            return str(self.body.get("errorMessage", self.body))
        return str(self.body)


@dataclass
class Neighbour:
    name: str
    base_url: str
    timeout_seconds: float = 5.0
    _http: aiohttp.ClientSession | None = field(default=None, repr=False)

    async def call(
        self,
        method: str,
        path: str,
        session_id: str | None = None,
        json: Any = None,
        params: dict[str, str] | None = None,
        idempotent: bool = True,
        headers: dict[str, str] | None = None,
        timeout_seconds: float | None = None,
    ) -> Answer:
        """One request; 5xx and connection failures are retried when `idempotent`, and
        become 503 ServiceUnavailable if they persist. `timeout_seconds` overrides the
        neighbour's for a call known to take longer (a payment waits for the bank)."""
        if self._http is None:
            # no cookie jar: a cookie one caller's answer sets must never go out with another's
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_seconds),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        cookies = {SESSION_COOKIE: session_id} if session_id else None
        # never None: aiohttp takes timeout=None as "no timeout at all"
        timeout = aiohttp.ClientTimeout(total=timeout_seconds or self.timeout_seconds)
        try:
            async for attempt in transient_retry(
                attempts=3 if idempotent else 1, max_delay=self.timeout_seconds * 2
            ):
                with attempt:
                    async with self._http.request(
                        method,
                        f"{self.base_url}{path}",
                        json=json,
                        params=params,
                        cookies=cookies,
                        headers=headers,
                        timeout=timeout,
                    ) as resp:
                        if resp.status >= 500:
                            resp.raise_for_status()
                        body = (
                            await resp.json()
                            if resp.content_type == "application/json"
                            else await resp.text()
                        )
                        set_cookies = {name: m.value for name, m in resp.cookies.items()}
                        return Answer(resp.status, body, dict(resp.headers), set_cookies)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ServiceUnavailable(f"{self.name} is not answering, try again") from exc
        raise ServiceUnavailable(f"{self.name} is not answering")  # pragma: no cover

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
