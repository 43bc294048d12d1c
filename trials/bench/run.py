"""`sagashop bench`: the whole system (embedded by default) under closed-loop load at several
concurrency levels, in two scenarios (`saga`, `checkout`; see trials/bench/drivers.py), with
the raw capacity of the broker and the database measured first with the same clients at the
same concurrency (trials/bench/capacity.py). Each level reports throughput, latency,
outcomes, errors, the CPU of every process and, from the services' own counters, what one
order costs in database transactions and Kafka messages — and so which share of the
database-bound and broker-bound limits the system reaches. The invariants are checked at the
end. Output: tables on the terminal, a JSON file and a PNG chart under `.sagashop/bench/`."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from launcher.stack import Stack, available_services, fresh_state, home
from trials.bench.assess import bottleneck, idle_result, level_result, scaling, targets
from trials.bench.capacity import Capacity, measure
from trials.bench.drivers import Tally, checkout_window, drain, prepare_paid, saga_window
from trials.bench.observe import CpuSample, Observer, cpu_shares, machine, watched_pids
from trials.bench.report import Progress, draw_chart, print_report, write_json
from trials.bench.world import World, build_world
from trials.invariants.checks import Check, check_all, quiet

BENCH_ENV = {
    # cheap password hashing (customers register and log in during setup), as the tests do
    "SAGASHOP_ARGON2_TIME_COST": "2",
    "SAGASHOP_ARGON2_MEMORY_KIB": "19456",
    # room for every order in a delivery window (7 days x 3 windows x 30 per pickup point
    # would run out in a long run, and walking full windows would slow later levels down):
    # "plenty of delivery slots", as there is plenty of stock
    "SAGASHOP_PICKUP_SLOT_CAPACITY": "1000000",
    "SAGASHOP_COURIER_SLOT_CAPACITY": "1000000",
    # the saga scenario times the hand-over itself (001's `PUT /process` of a paid order), so
    # paid orders wait for it instead of going to orchestra with their payment
    "SAGASHOP_AUTO_HANDOVER": "false",
    # the bench measures the way to CONFIRMED: the warehouse leaves confirmed orders alone (its
    # picking, and the delivery after it, would add load that neither scenario times)
    "SAGASHOP_WAREHOUSE_PACE_SECONDS": "3600",  # the simulator's bound: an hour
}
SCENARIOS = ("saga", "checkout")
CORES = os.cpu_count() or 1


@dataclass
class BenchConfig:
    levels: list[int] = field(default_factory=lambda: [1, 4, 16, 64])
    seconds_per_level: float | None = 30.0
    orders_per_level: int | None = None
    scenarios: tuple[str, ...] = SCENARIOS
    fail_share: float = 0.1
    external: bool = False
    out: Path = field(default_factory=lambda: home() / "bench")
    probe_seconds: float = 3.0
    products: int = 50
    seed: int = 7
    # before each window (and after it, for the counts) the bench waits until the system is
    # quiet: counters still, outboxes and notifications done, no consumer group behind
    quiet_seconds: float = 180.0
    # the CPU of every process with no customer, once the world is built and the system quiet
    # (0: not measured)
    idle_seconds: float = 30.0
    # the saga latency a first level's paid orders are prepared for (pool_size)
    first_latency_s: float = 0.12
    order_timeout: float = 60.0
    smoke: bool = False
    # processes of every worker, one whole run (fresh system) each: [1, 2] measures what a
    # second replica of everything gives (the ratio and the busiest process at each level)
    replicas: list[int] = field(default_factory=lambda: [1])

    @classmethod
    def smoke_run(cls, **overrides: Any) -> BenchConfig:
        """One low level for a few seconds: proves the tool works, measures nothing much."""
        base: dict[str, Any] = {
            "levels": [2],
            "seconds_per_level": 4.0,
            "probe_seconds": 0.5,
            "products": 12,
            "fail_share": 0.25,
            "idle_seconds": 5.0,
            "first_latency_s": 0.5,  # a few orders are enough to prove the tool
            "smoke": True,
        }
        return cls(**{**base, **overrides})


def pool_size(cfg: BenchConfig, level: int, prev: dict[str, Any] | None, cap: Capacity) -> int:
    """How many paid orders to prepare for a timed saga level (preparing one costs about
    what the checkout path costs, so not too many): the rate the level may reach — at most
    its concurrency over the last level's mean latency, the last rate over the share of time
    the busiest consumer loop was busy (that loop cannot be busier than all the time), three
    times the last rate (1.3 times when the machine was already full), and the
    database-bound limit (a first level: its concurrency over `first_latency_s`; at 0.5 s the
    1-in-flight level of a 6-orders/s build ran 10 s of its 30). If the orders run out the
    level ends early and says so; unused ones are handed over afterwards, not timed."""
    if cfg.orders_per_level:
        return cfg.orders_per_level
    seconds = cfg.seconds_per_level or 30.0
    if prev is None or not prev["orders_per_s"]:
        rate = level / cfg.first_latency_s
    else:
        last = prev["orders_per_s"]
        loops = max(prev["consumer_busy"].values(), default=0.0)
        machine_full = prev["cpu_cores"].get("(whole machine)", 0.0) >= 0.9 * CORES
        rate = min(
            level / (prev["latency_s"]["mean"] or 0.5),
            1.1 * last / max(loops, 0.1),
            (1.3 if machine_full else 3.0) * last,
        )
        tx = prev["per_order"]["db_transactions"]
        if tx:
            rate = min(rate, 1.2 * cap.db_transactions_per_s / tx)
    return max(math.ceil(rate * seconds), 2 * level)


async def ticker(label: str, tally: Tally, cfg: BenchConfig, progress: Progress) -> None:
    started = time.monotonic()
    while True:
        elapsed = time.monotonic() - started
        if cfg.orders_per_level:
            fraction = tally.begun / cfg.orders_per_level
        else:
            fraction = elapsed / (cfg.seconds_per_level or 1.0)
        done = len(tally.latencies)
        rate = done / elapsed if elapsed > 0 else 0.0
        extra = f"{elapsed:5.1f}s  {done} done  {rate:5.1f}/s  {tally.errors} errors"
        progress.bar(label, fraction, extra)
        await asyncio.sleep(0.25)


async def run_level(
    world: World,
    observer: Observer,
    scenario: str,
    level: int,
    cfg: BenchConfig,
    cap: Capacity,
    prev: dict[str, Any] | None,
    progress: Progress,
) -> dict[str, Any]:
    tally, label = Tally(), f"{scenario} N={level}"
    pool = None
    if scenario == "saga":
        count = pool_size(cfg, level, prev, cap)

        def prepared(n: int) -> None:
            progress.bar(label, n / count, f"preparing paid orders {n}/{count} (not timed)")

        pool = await prepare_paid(world, count, cfg.fail_share, tally, prepared)
        progress.end()
    before, calm = await observer.settle(cfg.quiet_seconds)
    if not calm.quiet:
        progress.note(
            f"{label}: the system was not quiet after {calm.seconds:g} s ({calm.busy}); the "
            "level runs anyway, its figures marked"
        )
    pids = watched_pids(world.stack)
    cpu_before = CpuSample.take(pids)
    stop_at = time.monotonic() + (cfg.seconds_per_level or math.inf)
    reads_before = world.watch.polls
    bar = asyncio.create_task(ticker(label, tally, cfg, progress))
    try:
        if pool is not None:
            await saga_window(world, pool, level, stop_at, cfg.orders_per_level, tally)
        else:
            await checkout_window(
                world, level, stop_at, cfg.orders_per_level, cfg.fail_share, tally
            )
        cpu_after = CpuSample.take(pids)
        tally.reads = world.watch.polls - reads_before
        at_end = await observer.counters()
    finally:
        bar.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await bar
        progress.end()
    after, calm_after = await observer.settle(cfg.quiet_seconds)
    if pool:
        progress.note(f"{label}: handing over {len(pool)} unused paid orders (not timed)")
        await drain(world, pool, tally)
    result = level_result(
        scenario, level, tally, (cpu_before, cpu_after), (before, at_end, after), cap
    )
    # before the window: earlier work still running competes with the level's orders; after
    # it: the per-order counts miss what the level's orders were still causing
    result["quiet"] = {"before": asdict(calm), "after": asdict(calm_after)}
    lat = result["latency_s"]
    progress.note(
        f"{label}: {result['completed']} orders, {result['orders_per_s']:.2f}/s, "
        f"p50 {lat['p50']}s p99 {lat['p99']}s, {result['errors']} errors"
    )
    return result


async def idle_cost(
    world: World, observer: Observer, cfg: BenchConfig, progress: Progress
) -> dict[str, Any] | None:
    """The CPU every process uses over `cfg.idle_seconds` with no customer, once the system is
    quiet (None when not measured); the bench's own consumer does not fetch meanwhile."""
    if not cfg.idle_seconds:
        return None
    tally = Tally()
    pool = await prepare_paid(world, 1, 0.0, tally, lambda _: None)  # handed over after it
    _, calm = await observer.settle(cfg.quiet_seconds)
    progress.note(f"idle: {cfg.idle_seconds:g} s with no customer, CPU of every process")
    pids = watched_pids(world.stack)
    with world.watch.paused():
        before = CpuSample.take(pids)
        await asyncio.sleep(cfg.idle_seconds)
        after = CpuSample.take(pids)
    result = idle_result(cpu_shares(before, after), cfg.idle_seconds, asdict(calm))
    # what a quiet spell costs the next customer: the first order's saga, as a level times it
    await saga_window(world, pool, 1, math.inf, 1, tally)
    result["first_order_s"] = round(tally.latencies[0], 4) if tally.latencies else None
    return result


