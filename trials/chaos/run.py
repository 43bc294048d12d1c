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
import json
import logging
import random
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from launcher.processes import ServiceProcess
from launcher.stack import Stack, fresh_state, home
from schemas import topics
from trials.invariants.checks import Check, check_all, quiet
from trials.invariants.snapshot import Snapshot, snapshot
from trials.shoppers.catalog import prepare
from trials.shoppers.load import Customer, LoadStats
from trials.shoppers.load_admin import ReturnsClerk

log = logging.getLogger("sagashop.chaos")
CRASH_POINTS = "tx.before_commit@0.01,outbox.after_commit@0.01"
CHAOS_ENV = {
    # short enough that a killed participant sometimes misses it: compensation under fire
    "SAGASHOP_SAGA_TIMEOUT_SECONDS": "10",
    "SAGASHOP_PAYMENT_TIMEOUT_SECONDS": "30",
    "SAGASHOP_LOG_JSON": "true",
    # a customer leaves some orders unpaid and moves on: the hoarding cap is not under test
    "SAGASHOP_MAX_UNPAID_ORDERS": "20",
    # every order lives its whole life within the run: each step about a second, and a share
    # of each bad ending (damaged while picking, failed deliveries, lost and unclaimed parcels)
    "SAGASHOP_WAREHOUSE_PACE_SECONDS": "1",
    "SAGASHOP_WAREHOUSE_DAMAGED_SHARE": "0.05",
    "SAGASHOP_CARRIER_PACE_SECONDS": "1",
    "SAGASHOP_CARRIER_FAILED_ATTEMPT_SHARE": "0.15",
    "SAGASHOP_CARRIER_MAX_ATTEMPTS": "2",
    "SAGASHOP_CARRIER_LOST_SHARE": "0.05",
    "SAGASHOP_CARRIER_LOST_AFTER_SECONDS": "3",
    "SAGASHOP_CARRIER_RETRY_SECONDS": "2",
    "SAGASHOP_TRACKING_TIMEOUT_SECONDS": "8",
    "SAGASHOP_PICKUP_TRANSIT_SECONDS": "1",
    "SAGASHOP_PICKUP_COLLECT_SECONDS": "2",
    "SAGASHOP_PICKUP_UNCLAIMED_SHARE": "0.1",
    "SAGASHOP_PICKUP_STORAGE_SECONDS": "10",
}
# the neighbours' simulators driving the orders after payment: killed like the services
FULFILMENT_SIMULATORS = ("warehouse_sim", "carrier_sim", "pickup_sim")


@dataclass
class ChaosConfig:
    orders: int = 300
    concurrency: int = 12
    duration: float = 900.0  # the load stops after this even if orders remain
    kill_interval: tuple[float, float] = (2.0, 6.0)
    seed: int = 42
    services: list[str] | None = None  # which may be killed (default: every service)
    mongo_kill: bool = True
    bank_faults: bool = True
    cancel_share: float = 0.1  # confirmed orders their customer cancels
    returns: int = 3  # delivered orders an admin accepts back
    quiet_timeout: float = 240.0
    external: bool = False
    products: int = 30
    patience: float = 600.0  # how long a customer waits for an order to settle
    argon2_fast: bool = True


@dataclass
class Event:
    at: float
    what: str
    target: str


@dataclass
class ChaosReport:
    config: dict[str, Any]
    schedule: list[Event] = field(default_factory=list)
    fates: dict[str, int] = field(default_factory=dict)
    ends: dict[str, int] = field(default_factory=dict)  # orders by final status
    cases: dict[str, int] = field(default_factory=dict)  # picking and delivery cases by end
    means: dict[str, int] = field(default_factory=dict)  # payments and top-ups by means
    retries: int = 0
    errors: list[str] = field(default_factory=list)
    quiet_after_last_kill_s: float | None = None
    poisoned: int = 0
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and all(c.ok for c in self.checks)


