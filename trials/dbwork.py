"""`python -m trials.dbwork --orders 40`: the database work of one saga order, per collection.

Starts the whole system as `sagashop bench` does (its environment, catalog and customers),
prepares paid orders (not counted), then hands them over one at a time (the bench's saga
scenario at 1 in flight) and reads the database's per-collection counters (`top`) before and
after. What the sweepers do anyway while nothing happens is measured over an idle stretch
first and taken off in proportion to the time. Counts do not depend on the machine's load, so
this runs on a busy machine too. With `--profile` it also records every command of the
window (the database profiler) and prints their shapes per order: which filter, which fields.

Columns: w = writes (insert, update, delete, findAndModify: one per command, however many
documents), r = finds and getMores (what the bench's rd/ord counts), c = other reading
commands (aggregate, count)."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

from launcher.stack import Stack, fresh_state, home
from trials.bench.drivers import Tally, drain, prepare_paid, saga_window
from trials.bench.observe import Observer
from trials.bench.run import BENCH_ENV
from trials.bench.world import build_world

Top = dict[str, Counter[str]]
SKIP_DBS = {"admin", "config", "local"}


async def top(client: AsyncMongoClient[dict[str, Any]]) -> Top:
    totals = (await client.admin.command("top"))["totals"]
    found: Top = {}
    for ns, sections in totals.items():
        if not isinstance(sections, dict) or ns.split(".", 1)[0] in SKIP_DBS:
            continue
        if ns.endswith(".system.profile"):
            continue
        count = {k: v["count"] for k, v in sections.items()}
        found[ns] = Counter(
            w=count["writeLock"],
            r=count["queries"] + count["getmore"],
            c=count["readLock"] - count["queries"] - count["getmore"],
        )
    return found


def minus(after: Top, before: Top) -> Top:
    return {ns: after[ns] - before.get(ns, Counter()) for ns in after}


def shape(entry: dict[str, Any]) -> str:
    """What a profiled command did, without its values."""
    cmd = entry["command"]
    op = next(iter(cmd))
    if op == "insert":
        return f"insert x{len(cmd.get('documents', []))}"
    if op == "update":
        ups = cmd.get("updates", [])
        parts = {
            f"q{sorted(u['q'])} u{sorted(u['u']) if isinstance(u['u'], dict) else 'pipe'}"
            + (" upsert" if u.get("upsert") else "")
            for u in ups
        }
        return f"update x{len(ups)} " + " | ".join(sorted(parts))
    if op == "delete":
        return f"delete x{len(cmd.get('deletes', []))} q{sorted(cmd['deletes'][0]['q'])}"
    if op in ("findAndModify", "findandmodify"):
        return f"findAndModify q{sorted(cmd.get('query', {}))} u{sorted(cmd.get('update', {}))}"
    if op == "find":
        return f"find {sorted(cmd.get('filter', {}))} limit={cmd.get('limit')}"
    if op in ("aggregate", "count"):
        return f"{op} {str(cmd.get('pipeline', cmd.get('query')))[:80]}"
    return op


async def profile(client: AsyncMongoClient[dict[str, Any]], dbs: list[str], level: int) -> None:
    for name in dbs:
        await client[name].command("profile", level)


async def profiled(client: AsyncMongoClient[dict[str, Any]], dbs: list[str]) -> Counter[str]:
    shapes: Counter[str] = Counter()
    for name in dbs:
        async for entry in client[name]["system.profile"].find({}):
            cmd = entry.get("command") or {}
            if not cmd or next(iter(cmd)) in ("commitTransaction", "abortTransaction"):
                continue
            shapes[f"{entry['ns']:<34} {shape(entry)}"] += 1
    return shapes


def table(delta: Top, idle: Top, idle_share: float, orders: int) -> list[str]:
    rows, sums = [], Counter[str]()
    by_db: dict[str, Counter[str]] = {}
    for ns in sorted(delta):
        net = Counter(
            {k: delta[ns][k] - idle.get(ns, Counter())[k] * idle_share for k in ("w", "r", "c")}
        )
        if not any(round(v / orders, 2) for v in net.values()):
            continue
        db = ns.split(".", 1)[0]
        by_db.setdefault(db, Counter()).update(net)
        sums.update(net)
        rows.append((ns, net))

    def row(name: str, net: Counter[str]) -> str:
        w, r, c = (net[k] / orders for k in ("w", "r", "c"))
        return f"{name:<40} {w:6.2f} {r:6.2f} {c:6.2f}"

    out = [f"{'collection':<40} {'w/ord':>6} {'r/ord':>6} {'c/ord':>6}"]
    out += [row(ns, net) for ns, net in rows]
    out += ["", *(row(db, net) for db, net in sorted(by_db.items())), row("(all)", sums)]
    return out


async def measure(orders: int, idle_seconds: float, with_profile: bool, state: Path) -> None:
    stack = Stack(state, extra_env=dict(BENCH_ENV))
    await stack.start()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongo)
    world = observer = None
    try:
        world = await build_world(stack, 1, 12, 7, 60.0, print)
        observer = Observer(stack)
        tally = Tally()
        pool = await prepare_paid(world, orders, 0.1, tally, lambda n: None)
        await observer.settle()
        idle_before, t0 = await top(client), time.monotonic()
        await asyncio.sleep(idle_seconds)
        idle = minus(await top(client), idle_before)
        idle_took = time.monotonic() - t0
        dbs = [d for d in await client.list_database_names() if d not in SKIP_DBS]
        if with_profile:
            await profile(client, dbs, 2)
        before, t1 = await top(client), time.monotonic()
        await saga_window(world, pool, 1, float("inf"), orders, tally)
        await observer.settle()
        delta = minus(await top(client), before)
        took = time.monotonic() - t1
        if with_profile:
            await profile(client, dbs, 0)
        done = len(tally.latencies)
        print(f"\n{done} orders at 1 in flight ({dict(tally.statuses)}), {tally.errors} errors")
        print(f"idle {idle_took:.1f} s taken off in proportion to the {took:.1f} s measured\n")
        print("\n".join(table(delta, idle, took / idle_took, done)))
        if with_profile:
            print("\ncommands per order (window, idle included):")
            for line, n in sorted((await profiled(client, dbs)).items()):
                print(f"{n / done:6.2f}  {line}")
        await drain(world, pool, tally)
    finally:
        if world is not None:
            await world.close()
        if observer is not None:
            await observer.close()
        await client.close()
        await stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=40)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--profile", action="store_true", help="shapes of the commands too")
    args = parser.parse_args()
    with fresh_state(home() / "dbwork" / "stack", "trials.dbwork") as state:
        asyncio.run(measure(args.orders, args.idle_seconds, args.profile, state))


if __name__ == "__main__":
    main()