async def _measure(
    cfg: BenchConfig,
    state: Path,
    progress: Progress,
    scenarios: dict[str, list[dict[str, Any]]],
    replicas: int = 1,
) -> tuple[dict[int, Capacity], list[Check], dict[str, Any] | None]:
    """Start the system under `state` (`replicas` processes of every worker), measure its
    idle cost, the capacity and every level (into `scenarios`), check the invariants, stop the
    system."""
    every = dict.fromkeys(available_services(), replicas)
    stack = Stack(state, external=cfg.external, extra_env=dict(BENCH_ENV), replicas=every)
    progress.note(f"starting the system under {state}, {replicas} process(es) of every worker")
    world: World | None = None
    observer: Observer | None = None
    try:
        await stack.start()
        world = await build_world(
            stack, max(cfg.levels), cfg.products, cfg.seed, cfg.order_timeout, progress.note
        )
        observer = Observer(stack)
        idle = await idle_cost(world, observer, cfg, progress)
        capacity = await measure(
            stack.kafka, stack.mongo, cfg.levels, cfg.probe_seconds, progress.note
        )
        for scenario in cfg.scenarios:
            done = scenarios.setdefault(scenario, [])
            for level in cfg.levels:
                prev = done[-1] if done else None
                done.append(
                    await run_level(
                        world, observer, scenario, level, cfg, capacity[level], prev, progress
                    )
                )
        progress.note("waiting until nothing is in flight, then checking the invariants")
        await quiet(stack, time.monotonic(), 120)
        checks = await check_all(stack, world.initial)
    finally:
        progress.end()
        if observer is not None:
            await observer.close()
        if world is not None:
            await world.close()
        await stack.stop()
    return capacity, checks, idle