class Monkey:
    """Kills service processes at random moments and restarts them after a random delay;
    every killable service at least once, sometimes two at once, sometimes the same again
    right after its restart."""

    def __init__(self, stack: Stack, cfg: ChaosConfig, rng: random.Random, t0: float) -> None:
        self.stack, self.cfg, self.rng, self.t0 = stack, cfg, rng, t0
        self.victims = cfg.services or [
            *stack.names,
            *(n for n in FULFILMENT_SIMULATORS if n in stack.procs),
        ]
        self.schedule: list[Event] = []
        self.pending = list(self.victims)
        rng.shuffle(self.pending)
        self.last_kill = t0

    def note(self, what: str, target: str) -> None:
        event = Event(round(time.monotonic() - self.t0, 2), what, target)
        self.schedule.append(event)
        log.warning("chaos t=%.1fs %s %s", event.at, what, target)

    async def kill(self, name: str) -> None:
        """The supervisor leaves `name` alone until the monkey has restarted it."""
        proc = self.stack.procs[name]
        self.stack.expected_down.add(name)
        try:
            await self._kill_and_restart(proc, name, "SIGKILL", (0.3, 4.0))
            if self.rng.random() < 0.15:  # again, right after its restart
                await asyncio.sleep(self.rng.uniform(0.2, 1.5))
                await self._kill_and_restart(proc, name, "SIGKILL again", (0.3, 2.0))
        finally:
            self.stack.expected_down.discard(name)

    async def _kill_and_restart(
        self, proc: ServiceProcess, name: str, what: str, pause: tuple[float, float]
    ) -> None:
        proc.kill()
        self.last_kill = time.monotonic()
        self.note(what, name)
        await asyncio.sleep(self.rng.uniform(*pause))
        proc.restarts += 1
        if self.rng.random() < 0.15:
            # this life ends by itself at a chosen instant: right before or right after a
            # commit, where a wrong order of "write, then publish" shows
            proc.start(SAGASHOP_FAULTS=CRASH_POINTS)
            self.note("restart armed", name)
        else:
            proc.start()
            self.note("restart", name)

    async def run(self, stop: asyncio.Event) -> None:
        kills: list[asyncio.Task[None]] = []
        while not stop.is_set():
            await asyncio.sleep(self.rng.uniform(*self.cfg.kill_interval))
            if stop.is_set():
                break
            first = self.pending.pop() if self.pending else self.rng.choice(self.victims)
            targets = {first}
            if self.rng.random() < 0.25:
                targets.add(self.rng.choice(self.victims))
            busy = {t.get_name() for t in kills if not t.done()}
            for target in targets - busy:
                kills.append(asyncio.create_task(self.kill(target), name=target))
        await asyncio.gather(*kills)

    async def kill_database(self) -> None:
        if self.stack.infra is None:
            return
        self.note("SIGKILL", "mongodb")
        self.last_kill = time.monotonic()
        await self.stack.infra.restart_mongo()
        self.note("restart", "mongodb")

    async def slow_bank(self, seconds: float) -> None:
        url = self.stack.procs["bank_sim"].url if "bank_sim" in self.stack.procs else None
        if url is None:
            return
        async with aiohttp.ClientSession(headers=self.stack.bank_admin_headers()) as http:
            self.note("slow + timing out", "bank_sim")
            await configure_bank(http, url, latencyMs=1500, timeoutRate=0.2)
            await asyncio.sleep(seconds)
            await configure_bank(http, url, latencyMs=0, timeoutRate=0.0)
            self.note("healthy again", "bank_sim")


async def configure_bank(http: aiohttp.ClientSession, url: str, **config: float) -> None:
    """A refused change (a wrong token, a bound) must stop the run, not leave the bank
    healthy while the report says it was slow."""
    async with http.put(f"{url}/config", json=config) as resp:
        resp.raise_for_status()


