"""State-changing calls that need more than `edges.call` sends: an `Idempotency-Key` header
(payment's `POST /pay` and `POST /top-ups`, order's `POST /gift-card-orders`) and the bank
simulator's `POST /qr/{qrId}/pay`. The key comes from a hidden field of the rendered form, so a
double click or a retried submit answers the same payment instead of charging twice."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import web

from servicekit.errors import ServiceUnavailable
from servicekit.identity import SESSION_COOKIE
from servicekit.neighbours import Answer
from web_front.edges import session_of
from web_front.settings import FrontSettings

HTTP = web.AppKey("keyed_http", aiohttp.ClientSession)
INSTALLED = web.AppKey("keyed_installed", bool)
TIMEOUT_SECONDS = 30.0  # a card charge waits for the bank; the page waits with it


async def keyed_http(app: web.Application) -> Any:
    """Its own session without a cookie jar: one customer's cookie never reaches another."""
    app[HTTP] = aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS), cookie_jar=aiohttp.DummyCookieJar()
    )
    yield
    await app[HTTP].close()


def install(app: web.Application) -> None:
    """Give `app` the session once, whichever of the money page modules mounts first."""
    if not app.get(INSTALLED):
        app[INSTALLED] = True
        app.cleanup_ctx.append(keyed_http)


async def post(
    request: web.Request, url: str, body: dict[str, Any], key: str | None = None
) -> Answer:
    """POST `body` to `url` as the visitor, with `key` as its Idempotency-Key; sent once (the
    key makes a person's retry safe, not ours). 5xx or no answer -> ServiceUnavailable."""
    session = session_of(request)
    headers = {"Idempotency-Key": key} if key else {}
    cookies = {SESSION_COOKIE: session} if session else None
    try:
        async with request.app[HTTP].post(url, json=body, headers=headers, cookies=cookies) as resp:
            if resp.status >= 500:
                raise ServiceUnavailable(f"{url} answered {resp.status}")
            return Answer(resp.status, await resp.json(content_type=None))
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise ServiceUnavailable(f"{url} is not answering") from exc


def settings_of(request: web.Request) -> FrontSettings:
    """The front's settings (imported here, not at the top: app.py imports the page modules)."""
    from web_front.app import SETTINGS

    return request.app[SETTINGS]
