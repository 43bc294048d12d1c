"""What must hold after any run, read from each service's own database, the bank's ledger and
the broker: nothing stuck, stock and money conserved, nothing applied twice, nothing left in
a dead-letter queue, no consumer behind."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from launcher.money_invariants import MONEY_CHECKS, stuck
from launcher.snapshot import CONFIRMED_OR_LATER, Check, Doc, Snapshot, check, snapshot
from launcher.stack import Stack
from schemas import topics

__all__ = ["Check", "check_all", "quiet"]

STUCK = {"PAID", "IN_PROGRESS"}  # the load always hands paid orders over
# an unpaid order is cancelled by a sweeper that runs every second; one whose deadline passed
# only a moment ago may not have been swept yet when the checks run
SWEEP_GRACE = 10.0


def orders_settled(s: Snapshot) -> Check:
    by_status = Counter(o["status"] for o in s.orders)
    now = time.time()
    bad = [
        f"{o['_id']} {o['status']}"
        for o in s.orders
        if o["status"] in STUCK
        or (o["status"] == "AWAITING_PAYMENT" and overdue(o, now - SWEEP_GRACE))
    ]
    return check("every order final or waiting by its customer's choice", bad, f"{dict(by_status)}")


def overdue(order: Doc, before: float) -> bool:
    expires = order.get("expiresAt")
    return expires is not None and expires.timestamp() < before


def sagas_final(s: Snapshot) -> Check:
    states = Counter(g["state"] for g in s.sagas)
    bad = [g["_id"] for g in s.sagas if g["state"] not in ("CONFIRMED", "CANCELLED")]
    orders = {o["_id"]: o["status"] for o in s.orders}
    bad += [
        f"{g['_id']} saga {g['state']} order {orders.get(g['_id'])}"
        for g in s.sagas
        if (g["state"] == "CONFIRMED") != (orders.get(g["_id"]) in CONFIRMED_OR_LATER)
    ]
    return check(
        "no saga outside a final state, and each agrees with its order", bad, f"{dict(states)}"
    )


def stock_conserved(s: Snapshot, initial: dict[tuple[int, str], int]) -> Check:
    live: Counter[tuple[int, str]] = Counter()
    for r in s.reservations:
        if r["status"] == "RESERVED":
            for i in r["items"]:
                live[(i["productId"], i["warehouseId"])] += i["quantity"]
    bad = []
    for line in s.stocks:
        key = (line["productId"], line["warehouseId"])
        on_hand, reserved, booked = line["onHand"], line["reserved"], line["booked"]
        if initial.get(key, on_hand + booked) != on_hand + booked:
            bad.append(f"{key}: initial {initial.get(key)} != on-hand {on_hand} + booked {booked}")
        if reserved != live[key]:
            bad.append(f"{key}: reserved {reserved} != live reservations {live[key]}")
        if (
            min(on_hand, reserved, booked, line["available"]) < 0
            or line["available"] != on_hand - reserved
        ):
            bad.append(f"{key}: {on_hand}/{reserved}/{booked}/{line['available']}")
    demand: Counter[int] = Counter()
    for o in s.goods_orders:
        if o["status"] in CONFIRMED_OR_LATER:
            for item in o["items"]:
                demand[item["productId"]] += item["quantity"]
    booked_units: Counter[int] = Counter()
    for line in s.stocks:
        booked_units[line["productId"]] += line["booked"]
    bad += [
        f"product {p}: booked {booked_units[p]} != confirmed {demand[p]}"
        for p in set(demand) | set(booked_units)
        if demand[p] != booked_units[p]
    ]
    return check(
        "stock conserved per product and warehouse",
        bad,
        f"{len(s.stocks)} lines, {sum(booked_units.values())} units booked",
    )


def cases_match(s: Snapshot) -> Check:
    status = {o["_id"]: o["status"] for o in s.goods_orders}
    bad = []
    for name, docs, dead in (
        ("delivery case", s.cases, "cancelled"),
        ("picking case", s.picking, "cancelled"),
    ):
        for d in docs:
            confirmed = status.get(d["_id"]) in CONFIRMED_OR_LATER
            if confirmed == (d["status"] == dead):
                bad.append(f"{name} {d['_id']} {d['status']} for a {status.get(d['_id'])} order")
        have = {d["_id"] for d in docs if d["status"] != dead}
        bad += [
            f"confirmed order {o} without a {name}"
            for o, st in status.items()
            if st in CONFIRMED_OR_LATER and o not in have
        ]
    return check(
        "one delivery and one picking case per confirmed order, none live for others",
        bad,
        f"{len(s.cases)} delivery cases, {len(s.picking)} picking cases",
    )


def notified_once(s: Snapshot) -> Check:
    """Exactly once, both ways, counted where the messages arrived (`s.sent`: the SMTP
    server's list of kept e-mails, `sent/mail.jsonl`, and the SMS gateway's store of accepted
    messages, `sent/sms-gateway.jsonl`), not in our own log: every logged notification arrived
    once (none twice, none stuck, none arrived that was never logged; one the customer turned
    off arrived never), every user got one greeting and every finished saga one outcome
    notification (a lost message shows as a missing one)."""
    logged = {str(n["_id"]): n for n in s.notifications}
    bad = [f"{key} arrived {n} times" for key, n in s.sent.items() if n > 1]
    bad += [f"{key} arrived but never logged" for key in s.sent if key not in logged]
    expected = {"sent": 1, "skipped": 0}
    bad += [
        f"{key} ({n['kind']}) {n['status']}, arrived {s.sent.get(key, 0)} times"
        for key, n in logged.items()
        if s.sent.get(key, 0) != expected.get(n["status"], -1)
    ]
    greetings = Counter(
        str(n["username"]).lower() for n in s.notifications if n["kind"] == "registration"
    )
    bad += [
        f"user {u['_id']}: {greetings.get(u['_id'], 0)} greetings"
        for u in s.users
        if u.get("phone") and greetings.get(u["_id"], 0) != 1
    ]
    outcomes = Counter(
        n["payload"].get("orderId") for n in s.notifications if n["kind"] == "order_outcome"
    )
    bad += [
        f"order {g['_id']}: {outcomes.get(g['_id'], 0)} outcome notifications"
        for g in s.sagas
        if g["state"] in ("CONFIRMED", "CANCELLED") and outcomes.get(g["_id"], 0) != 1
    ]
    return check(
        "each customer notification for an event sent exactly once",
        bad,
        f"{sum(s.sent.values())} sent, {len(s.notifications)} logged, "
        f"{sum(greetings.values())} greetings, {sum(outcomes.values())} outcomes",
    )


def outboxes_empty(s: Snapshot) -> Check:
    bad = [f"{n}: {c} unsent" for n, c in s.outboxes.items() if c]
    return check("every outbox relayed", bad, f"{s.outboxes}")


async def dead_letters(stack: Stack, poisoned: int = 0) -> Check:
    counts = await topic_sizes(stack.kafka, [t.dlq for t in topics.ALL])
    total = sum(counts.values())
    bad = [] if total == poisoned else [f"{t}: {n}" for t, n in counts.items() if n]
    return check(
        "nothing in a .dlq topic but what was poisoned on purpose",
        bad,
        f"{total} dead letters, {poisoned} poisoned on purpose",
    )


async def topic_sizes(bootstrap: str, names: list[str]) -> dict[str, int]:
    """Records per topic, counted by reading them (the broker's end offsets are not trusted)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        parts = [
            TopicPartition(n, p)
            for n in names
            for p in (consumer.partitions_for_topic(n) or range(topics.PARTITIONS))
        ]
        consumer.assign(parts)
        counts: Counter[str] = Counter()
        for _ in range(3):
            batch = await consumer.getmany(timeout_ms=500)
            for tp, records in batch.items():
                counts[tp.topic] += len(records)
        return {n: counts[n] for n in names}
    finally:
        await consumer.stop()


