"""Who may create holds (store_svc's pre-reservations, delivery_svc's slot holds): only
order_svc at checkout, for the order's own id, items and owner (issue 15 item 1: customers
calling the edges directly took a product's whole stock or a pickup point's every slot with
made-up order ids).

order_svc proves who it is with a per-run service credential, `SAGASHOP_HOLDS_TOKEN`, sent as
`Authorization: Bearer`; the order's owner travels as `X-Order-Owner` (the forwarded session
is still checked, so the token alone logs nobody in). An empty configured token accepts nobody.
"""

from __future__ import annotations

from aiohttp import web

from servicekit.errors import Forbidden
from servicekit.identity import Caller
from servicekit.tokens import bearer_headers, carries

OWNER_HEADER = "X-Order-Owner"


def is_holder(request: web.Request, token: str) -> bool:
    """The request carries the holds credential (servicekit.tokens.carries)."""
    return carries(request, token)


def holder_owner(request: web.Request, token: str, caller: Caller) -> str:
    """Whose hold this is: the owner order_svc names (else the forwarded session's customer);
    403 for anyone without the credential."""
    if not is_holder(request, token):
        raise Forbidden("holds are made by the shop at checkout: check out the order instead")
    return request.headers.get(OWNER_HEADER, "").strip() or caller.username


def holder_headers(token: str, owner: str) -> dict[str, str]:
    """What order_svc's calls that create holds carry."""
    return {**bearer_headers(token), OWNER_HEADER: owner}
