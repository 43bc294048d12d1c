"""`sagashop chaos`: the whole system under realistic load (card, saved-card, QR, wallet and
gift-card payments, top-ups, gift-card purchases and activations; orders picked by the
warehouse and delivered by the carriers and pickup points at a fast pace, some damaged, failed,
lost or left unclaimed, some cancelled by their customer and some returned to an admin) while
random service and simulator processes are SIGKILLed and restarted, the database is killed once
and the bank turns slow; once every order has ended, every invariant is checked
(trials/invariants/checks.py) and written to a JSON report."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from launcher.stack import Stack, fresh_state, home
from schemas import topics
from trials.chaos.config import ChaosConfig
from trials.chaos.monkey import Monkey, timed_faults
from trials.chaos.report import ChaosReport, ends_of
from trials.invariants.checks import check_all, quiet
from trials.invariants.snapshot import snapshot
from trials.shoppers.catalog import prepare
from trials.shoppers.load import Customer, LoadStats
from trials.shoppers.load_admin import ReturnsClerk

log = logging.getLogger("sagashop.chaos")


async def run_chaos(cfg: ChaosConfig, state: Path | None = None) -> ChaosReport:
    rng = random.Random(cfg.seed)  # noqa: S311 - seeded chaos run, not security
    env = cfg.service_env()
    with contextlib.ExitStack() as held:
        if state is None:
            # the invariants read the databases whole: every run starts from empty ones
            state = held.enter_context(fresh_state(home() / "chaos" / "stack", "sagashop chaos"))
        return await _run(cfg, rng, env, state)


async def _run(
    cfg: ChaosConfig, rng: random.Random, env: dict[str, str], state: Path
) -> ChaosReport:
    stack = Stack(state, external=cfg.external, extra_env=env, replicas=cfg.replicas)
    report = ChaosReport(config=asdict(cfg))
    await stack.start()
    try:
        if cfg.external:
            await require_empty(stack.mongo)
        catalog = await prepare(stack, cfg.products, cfg.seed)
        report.poisoned = await poison(stack.kafka)
        report.processes = stack.describe()["services"]
        await run_load(stack, cfg, rng, catalog.products, catalog.scarce, report)
        report.checks = await check_all(stack, catalog.initial, report.poisoned, whole_life=True)
        report.ends, report.cases = ends_of(await snapshot(stack))
    finally:
        await stack.stop()
    return report


async def poison(bootstrap: str) -> int:
    """Messages that must end in the DLQ (and only those): broken product feed entries."""
    bad = [
        b"{not json",
        b'{"id": 5, "name": "", "cost": -1}',
        b'{"id": 6, "name": "x", "cost": 1, "tax": 0, "version": 1}',
    ]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for body in bad:
            await producer.send_and_wait(topics.PRODUCT_FEED.name, body, key=b"poison")
    finally:
        await producer.stop()
    return len(bad)


async def run_load(
    stack: Stack,
    cfg: ChaosConfig,
    rng: random.Random,
    catalog: list[int],
    scarce: list[int],
    report: ChaosReport,
) -> None:
    stats = LoadStats()
    t0 = time.monotonic()
    monkey = Monkey(stack, cfg, random.Random(rng.random()), t0)  # noqa: S311 - seeded chaos run, not security
    stop = asyncio.Event()  # the load, the monkey and the clerk stop
    # the supervisor keeps restarting what dies until the system is quiet: a process restarted
    # armed crashes itself at a commit, possibly after the load ended, and an order it carried
    # waits for it (with `stop` it gave up at the end of the load, and the run never went quiet)
    settled = asyncio.Event()
    supervisor = asyncio.create_task(stack.supervise(settled))
    started = 0

    def next_order() -> bool:
        nonlocal started
        if started >= cfg.orders or time.monotonic() - t0 > cfg.duration:
            return False
        started += 1
        return True

    customers = [
        Customer(
            stack.urls,
            random.Random(rng.random()),  # noqa: S311 - seeded chaos run, not security
            catalog,
            scarce,
            stats,
            cfg.patience,
            sent=stack.state / "sent",
            cancel_share=cfg.cancel_share,
        )
        for _ in range(cfg.concurrency)
    ]
    clerk = ReturnsClerk(stack, random.Random(rng.random()), stats, cfg.returns)  # noqa: S311 - seeded chaos run, not security
    returns = asyncio.create_task(clerk.run(stop))
    chaos = asyncio.create_task(monkey.run(stop))
    faults = asyncio.create_task(timed_faults(monkey, cfg))
    progress = asyncio.create_task(report_progress(stats, monkey, cfg.orders))
    await asyncio.gather(*(c.shop(cfg.orders, next_order) for c in customers))
    stop.set()
    faults.cancel()
    progress.cancel()
    await asyncio.gather(chaos, faults, return_exceptions=True)
    await monkey.watch.close()
    await returns
    report.quiet_after_last_kill_s = await quiet(
        stack, monkey.last_kill, cfg.quiet_timeout, whole_life=True
    )
    settled.set()
    await supervisor
    report.schedule, report.fates = monkey.schedule, dict(stats.orders)
    report.means, report.takeovers = dict(stats.means), monkey.watch.takeovers
    report.retries, report.errors = stats.retries, stats.errors


async def report_progress(stats: LoadStats, monkey: Monkey, orders: int) -> None:
    while True:
        await asyncio.sleep(15)
        kills = sum(1 for e in monkey.schedule if e.what.startswith("SIGKILL"))
        log.warning(
            "chaos progress: %d of %d orders done, %d kills, %d step retries",
            sum(stats.orders.values()),
            orders,
            kills,
            stats.retries,
        )


async def require_empty(mongo_url: str) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    try:
        if await client["order_svc"].orders.estimated_document_count():
            raise RuntimeError(
                "chaos --external needs empty service databases (the invariants read them "
                "whole); drop them first"
            )
    finally:
        await client.close()
