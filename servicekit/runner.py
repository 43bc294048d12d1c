"""Runs a service: the edge first (so /health and /ready answer at once), then the database and
the broker as soon as they answer, then the relay and the background loops, all on one event
loop. SIGTERM/SIGINT: stop consuming, finish the in-flight handler, flush the relay, exit 0.
A stop that cannot finish within `shutdown_grace_seconds` (a handler waiting for a database that
is gone, a broker that no longer answers) is given up: the process exits 1 at once, which is
safe because a crash at any instant loses nothing and applies nothing twice.
A permanent start-up error (a bad setting, an index that conflicts with the one the database
holds) is not waited out: the process says why in one log line and exits EXIT_PERMANENT, which
the launcher's supervisor does not restart."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import ValidationError

from servicekit import migrations
from servicekit.edge import build_edge
from servicekit.logging import setup_logging
from servicekit.service import Loop, Service

log = logging.getLogger(__name__)
EXIT_PERMANENT = os.EX_CONFIG  # 78: "configuration error"; restarting cannot help


class PermanentStartupError(Exception):
    """The service cannot start as configured; the message says why."""


def run(build: Callable[[], Service]) -> None:
    """Entry point of `python -m <service>`."""
    try:
        service = build()
    except ValidationError as exc:
        name = os.environ.get("SAGASHOP_SERVICE_NAME", "service")
        setup_logging(name, "INFO", os.environ.get("SAGASHOP_LOG_JSON") != "false")
        log.error("cannot start: bad settings: %s", settings_problems(exc))
        _exit(EXIT_PERMANENT)
    s = service.settings
    setup_logging(service.name, s.log_level, s.log_json)
    asyncio.run(serve(service, give_up=_exit_now))
    if service.failed:
        _exit(EXIT_PERMANENT)


def settings_problems(exc: ValidationError) -> str:
    """`SAGASHOP_X: why` for each setting pydantic refused, on one line."""
    return "; ".join(
        f"SAGASHOP_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
    )


def _exit(code: int) -> None:
    logging.shutdown()
    sys.exit(code)


def _exit_now() -> None:
    logging.shutdown()
    os._exit(1)


async def serve(
    service: Service,
    stop: asyncio.Event | None = None,
    give_up: Callable[[], None] | None = None,
) -> bool:
    """Run until `stop` (or SIGTERM/SIGINT); True when the stop finished within the grace
    period, else `give_up()` is called (the process entry point exits there) and False."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(build_edge(service), access_log=None, handle_signals=False)
    await runner.setup()
    s = service.settings
    await web.TCPSite(runner, s.http_host, s.http_port).start()
    log.info("edge listening on http://%s:%d", s.http_host, s.http_port)
    tasks: list[asyncio.Task[None]] = []
    starter = asyncio.create_task(start(service, tasks))
    starter.add_done_callback(lambda task: _on_started(task, service, stop))
    await stop.wait()
    grace = s.shutdown_grace_seconds
    log.info("stopping (at most %.0fs)", grace)
    try:
        async with asyncio.timeout(grace):
            await _stop(service, starter, tasks, runner)
    except TimeoutError:
        log.error("could not stop within %.0fs (database or broker gone?): exiting now", grace)
        if give_up is not None:
            give_up()
        return False
    log.info("stopped")
    return True


def _on_started(task: asyncio.Task[None], service: Service, stop: asyncio.Event) -> None:
    if task.cancelled() or task.exception() is None:
        return
    service.failed = str(task.exception())
    log.error("cannot start: %s", service.failed)
    stop.set()


async def _stop(
    service: Service,
    starter: asyncio.Task[None],
    tasks: list[asyncio.Task[None]],
    runner: web.AppRunner,
) -> None:
    service.ready.clear()
    starter.cancel()
    await asyncio.gather(starter, return_exceptions=True)  # its cancellation, not ours
    await service.broker.stop()  # stops consuming; in-flight handlers finish first
    await service.outbox.flush()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await runner.cleanup()
    for close in service.shutdown:
        await close()
    await service.mongo.close()


async def start(service: Service, tasks: list[asyncio.Task[None]]) -> None:
    s = service.settings
    await _until_ok("database", s.mongo_url, lambda: _startup(service))
    await _until_ok("broker", s.kafka_bootstrap, lambda: _start_broker(service))
    tasks.append(asyncio.create_task(service.outbox.run(), name="outbox-relay"))
    tasks.extend(
        asyncio.create_task(_forever(service, fn), name=fn.__name__) for fn in service.loops
    )
    service.ready.set()
    log.info("ready")


async def _startup(service: Service) -> None:
    if not await service.mongo.ping(timeout=2.0):
        raise ConnectionError("no answer to ping")
    await migrations.apply(service.db, service.steps)
    for fn in service.startup:
        await fn(service)


async def _start_broker(service: Service) -> None:
    service.declare_subscriber()
    try:
        async with asyncio.timeout(60):
            await service.broker.start()
    except BaseException:
        with contextlib.suppress(Exception):
            await service.broker.stop()
        raise


async def _until_ok(what: str, where: str, attempt: Callable[[], Awaitable[None]]) -> None:
    """Try until it works; log what we wait for (the edge says not-ready). Only a permanent
    error ends the wait: PermanentStartupError."""
    delay, waited = 0.2, 0.0
    while True:
        try:
            await attempt()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if migrations.is_permanent(exc):
                raise PermanentStartupError(f"{what} at {where}: {exc}") from exc
            if waited == 0.0 or waited > 5.0:
                log.warning("waiting for the %s at %s: %r", what, where, exc)
                waited = 0.0
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 3.0)


async def _forever(service: Service, fn: Loop) -> None:
    """Keep a background loop alive: log a failure and start it again."""
    while True:
        try:
            await fn(service)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background loop %s failed; restarting in 1s", fn.__name__)
        await asyncio.sleep(1.0)
