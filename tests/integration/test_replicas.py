"""Two replicas of one service (one database, one consumer group, SAGASHOP_REPLICAS=2) on the
real broker and database: their outbox relays never publish a message twice and keep each
key's order, and a sweeper applies a due item once, in whichever replica holds its lease, and
in the other one once the holder is killed."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter, defaultdict

from pymongo import AsyncMongoClient

from launcher.processes import ServiceProcess
from tests.conftest import SpawnService
from tests.support.infra import Infra
from tests.support.kafka import eventually, header, make_topics, publish_all, read_topic

DEMO = "tests.support.demo_svc"
# both relays look at the outbox all the time: without the lease they would both publish
# what they find before either deletes it
BUSY_RELAYS = {"SAGASHOP_OUTBOX_POLL_SECONDS": "0.02", "SAGASHOP_LEASE_SECONDS": "1.5"}


async def two_banks(
    infra: Infra, spawn: SpawnService, **env: str
) -> tuple[ServiceProcess, ServiceProcess, str, str, str]:
    deposits, deposited = f"demo.in.{uuid.uuid4().hex[:8]}", f"demo.out.{uuid.uuid4().hex[:8]}"
    await make_topics(infra.kafka_bootstrap, deposits, deposited)
    name = f"bank-{uuid.uuid4().hex[:8]}"
    shared = {
        "DEMO_IN": deposits,
        "DEMO_OUT": deposited,
        "DEMO_ROLE": "bank",
        "SAGASHOP_REPLICAS": "2",
        **BUSY_RELAYS,
        **env,
    }
    one, two = spawn(DEMO, name=name, env=shared), spawn(DEMO, name=name, env=shared)
    await asyncio.gather(one.wait_ready(), two.wait_ready())
    return one, two, name, deposits, deposited


async def test_two_replicas_publish_every_outbox_message_exactly_once_in_key_order(
    infra: Infra, spawn: SpawnService, mongo: AsyncMongoClient[dict[str, object]]
) -> None:
    one, two, name, deposits, deposited = await two_banks(infra, spawn)
    accounts = [f"acc-{i}" for i in range(12)]
    sent = [
        (accounts[n % 12], {"accountId": accounts[n % 12], "amount": n + 1}) for n in range(240)
    ]
    for start in range(0, len(sent), 40):  # a few rounds, so both replicas commit and relay
        chunk = sent[start : start + 40]
        await publish_all(
            infra.kafka_bootstrap, deposits, [(k, b, str(uuid.uuid4())) for k, b in chunk]
        )
        await asyncio.sleep(0.3)

    records = await read_topic(infra.kafka_bootstrap, deposited, expect=len(sent), timeout=60)

    per_id = Counter(header(r, "message_id") for r in records)
    assert len(per_id) == len(sent), f"{len(per_id)} distinct messages of {len(sent)}"
    assert [mid for mid, n in per_id.items() if n > 1] == [], "published twice"
    amounts: dict[str, list[int]] = defaultdict(list)
    for r in records:
        body = json.loads(r.value)
        amounts[body["accountId"]].append(body["amount"])
    assert all(a == sorted(a) for a in amounts.values()), "a key's messages out of order"
    balances = {a["_id"]: a["balance"] async for a in mongo[name].accounts.find({})}
    assert balances == {k: sum(v) for k, v in amounts.items()}
    assert one.alive() and two.alive()


async def test_a_due_sweep_item_is_applied_once_and_the_other_replica_takes_over_a_killed_holder(
    infra: Infra, spawn: SpawnService, mongo: AsyncMongoClient[dict[str, object]]
) -> None:
    one, two, name, _, _ = await two_banks(infra, spawn, DEMO_SWEEP_PAUSE="0.3")
    due = mongo[name].due
    await due.insert_many([{"_id": f"item-{i}", "done": False, "applied": 0} for i in range(6)])

    async def all_done() -> bool:
        return await due.count_documents({"done": False}) == 0

    await eventually(all_done, timeout=30)
    await asyncio.sleep(1.0)  # a second sweeper, if any ran, would have applied them again
    items = await due.find({}).to_list()
    assert [i["applied"] for i in items] == [1] * 6
    assert len({i["by"] for i in items}) == 1, "two replicas swept at once"

    # the holder dies holding the lease: the other replica sweeps once the lease runs out
    holder = next(p for p in (one, two) if str(p.pid) == str(items[0]["by"]).split(":")[1])
    survivor = two if holder is one else one
    holder.kill()
    await due.insert_one({"_id": "after-the-kill", "done": False, "applied": 0})
    await eventually(all_done, timeout=30)
    late = await due.find_one({"_id": "after-the-kill"})
    assert late is not None and late["applied"] == 1
    assert str(late["by"]).split(":")[1] == str(survivor.pid)
