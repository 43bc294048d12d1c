"""Service credentials sent as `Authorization: Bearer <token>`: what one service or neighbour
shows another (the holds token, the front's token, the neighbours' tokens)."""

from __future__ import annotations

import hmac

from aiohttp import web


def bearer(request: web.Request) -> str:
    """The request's Bearer token ("" without one)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def carries(request: web.Request, token: str) -> bool:
    """The request carries `token` as its Bearer credential, compared in constant time (the time
    taken tells nothing about how much of a guess was right). An empty `token` accepts nobody."""
    return bool(token) and hmac.compare_digest(bearer(request).encode(), token.encode())


def bearer_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
