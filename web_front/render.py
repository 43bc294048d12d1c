"""Drawing a page: every template gets what base.html needs (who is looking, the CSRF token,
the search text) on top of the page's own context."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from servicekit.errors import ServiceUnavailable
from web_front.edges import GUEST, visitor
from web_front.security import token_for


async def render(
    request: web.Request,
    template: str,
    context: dict[str, Any] | None = None,
    status: int = 200,
    guest_if_auth_away: bool = False,
) -> web.Response:
    """`template` with `context`; an error page is still drawn when auth itself is away
    (`guest_if_auth_away`), its header then showing the guest's links."""
    try:
        who = await visitor(request)
    except ServiceUnavailable:
        if not guest_if_auth_away:
            raise
        who = GUEST
    page = {
        "visitor": who,
        "csrf_token": token_for(request),
        "search_text": request.query.get("q", ""),
        "here": request.path_qs,
        **(context or {}),
    }
    return aiohttp_jinja2.render_template(template, request, page, status=status)
