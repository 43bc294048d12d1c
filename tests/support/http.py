"""An HTTP client per simulated user: its own cookie jar, JSON in and out."""

from __future__ import annotations

from typing import Any

import aiohttp


class Client:
    def __init__(
        self, base_url: str, headers: dict[str, str] | None = None, timeout: float = 30
    ) -> None:
        self.base_url = base_url
        self.http = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            headers=headers or {},
            timeout=aiohttp.ClientTimeout(total=timeout),
        )
        self.last: aiohttp.ClientResponse | None = None

    async def call(
        self, method: str, path: str, json: Any = None, base: str | None = None, **kw: Any
    ) -> tuple[int, Any]:
        async with self.http.request(
            method, f"{base or self.base_url}{path}", json=json, **kw
        ) as resp:
            self.last = resp
            if resp.content_type == "application/json":
                return resp.status, await resp.json()
            return resp.status, await resp.text()

    async def get(self, path: str, **kw: Any) -> tuple[int, Any]:
        return await self.call("GET", path, **kw)

    async def post(self, path: str, json: Any = None, **kw: Any) -> tuple[int, Any]:
        return await self.call("POST", path, json, **kw)

    async def put(self, path: str, json: Any = None, **kw: Any) -> tuple[int, Any]:
        return await self.call("PUT", path, json, **kw)

    async def patch(self, path: str, json: Any = None, **kw: Any) -> tuple[int, Any]:
        return await self.call("PATCH", path, json, **kw)

    async def delete(self, path: str, **kw: Any) -> tuple[int, Any]:
        return await self.call("DELETE", path, **kw)

    def cookie(self, name: str) -> str | None:
        for morsel in self.http.cookie_jar:
            if morsel.key == name:
                return morsel.value
        return None

    def set_cookie(self, name: str, value: str) -> None:
        self.http.cookie_jar.update_cookies({name: value})

    async def close(self) -> None:
        await self.http.close()
