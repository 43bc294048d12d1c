"""The client's address behind proxies and through web_front (issue 15 item 5).

Each proxy appends the address it got the request from to `X-Forwarded-For`, so with
`trusted_proxies` proxies in front the client is the entry that many from the right; anything left
of it was written by the client and means nothing.

web_front calls auth_svc on the visitor's behalf, so auth_svc would see every visitor at web_front's
address and one visitor's failed logins would slow everyone's. web_front therefore forwards the
chain up to the visitor as it judged them (`forward_chain`), with its per-run service credential
`SAGASHOP_FRONT_TOKEN` as `Authorization: Bearer`. auth_svc takes the right-most entry (exactly one
hop) only from a request that carries that credential: on loopback the socket's peer cannot tell
web_front from anyone else, so the header alone proves nothing (`counted_address`).
"""

from __future__ import annotations

from aiohttp import web

from servicekit.tokens import bearer_headers, carries

FORWARDED_FOR = "X-Forwarded-For"


def hops(forwarded_for: str | None) -> list[str]:
    return [h.strip() for h in (forwarded_for or "").split(",") if h.strip()]


def client_address(forwarded_for: str | None, remote: str | None, trusted_proxies: int) -> str:
    """The caller's address: the `X-Forwarded-For` entry `trusted_proxies` from the right (the
    socket's peer without trusted proxies or without the header)."""
    entries = hops(forwarded_for)
    if trusted_proxies <= 0 or not entries:
        return remote or "unknown"
    return entries[-min(trusted_proxies, len(entries))]


def forward_chain(forwarded_for: str | None, remote: str | None, trusted_proxies: int) -> str:
    """The `X-Forwarded-For` a hop sends on: the peer appended as usual, minus the addresses of
    its own trusted proxies, so that its right-most entry is the client `client_address` finds."""
    chain = [*hops(forwarded_for), remote or "unknown"]
    return ", ".join(chain[: len(chain) - min(trusted_proxies, len(chain) - 1)])


def front_headers(request: web.Request, trusted_proxies: int, token: str) -> dict[str, str]:
    """What web_front's calls to auth_svc carry for the visitor of `request` (nothing without a
    configured token: auth_svc would not believe the address anyway)."""
    if not token:
        return {}
    chain = forward_chain(request.headers.get(FORWARDED_FOR), request.remote, trusted_proxies)
    return {FORWARDED_FOR: chain, **bearer_headers(token)}


def counted_address(request: web.Request, trusted_proxies: int, front_token: str) -> str:
    """The address auth_svc counts a request against: the visitor web_front names when the
    request carries web_front's credential, else the entry past `trusted_proxies` proxies."""
    forwarded = request.headers.get(FORWARDED_FOR)
    if carries(request, front_token):
        return client_address(forwarded, request.remote, 1)
    return client_address(forwarded, request.remote, trusted_proxies)
