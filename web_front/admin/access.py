"""Who may open an admin page: a guest is sent to log in, a customer without the admin
role gets a plain 403 page (the page exists; it is just not theirs)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from servicekit.neighbours import Answer
from web_front.edges import call, visitor
from web_front.security import error_page


class NotAnAdmin(Exception):
    """Raised by `require_admin`; `admin_only` turns it into the 403 page."""


async def require_admin(request: web.Request) -> None:
    who = await visitor(request)
    if not who.is_customer:
        raise web.HTTPSeeOther(f"/login?next={request.path_qs}")
    if not who.is_admin:
        raise NotAnAdmin()


def admin_only(handler: Any) -> Any:
    """Wrap an admin page's handler: the visitor's role is checked before anything else."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            await require_admin(request)
        except NotAnAdmin:
            return await error_page(
                request,
                403,
                "Доступ только для администраторов",
                "Эта страница — для администраторов магазина. Если вам нужен доступ, "
                "обратитесь к администратору.",
            )
        response: web.StreamResponse = await handler(request)
        return response

    return guarded


def body_of(answer: Answer) -> Any:
    """The body of a successful edge answer; any other is a failure the page cannot draw
    (a 404 of the thing asked for becomes the 404 page)."""
    if answer.status == 404:
        raise web.HTTPNotFound()
    if not answer.ok:
        raise web.HTTPBadGateway(text=answer.error)
    return answer.body


async def read(request: web.Request, edge: str, path: str, **params: str) -> Any:
    """GET an edge's resource as the admin, its body or the 404 page."""
    return body_of(await call(request, edge, "GET", path, params=params or None))
