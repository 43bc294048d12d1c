"""A small round-robin HTTP front for the replicas of one service (`sagashop up --replicas`):
it listens on the service's one address (SAGASHOP_<NAME>_URL, what the other services and
web_front call) and passes each request to the next replica in turn, request and answer as
they are. A replica that refuses the connection is down (killed, restarting): the request goes
to the next one, and the refusing one rests a second before it is tried first again. A replica
that dies in the middle of a request is not asked again (the request may have taken effect):
the caller gets a 502 and retries as it would after any lost answer.

`python -m launcher.balancer` with SAGASHOP_HTTP_PORT and SAGASHOP_BALANCE_TARGETS (a comma
list of the replicas' URLs). Where a real load balancer exists (compose's service DNS, an
ingress), it does this instead (deploy/README.md)."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

import aiohttp
from aiohttp import web

# hop-by-hop headers (RFC 9110 7.6.1) and those aiohttp sets itself from the body
NOT_PASSED = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


def passed(headers: Mapping[str, str]) -> list[tuple[str, str]]:
    """Every header but the hop-by-hop ones (each of a repeated header, Set-Cookie too)."""
    return [(k, v) for k, v in headers.items() if k.lower() not in NOT_PASSED]


class Balancer:
    def __init__(self, targets: list[str], rest_seconds: float = 1.0) -> None:
        if not targets:
            raise ValueError("SAGASHOP_BALANCE_TARGETS names no replica")
        self.targets = targets
        self.rest_seconds = rest_seconds
        self.resting_until = dict.fromkeys(targets, 0.0)
        self.turn = 0
        self.http: aiohttp.ClientSession | None = None

    def order(self) -> list[str]:
        """Every replica, starting with the next one in turn; resting ones last."""
        n = len(self.targets)
        ring = [self.targets[(self.turn + i) % n] for i in range(n)]
        self.turn = (self.turn + 1) % n
        now = time.monotonic()
        return sorted(ring, key=lambda t: self.resting_until[t] > now)  # stable: keeps the turn

    async def handle(self, request: web.Request) -> web.StreamResponse:
        assert self.http is not None  # noqa: S101 - set on startup, before any request
        body = await request.read()
        headers = passed(request.headers)
        for target in self.order():
            try:
                async with self.http.request(
                    request.method,
                    target + request.rel_url.path_qs,
                    headers=headers,
                    data=body,
                    allow_redirects=False,
                ) as resp:
                    answer = await resp.read()
                    return web.Response(
                        status=resp.status, headers=passed(resp.headers), body=answer
                    )
            except aiohttp.ClientConnectorError:  # never reached it: another replica may take it
                self.resting_until[target] = time.monotonic() + self.rest_seconds
            except (aiohttp.ClientError, TimeoutError) as exc:
                return web.json_response(
                    {"errorMessage": f"the replica at {target} gave no answer: {exc!r}"}, status=502
                )
        return web.json_response({"errorMessage": "no replica of this service answers"}, status=503)

    async def open(self, _: web.Application) -> None:
        self.http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=120, sock_connect=2), auto_decompress=False
        )

    async def close(self, _: web.Application) -> None:
        if self.http is not None:
            await self.http.close()


def app(targets: list[str]) -> web.Application:
    balancer = Balancer(targets)
    application = web.Application(client_max_size=64 * 1024**2)
    application.on_startup.append(balancer.open)
    application.on_cleanup.append(balancer.close)
    application.router.add_route("*", "/{tail:.*}", balancer.handle)
    return application


def main() -> None:
    targets = [t for t in os.environ.get("SAGASHOP_BALANCE_TARGETS", "").split(",") if t]
    port = int(os.environ.get("SAGASHOP_HTTP_PORT", "8080"))
    web.run_app(app(targets), host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