async def run_chaos(cfg: ChaosConfig, state: Path | None = None) -> ChaosReport:
    rng = random.Random(cfg.seed)  # noqa: S311 - seeded chaos run, not security
    env = dict(CHAOS_ENV)
    if cfg.argon2_fast:
        env.update(SAGASHOP_ARGON2_TIME_COST="2", SAGASHOP_ARGON2_MEMORY_KIB="19456")
    with contextlib.ExitStack() as held:
        if state is None:
            # the invariants read the databases whole: every run starts from empty ones
            state = held.enter_context(fresh_state(home() / "chaos" / "stack", "sagashop chaos"))
        return await _run(cfg, rng, env, state)


async def _run(
    cfg: ChaosConfig, rng: random.Random, env: dict[str, str], state: Path
) -> ChaosReport:
    stack = Stack(state, external=cfg.external, extra_env=env)
    report = ChaosReport(config=asdict(cfg))
    await stack.start()
    try:
        if cfg.external:
            await require_empty(stack.mongo)
        catalog = await prepare(stack, cfg.products, cfg.seed)
        report.poisoned = await poison(stack.kafka)
        await run_load(stack, cfg, rng, catalog.products, catalog.scarce, report)
        report.checks = await check_all(stack, catalog.initial, report.poisoned, whole_life=True)
        report.ends, report.cases = ends_of(await snapshot(stack))
    finally:
        await stack.stop()
    return report


def ends_of(s: Snapshot) -> tuple[dict[str, int], dict[str, int]]:
    """Orders by final status; picking and delivery cases by theirs (damaged, returned, lost:
    the bad endings the simulators chose)."""
    cases = Counter(f"picking {p['status']}" for p in s.picking)
    cases.update(f"delivery {c['status']}" for c in s.cases)
    return dict(Counter(o["status"] for o in s.orders)), dict(cases)


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
    stop = asyncio.Event()
    supervisor = asyncio.create_task(stack.supervise(stop))
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
    await returns
    report.quiet_after_last_kill_s = await quiet(
        stack, monkey.last_kill, cfg.quiet_timeout, whole_life=True
    )
    supervisor.cancel()
    report.schedule, report.fates = monkey.schedule, dict(stats.orders)
    report.means = dict(stats.means)
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


async def timed_faults(monkey: Monkey, cfg: ChaosConfig) -> None:
    """The database dies once early in the run; later the bank slows down for a while."""
    await asyncio.sleep(20)
    if cfg.mongo_kill:
        await monkey.kill_database()
    await asyncio.sleep(20)
    if cfg.bank_faults:
        await monkey.slow_bank(15)


def print_report(report: ChaosReport, path: Path) -> None:
    print(f"\nseed {report.config['seed']}; {len(report.schedule)} chaos events:")
    for e in report.schedule:
        print(f"  t={e.at:7.2f}s  {e.what:<18} {e.target}")
    print("\norders by fate: " + ", ".join(f"{k}: {v}" for k, v in sorted(report.fates.items())))
    print("orders by end: " + ", ".join(f"{k}: {v}" for k, v in sorted(report.ends.items())))
    print("cases by end: " + ", ".join(f"{k}: {v}" for k, v in sorted(report.cases.items())))
    print("payments by means: " + ", ".join(f"{k}: {v}" for k, v in sorted(report.means.items())))
    print(f"step retries while services were down: {report.retries}")
    print(f"quiet {report.quiet_after_last_kill_s}s after the last kill")
    print("\ninvariants:")
    for c in report.checks:
        print(f"  [{'ok' if c.ok else 'BROKEN'}] {c.name}: {c.detail}")
    for err in report.errors[:20]:
        print(f"  error: {err}")
    print(f"\n{'ALL INVARIANTS HOLD' if report.ok else 'INVARIANTS BROKEN'}; report: {path}")


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


def write_report(report: ChaosReport, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"chaos-{time.strftime('%Y%m%d-%H%M%S')}-seed{report.config['seed']}.json"
    body = {**asdict(report), "ok": report.ok}
    path.write_text(json.dumps(body, indent=2, default=str))
    return path
