"""What every page gets for free: security headers, the CSRF check of every state-changing
form (token + `Origin`), and friendly Russian pages instead of traces when something fails."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web

from servicekit.errors import ServiceUnavailable

log = logging.getLogger("web_front")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CSRF_COOKIE = "csrfSeed"
CSRF_FIELD = "csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SECRET = web.AppKey("web_secret", str)

HEADERS = {
    # no inline script anywhere: the few scripts are files under /static
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def csrf_token(secret: str, seed: str) -> str:
    return hmac.new(secret.encode(), seed.encode(), hashlib.sha256).hexdigest()


def csrf_seed(request: web.Request) -> str:
    """The visitor's CSRF seed: from their cookie, or a new one the response will set."""
    seed = request.cookies.get(CSRF_COOKIE) or request.get("new_csrf_seed")
    if not seed:
        seed = request["new_csrf_seed"] = secrets.token_urlsafe(24)
    return str(seed)


def token_for(request: web.Request) -> str:
    return csrf_token(request.app[SECRET], csrf_seed(request))


def same_origin(request: web.Request) -> bool:
    """A form posted from our own pages: the browser's `Origin` (or, failing that, `Referer`)
    names this host. Neither header at all is refused too: every browser sends one on POST."""
    origin = request.headers.get("Origin") or request.headers.get("Referer") or ""
    own = f"{request.scheme}://{request.host}"
    return origin == own or origin.startswith(own + "/")


async def csrf_ok(request: web.Request) -> bool:
    seed = request.cookies.get(CSRF_COOKIE)
    if not (seed and same_origin(request)):
        return False
    form = await request.post()
    sent = str(form.get(CSRF_FIELD, ""))
    return hmac.compare_digest(sent, csrf_token(request.app[SECRET], seed))


async def error_page(request: web.Request, status: int, title: str, text: str) -> web.Response:
    from web_front.render import render  # render needs this module's token: import when used

    retry = request.path_qs if request.method in SAFE_METHODS else request.headers.get("Referer")
    context = {"title": title, "text": text, "retry": retry or "/"}
    return await render(request, "error.html", context, status, guest_if_auth_away=True)


def finish(request: web.Request, response: web.StreamResponse) -> None:
    """Security headers on every answer, and the new visitor's CSRF seed cookie."""
    if seed := request.get("new_csrf_seed"):
        response.set_cookie(
            CSRF_COOKIE, seed, httponly=True, samesite="Lax", secure=request.secure, path="/"
        )
    response.headers.update(HEADERS)


@web.middleware
async def protect(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method not in SAFE_METHODS and not await csrf_ok(request):
        refused = await error_page(
            request,
            403,
            "Форма устарела",
            "Мы не смогли проверить, что форму отправили с этой страницы. "
            "Откройте страницу заново и отправьте форму ещё раз.",
        )
        finish(request, refused)
        return refused
    try:
        response = await handler(request)
    except web.HTTPException as redirect_or_error:  # raised, yet still an answer to dress
        finish(request, redirect_or_error)
        raise
    finish(request, response)
    return response


@web.middleware
async def friendly_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Innermost: turns failures into pages (the headers middleware still wraps them)."""
    try:
        return await handler(request)
    except ServiceUnavailable:
        return await error_page(
            request,
            503,
            "Сервис временно недоступен",
            "Часть магазина сейчас не отвечает. Ничего не потеряно — попробуйте ещё раз "
            "через минуту.",
        )
    except web.HTTPNotFound:
        return await error_page(request, 404, "Страница не найдена", "Такой страницы у нас нет.")
    except web.HTTPException:
        raise
    except Exception:
        log.exception("page %s %s failed", request.method, request.path)
        return await error_page(
            request, 500, "Что-то пошло не так", "Мы уже знаем об ошибке. Попробуйте ещё раз."
        )
