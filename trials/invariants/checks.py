"""What must hold after any run, read from each service's own database, the bank's ledger and
the broker: nothing stuck, stock and money conserved, nothing applied twice, nothing left in
a dead-letter queue, no consumer behind."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from launcher.stack import Stack
from schemas import topics
from trials.invariants.fulfilment import (
    FULFILMENT_CHECKS,
    orders_ended,
    stock_lines_add_up,
)
from trials.invariants.money import MONEY_CHECKS, stuck
from trials.invariants.snapshot import CONFIRMED_OR_LATER, Check, Doc, Snapshot, check, snapshot

__all__ = ["Check", "check_all", "quiet"]

STUCK = {"PAID", "IN_PROGRESS"}  # order_svc hands paid orders over by itself
SAGA_ENDED = ("CONFIRMED", "CANCELLED", "RETURNED")
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
    """A saga confirmed an order still on its way (or delivered); one that compensated (a
    refused CONFIRM, or a cancellation or return afterwards) left it cancelled, returned or
    failed."""
    states = Counter(g["state"] for g in s.sagas)
    bad = [g["_id"] for g in s.sagas if g["state"] not in SAGA_ENDED]
    orders = {o["_id"]: o["status"] for o in s.orders}
    bad += [
        f"{g['_id']} saga {g['state']} order {orders.get(g['_id'])}"
        for g in s.sagas
        if (g["state"] == "CONFIRMED") != (orders.get(g["_id"]) in CONFIRMED_OR_LATER)
    ]
    return check(
        "no saga outside a final state, and each agrees with its order", bad, f"{dict(states)}"
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
    expected = {"SENT": 1, "SKIPPED": 0}
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


async def quiet(
    stack: Stack, last_kill: float, timeout: float, whole_life: bool = False
) -> float | None:
    """Wait until no order is in flight (with `whole_life`: every order has ended), no saga
    open, no outbox, refund or notification pending and no consumer behind; the seconds from
    the last kill to then (None if it never got quiet)."""
    settled = orders_ended if whole_life else orders_settled
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = await snapshot(stack)
        busy = (
            not settled(s).ok
            or not sagas_final(s).ok
            or any(s.outboxes.values())
            or any(stuck(p) for p in s.payments)  # a refund still on its way
            # a sender killed between sending and recording: retried once its lease runs out
            or any(n["status"] in ("PENDING", "SENDING") for n in s.notifications)
        )
        if not busy and not any((await lag(stack)).values()):
            return round(time.monotonic() - last_kill, 1)
        await asyncio.sleep(2)
    return None


async def check_all(
    stack: Stack,
    initial: dict[tuple[int, str], int],
    poisoned: int = 0,
    whole_life: bool = False,
) -> list[Check]:
    """Every invariant on one snapshot. `whole_life`: the run waited for every order to end
    (chaos), so the lifecycle checks hold in full; otherwise (bench) orders may still be on
    their way through picking and delivery."""
    s = await snapshot(stack)
    pure: list[Callable[[Snapshot], Check]] = [
        orders_settled,
        sagas_final,
        *MONEY_CHECKS,
        *FULFILMENT_CHECKS,
        notified_once,
        outboxes_empty,
    ]
    if not whole_life:
        pure.remove(orders_ended)
    checks = [fn(s) for fn in pure]
    checks.insert(2, stock_lines_add_up(s, initial, per_product=whole_life))
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
