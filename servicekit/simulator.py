"""What every neighbour simulator (bank, SMS gateway, mail catcher, warehouse, carriers, pickup
points) shares: its settings' common part, `{"errorMessage": ...}` refusals, the Bearer token
check of its callers, `/health` and `/ready`, and `main()`'s start (settings, JSON logs, serve)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from aiohttp import web
from pydantic_settings import BaseSettings, SettingsConfigDict

from servicekit.logging import setup_logging
from servicekit.tokens import carries

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
OPEN_PATHS = ("/health", "/ready")


class SimulatorSettings(BaseSettings):
    """`SAGASHOP_HTTP_HOST`, `SAGASHOP_HTTP_PORT`, `SAGASHOP_LOG_LEVEL`, `SAGASHOP_LOG_JSON`;
    a simulator subclasses it for its own knobs (and its default port)."""

    model_config = SettingsConfigDict(env_prefix="SAGASHOP_", extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int = 8090
    log_level: str = "INFO"
    log_json: bool = True


S = TypeVar("S", bound=SimulatorSettings)


def refuse(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"errorMessage": message}, status=status, headers=headers)


def unauthorized(request: web.Request, token: str, message: str) -> web.Response | None:
    """A 401 when `token` is set and the request does not carry it as Bearer (an empty token:
    the simulator is open, as for a developer running it alone); None when it may go on."""
    if token and not carries(request, token):
        return refuse(401, message, **{"WWW-Authenticate": "Bearer"})
    return None


def token_check(token: str, message: str, open_paths: Iterable[str] = OPEN_PATHS) -> Any:
    """An aiohttp middleware: every path but `open_paths` wants `token` (see unauthorized)."""
    unguarded = frozenset(open_paths)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        refused = None if request.path in unguarded else unauthorized(request, token, message)
        return refused or await handler(request)

    return middleware


def add_health(app: web.Application, name: str) -> None:
    """`/health` and `/ready`: the simulator answers while it runs."""

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "service": name})

    app.router.add_get("/health", health)
    app.router.add_get("/ready", health)


def run(name: str, settings_cls: type[S], build: Callable[[S], web.Application]) -> None:
    """A simulator's `main()`: its settings from the environment, logs as `name`, then the app
    `build` makes from the settings served until SIGTERM or SIGINT."""
    settings = settings_cls()
    setup_logging(name, settings.log_level, settings.log_json)
    web.run_app(
        build(settings),
        host=settings.http_host,
        port=settings.http_port,
        access_log=None,
        print=None,
    )
