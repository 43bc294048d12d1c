"""The aiohttp edge every service serves: its routes, one error-to-status mapping,
/health, /ready, /metrics, /openapi.json and /asyncapi.json (the topics it sends and takes)."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from aiohttp import web

from servicekit import asyncapi
from servicekit.errors import DomainError, TooManyRequests
from servicekit.http import RouteHandler, openapi, reply
from servicekit.logging import correlation_id
from servicekit.retry import is_db_unavailable

if TYPE_CHECKING:
    from servicekit.service import Service

log = logging.getLogger(__name__)
SERVICE = web.AppKey("service", object)


def error(status: int, message: str) -> web.Response:
    return reply({"errorMessage": message}, status=status)


def error_middleware(service: Service) -> web.middleware:  # type: ignore[valid-type]
    @web.middleware
    async def middleware(request: web.Request, handler: RouteHandler) -> web.StreamResponse:
        started = time.perf_counter()
        route = request.match_info.route.resource
        name = route.canonical if route is not None else "unmatched"
        token = correlation_id.set(request.headers.get("X-Correlation-Id"))
        try:
            response = await _answer(request, handler)
        finally:
            correlation_id.reset(token)
        service.metrics.http_requests.labels(name, str(response.status)).inc()
        service.metrics.http_seconds.labels(name).observe(time.perf_counter() - started)
        return response

    return middleware


async def _answer(request: web.Request, handler: RouteHandler) -> web.StreamResponse:
    try:
        return await handler(request)
    except TooManyRequests as exc:
        response = error(exc.status, exc.message)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except DomainError as exc:
        return error(exc.status, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error(exc.status, exc.reason or "error")
    except Exception as exc:
        if is_db_unavailable(exc):
            log.warning("database unavailable during %s %s: %r", request.method, request.path, exc)
            return error(503, "service temporarily unavailable, try again")
        log.exception("unexpected error in %s %s", request.method, request.path)
        return error(500, "internal error")


def build_edge(service: Service) -> web.Application:
    app = web.Application(middlewares=[error_middleware(service)], client_max_size=1024**2)
    app[SERVICE] = service
    app.add_routes(service.routes.table)

    async def health(_: web.Request) -> web.Response:
        return reply({"status": "ok", "service": service.name})

    async def ready(_: web.Request) -> web.Response:
        checks = await service.check_ready()
        ok = all(checks.values())
        return reply({"ready": ok, "service": service.name, "checks": checks}, 200 if ok else 503)

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=service.metrics.render(), content_type="text/plain")

    async def spec(_: web.Request) -> web.Response:
        return reply(openapi(service.name, service.routes.specs))

    async def topics(_: web.Request) -> web.Response:
        # the package, not the configured name (tests and replicas name processes freely)
        package = type(service.settings).__module__.split(".")[0]
        return reply(asyncapi.document(package if package != "servicekit" else service.name))

    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/openapi.json", spec)
    app.router.add_get("/asyncapi.json", topics)
    return app