async def lag(stack: Stack) -> dict[str, int]:
    """Per service: records its group has not committed yet, from the committed offsets and
    the high-water mark seen when fetching."""
    behind: dict[str, int] = {}
    for service in stack.names:
        wanted = [t.name for t in topics.ALL if service in t.consumers]
        if not wanted:
            continue
        group = AIOKafkaConsumer(
            bootstrap_servers=stack.kafka, group_id=service, enable_auto_commit=False
        )
        reader = AIOKafkaConsumer(bootstrap_servers=stack.kafka, enable_auto_commit=False)
        await group.start()
        await reader.start()
        try:
            parts = [TopicPartition(n, p) for n in wanted for p in range(topics.PARTITIONS)]
            committed = {tp: (await group.committed(tp)) or 0 for tp in parts}
            reader.assign(parts)
            for tp, offset in committed.items():
                reader.seek(tp, offset)
            await reader.getmany(timeout_ms=500)
            behind[service] = sum(
                max((reader.highwater(tp) or offset) - offset, 0)
                for tp, offset in committed.items()
            )
        finally:
            await group.stop()
            await reader.stop()
    return behind


async def quiet(stack: Stack, last_kill: float, timeout: float) -> float | None:
    """Wait until no order is in flight, no saga open, no outbox pending and no consumer
    behind; the seconds from the last kill to then (None if it never got quiet)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = await snapshot(stack)
        busy = (
            not orders_settled(s).ok
            or not sagas_final(s).ok
            or any(s.outboxes.values())
            or any(stuck(p) for p in s.payments)  # a refund still on its way
        )
        if not busy and not any((await lag(stack)).values()):
            return round(time.monotonic() - last_kill, 1)
        await asyncio.sleep(2)
    return None


async def check_all(
    stack: Stack, initial: dict[tuple[int, str], int], poisoned: int = 0
) -> list[Check]:
    s = await snapshot(stack)
    pure: list[Callable[[Snapshot], Check]] = [
        orders_settled,
        sagas_final,
        *MONEY_CHECKS,
        cases_match,
        notified_once,
        outboxes_empty,
    ]
    checks = [fn(s) for fn in pure]
    checks.insert(2, stock_conserved(s, initial))
    checks.append(await dead_letters(stack, poisoned))
    behind = await lag(stack)
    checks.append(
        check(
            "consumer groups have no lag",
            [f"{k}: {v}" for k, v in behind.items() if v],
            f"{behind}",
        )
    )
    return checks
