"""A stand-in for auth_svc's `GET /auth`: answers 200 with the user of a `sessionId` cookie it
handed out, 401 otherwise. For testing other services' edges without auth_svc."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from launcher.embedded import free_port


class FakeAuth:
    def __init__(self) -> None:
        self.sessions: dict[str, dict[str, Any]] = {}
        self.url = ""

    def login(self, username: str, *, admin: bool = False, **profile: str) -> str:
        """A session id for `username` (cookie `sessionId`)."""
        session = uuid.uuid4().hex
        self.sessions[session] = {
            "username": username,
            "firstName": profile.get("first_name", "Test"),
            "lastName": profile.get("last_name", "User"),
            "email": profile.get("email", f"{username}@example.com"),
            "phone": profile.get("phone", "+70000000000"),
            "roles": ["customer", "admin"] if admin else ["customer"],
        }
        return session

    async def who(self, request: web.Request) -> web.Response:
        user = self.sessions.get(request.cookies.get("sessionId", ""))
        if user is None:
            return web.json_response({"errorMessage": "User not authorized"}, status=401)
        return web.json_response(user)


@contextlib.asynccontextmanager
async def fake_auth() -> AsyncIterator[FakeAuth]:
    auth = FakeAuth()
    app = web.Application()
    app.router.add_get("/auth", auth.who)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    auth.url = f"http://127.0.0.1:{port}"
    try:
        yield auth
    finally:
        await runner.cleanup()