async def run_bench(
    cfg: BenchConfig, progress: Progress | None = None
) -> tuple[dict[str, Any], Path, Path | None]:
    """Start the system, measure, stop it; the report, its JSON path and its chart path."""
    progress = progress or Progress()
    started_at, t0 = time.strftime("%Y-%m-%d %H:%M:%S %z"), time.monotonic()
    info = machine()
    by_count: dict[int, dict[str, list[dict[str, Any]]]] = {}
    held: dict[int, bool] = {}
    idles: dict[int, dict[str, Any] | None] = {}
    for count in cfg.replicas:
        by_count[count] = {}
        # a fresh database and broker for every run, and never two runs on the same files
        with fresh_state(cfg.out / "stack", "sagashop bench") as state:
            measured, count_checks, idles[count] = await _measure(
                cfg, state, progress, by_count[count], count
            )
        held[count] = all(c.ok for c in count_checks)
        if count == cfg.replicas[0]:
            capacity, checks = measured, count_checks
    scenarios = by_count[cfg.replicas[0]]
    errors = sum(
        lv["errors"] for runs in by_count.values() for levels in runs.values() for lv in levels
    )
    report: dict[str, Any] = {
        "tool": "sagashop bench",
        "date": started_at,
        "machine": info,
        "config": {**asdict(cfg), "out": str(cfg.out)},
        "capacity": [capacity[n].as_dict() for n in cfg.levels],
        "scenarios": scenarios,
        # the CPU of every process with no customer (the first replica count's run)
        "idle": idles[cfg.replicas[0]],
        "targets": targets(scenarios, idles[cfg.replicas[0]]),
        "bottleneck": bottleneck(scenarios),
        "invariants": [asdict(c) for c in checks],
        "invariants_hold": all(held.values()),
        # the same levels with every worker run as 1, 2... processes (cfg.replicas)
        "replicas": {
            str(n): {
                "scenarios": runs,
                "bottleneck": bottleneck(runs),
                "invariants_hold": held[n],
                "idle": idles[n],
            }
            for n, runs in by_count.items()
            if n != cfg.replicas[0]
        },
        "scaling": scaling(by_count) if len(by_count) > 1 else [],
        "errors": errors,
        "error_samples": [
            s for lvs in scenarios.values() for lv in lvs for s in lv["error_samples"]
        ],
        "seconds": round(time.monotonic() - t0, 1),
        "notes": [
            "closed loop: each of N customers has one order in flight at a time",
            "latency is read over HTTP; a message on the bus about the order (payment event, "
            "saga outcome) tells the customer when to read, so polling does not load the system",
            "per-order counts come from the services' /metrics and the database's serverStatus, "
            "read before and after each level once the system is quiet",
        ],
    }
    report["ok"] = errors == 0 and report["invariants_hold"]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    png: Path | None = cfg.out / f"bench-{stamp}.png"
    try:
        assert png is not None  # noqa: S101 - type narrowing, not a guard
        report["chart"] = str(draw_chart(report, png))
    except Exception as exc:  # the numbers matter more than the picture
        report["chart_error"] = repr(exc)
        png = None
    path = write_json(report, cfg.out, stamp)
    print_report(report, path, png)
    return report, path, png
