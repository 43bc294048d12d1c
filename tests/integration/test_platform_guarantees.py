"""The platform's promises, proved with a demo service on the real broker and database:
outbox + inbox give exactly-once effects across crashes, poison messages go to the DLQ, and a
service waits for missing infrastructure instead of crashing."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pymongo
import pytest

from launcher.embedded import EmbeddedInfra, free_port, kafka_server, mongo_server
from launcher.processes import ready_status
from servicekit.errors import StaleWrite
from servicekit.unit import batch_unit, deferred, find_by_id, preload, remember
from tests.conftest import SpawnService
from tests.support.infra import Infra
from tests.support.kafka import (
    eventually,
    header,
    make_topics,
    publish,
    publish_all,
    read_topic,
)
from trials.bench.observe import TRANSACTIONS, parse_metrics

DEMO = "tests.support.demo_svc"


async def demo_pair(infra: Infra, spawn: SpawnService, **bank_env: str):
    deposits, deposited = f"demo.in.{uuid.uuid4().hex[:8]}", f"demo.out.{uuid.uuid4().hex[:8]}"
    await make_topics(infra.kafka_bootstrap, deposits, deposited)
    env = {"DEMO_IN": deposits, "DEMO_OUT": deposited}
    bank = spawn(DEMO, env={**env, "DEMO_ROLE": "bank"}, **bank_env)
    ledger = spawn(DEMO, env={**env, "DEMO_ROLE": "ledger"})
    await asyncio.gather(bank.wait_ready(), ledger.wait_ready())
    return bank, ledger, deposits, deposited


async def test_message_committed_before_a_crash_is_published_after_restart_and_applied_once(
    infra: Infra, spawn: SpawnService, mongo
) -> None:
    bank, ledger, deposits, deposited = await demo_pair(
        infra, spawn, SAGASHOP_FAULTS="outbox.after_commit"
    )
    await publish(infra.kafka_bootstrap, deposits, {"accountId": "acc-1", "amount": 7}, key="acc-1")

    # the bank commits the deposit and its outbox message, then dies before publishing
    await eventually(lambda: asyncio.sleep(0, result=not bank.alive()), timeout=20)
    bank_db, ledger_db = mongo[bank.name], mongo[ledger.name]
    assert (await bank_db.accounts.find_one({"_id": "acc-1"}))["balance"] == 7
    assert await bank_db.outbox.count_documents({}) == 1
    assert await ledger_db.ledger.count_documents({}) == 0

    bank.restart()  # without the fault this time
    await bank.wait_ready()
    await eventually(lambda: ledger_db.ledger.count_documents({}), timeout=20)
    await asyncio.sleep(2)  # room for a duplicate to show up if there were one

    assert await ledger_db.ledger.count_documents({}) == 1
    # the deposit was redelivered after the crash (never acked) and skipped by the inbox
    assert (await bank_db.accounts.find_one({"_id": "acc-1"}))["balance"] == 7
    assert await bank_db.outbox.count_documents({}) == 0
    assert len(await read_topic(infra.kafka_bootstrap, deposited, expect=1)) == 1


async def test_the_same_message_delivered_twice_changes_state_once(
    infra: Infra, spawn: SpawnService, mongo
) -> None:
    bank, ledger, deposits, _ = await demo_pair(infra, spawn)
    body = {"accountId": "acc-2", "amount": 5}
    await publish(infra.kafka_bootstrap, deposits, body, key="acc-2", message_id="dup-1")
    await publish(infra.kafka_bootstrap, deposits, body, key="acc-2", message_id="dup-1")
    await publish(infra.kafka_bootstrap, deposits, {**body, "amount": 1}, key="acc-2")

    ledger_db = mongo[ledger.name]
    await eventually(lambda: ledger_db.ledger.count_documents({}), timeout=20)
    await eventually(lambda: _eq(ledger_db.ledger.count_documents({}), 2), timeout=20)
    await asyncio.sleep(1)
    assert (await mongo[bank.name].accounts.find_one({"_id": "acc-2"}))["balance"] == 6
    assert await ledger_db.ledger.count_documents({}) == 2


async def test_a_fetched_batch_is_applied_in_one_transaction_and_a_redelivered_one_once(
    infra: Infra, spawn: SpawnService, mongo
) -> None:
    """40 deposits waiting when the bank starts come in one fetch: they are applied together
    (far fewer commits than messages). 10 of them come again with the same message ids, some
    inside the same batch and some after it was committed: nothing is applied twice."""
    deposits, deposited = f"demo.in.{uuid.uuid4().hex[:8]}", f"demo.out.{uuid.uuid4().hex[:8]}"
    await make_topics(infra.kafka_bootstrap, deposits, deposited)
    first = [
        (f"acc-b{i % 4}", {"accountId": f"acc-b{i % 4}", "amount": 1}, f"b-{i}") for i in range(40)
    ]
    await publish_all(infra.kafka_bootstrap, deposits, first + first[:5])
    env = {"DEMO_IN": deposits, "DEMO_OUT": deposited}
    bank = spawn(DEMO, env={**env, "DEMO_ROLE": "bank"})
    ledger = spawn(DEMO, env={**env, "DEMO_ROLE": "ledger"})
    await asyncio.gather(bank.wait_ready(), ledger.wait_ready())
    bank_db, ledger_db = mongo[bank.name], mongo[ledger.name]
    await eventually(lambda: _eq(ledger_db.ledger.count_documents({}), 40), timeout=30)
    await publish_all(infra.kafka_bootstrap, deposits, first[10:15])
    await asyncio.sleep(2)  # room for the redelivered ones to be (wrongly) applied

    balances = {a["_id"]: a["balance"] async for a in bank_db.accounts.find()}
    assert balances == {f"acc-b{i}": 10 for i in range(4)}
    assert await ledger_db.ledger.count_documents({}) == 40
    commits = parse_metrics(await _get(f"{bank.url}/metrics"))[0][TRANSACTIONS]
    assert commits < 20, commits


@contextlib.asynccontextmanager
async def _batch_transaction(
    client: pymongo.AsyncMongoClient[dict[str, Any]],
) -> AsyncIterator[pymongo.asynchronous.client_session.AsyncClientSession]:
    """A transaction scoped as a consumer's batch (its reads and deferred writes)."""
    async with (
        client.start_session() as session,
        await session.start_transaction(),
        batch_unit(session),
    ):
        yield session


class _Finds(pymongo.monitoring.CommandListener):
    def __init__(self) -> None:
        self.count = 0

    def started(self, event: pymongo.monitoring.CommandStartedEvent) -> None:
        self.count += event.command_name == "find"

    def succeeded(self, event: pymongo.monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: pymongo.monitoring.CommandFailedEvent) -> None:
        pass


async def test_a_batchs_handlers_read_their_documents_in_one_find_and_see_each_others_writes(
    infra: Infra,
) -> None:
    """What a batch transaction's handlers read by id comes from one find before they run; a
    document one of them wrote (and remembered) is what the next one reads; a document read
    once more, or outside a batch, comes from the database again."""
    finds = _Finds()
    client: pymongo.AsyncMongoClient[dict[str, Any]] = pymongo.AsyncMongoClient(
        infra.mongo_url, event_listeners=[finds]
    )
    coll = client[f"batch-reads-{uuid.uuid4().hex[:8]}"].accounts
    await coll.insert_many([{"_id": f"a{i}", "balance": i} for i in range(3)])
    try:
        async with _batch_transaction(client) as session:
            finds.count = 0
            await preload(coll, ["a0", "a1", "a2", "a1", "nobody"], session)
            assert finds.count == 1
            got = [await find_by_id(coll, f"a{i}", session) for i in range(3)]
            assert [d["balance"] for d in got if d] == [0, 1, 2]
            assert await find_by_id(coll, "nobody", session) is None
            assert finds.count == 1, "the preloaded documents came from the one find"

            await coll.update_one({"_id": "a1"}, {"$inc": {"balance": 10}}, session=session)
            assert (await find_by_id(coll, "a1", session) or {})["balance"] == 11
            assert finds.count == 2, "a document read a second time comes from the database"

            await coll.update_one({"_id": "a2"}, {"$inc": {"balance": 5}}, session=session)
            remember(coll, {"_id": "a2", "balance": 7})
            assert (await find_by_id(coll, "a2", session) or {})["balance"] == 7
            assert finds.count == 2, "a remembered write is read without a round trip"
        assert (await find_by_id(coll, "a2", None) or {})["balance"] == 7
        assert finds.count == 3, "outside a batch every read goes to the database"
    finally:
        await client.drop_database(coll.database.name)
        await client.close()


async def test_a_batchs_deferred_writes_land_once_folded_and_only_on_the_version_they_read(
    infra: Infra,
) -> None:
    """Writes a repository defers in a batch transaction are made at its end in one bulk
    write: two updates of one document become one (version + 2), an insert carries what was
    set on it later; a document changed by someone else since it was read fails the batch
    and nothing of it is written."""
    client: pymongo.AsyncMongoClient[dict[str, Any]] = pymongo.AsyncMongoClient(infra.mongo_url)
    coll = client[f"batch-writes-{uuid.uuid4().hex[:8]}"].sagas
    await coll.insert_one({"_id": "s1", "version": 4, "state": "CONFIRMING"})
    try:
        async with _batch_transaction(client) as session:
            later = deferred(coll)
            assert later is not None
            read = await find_by_id(coll, "s1", session) or {}
            later.update(read, {"state": "COMPENSATING"})
            later.update({**read, "version": 5}, {"reason": "store said no"})
            later.insert({"_id": "s2", "version": 0, "state": "CONFIRMING"})
            later.update({"_id": "s2", "version": 0}, {"state": "CONFIRMED"})
            assert await coll.count_documents({}, session=session) == 1, "not yet written"
        assert await coll.find_one({"_id": "s1"}) == {
            "_id": "s1",
            "version": 6,
            "state": "COMPENSATING",
            "reason": "store said no",
        }
        assert await coll.find_one({"_id": "s2"}) == {
            "_id": "s2",
            "version": 1,
            "state": "CONFIRMED",
        }
        assert deferred(coll) is None, "outside a batch a write is made at once"

        with pytest.raises(StaleWrite):
            async with _batch_transaction(client) as session:
                later = deferred(coll)
                assert later is not None
                later.insert({"_id": "s3", "version": 0, "state": "CONFIRMING"})
                later.update({"_id": "s1", "version": 4}, {"state": "CANCELLED"})  # stale
        assert await coll.find_one({"_id": "s3"}) is None
        assert (await coll.find_one({"_id": "s1"}) or {})["state"] == "COMPENSATING"
    finally:
        await client.drop_database(coll.database.name)
        await client.close()


async def _get(url: str) -> str:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        return await resp.text()


async def _eq(awaitable, expected) -> bool:
    return await awaitable == expected


async def test_invalid_message_lands_in_the_dlq_with_its_reason_and_the_next_is_processed(
    infra: Infra, spawn: SpawnService, mongo
) -> None:
    bank, _, deposits, _ = await demo_pair(infra, spawn)
    await publish(
        infra.kafka_bootstrap, deposits, {"accountId": "acc-3", "amount": -4}, key="acc-3"
    )
    await publish(infra.kafka_bootstrap, deposits, b"{not json", key="acc-3")
    await publish(infra.kafka_bootstrap, deposits, {"accountId": "acc-3", "amount": 3}, key="acc-3")

    account = await eventually(lambda: mongo[bank.name].accounts.find_one({"_id": "acc-3"}))
    assert account["balance"] == 3
    dead = await read_topic(infra.kafka_bootstrap, deposits + ".dlq", expect=2)
    assert len(dead) == 2
    reasons = [header(r, "dlq_reason") or "" for r in dead]
    assert "amount" in reasons[0] and "greater than or equal to 1" in reasons[0]
    assert "json" in reasons[1].lower()
    assert all((header(r, "dlq_source") or "").startswith(deposits) for r in dead)


async def test_service_without_broker_and_database_is_not_ready_then_ready_when_they_appear(
    spawn: SpawnService,
) -> None:
    state = Path(tempfile.mkdtemp(prefix="sagashop-late-"))
    late = EmbeddedInfra(state, kafka_server(state, free_port()), mongo_server(state, free_port()))
    topic = f"demo.late.{uuid.uuid4().hex[:8]}"
    proc = spawn(
        DEMO,
        env={
            "SAGASHOP_KAFKA_BOOTSTRAP": late.kafka_bootstrap,
            "SAGASHOP_MONGO_URL": late.mongo_url,
            "DEMO_IN": topic,
            "DEMO_OUT": topic + ".out",
        },
    )
    try:
        await eventually(lambda: ready_status(proc.url), timeout=20)
        for _ in range(10):  # ~5 s of asking: answers 503, stays alive, says what it waits for
            assert await ready_status(proc.url) == 503
            assert proc.alive()
            await asyncio.sleep(0.5)
        assert "waiting for the database" in proc.log_tail(200)

        await late.start()
        await proc.wait_ready(timeout=60)
        assert proc.alive() and proc.restarts == 0
    finally:
        late.stop()


async def test_sigterm_stops_a_service_cleanly_with_exit_code_0(
    infra: Infra, spawn: SpawnService
) -> None:
    bank, _, _, _ = await demo_pair(infra, spawn)
    assert await asyncio.to_thread(bank.terminate) == 0
    assert "stopped" in bank.log_tail()


async def test_sigterm_exits_within_the_grace_period_when_a_handler_waits_for_a_dead_database(
    spawn: SpawnService,
) -> None:
    # a SIGKILLed launcher takes the broker and the database down with the services: a handler
    # left waiting for the database must not keep its service alive after SIGTERM
    state = Path(tempfile.mkdtemp(prefix="sagashop-gone-"))
    gone = EmbeddedInfra(state, kafka_server(state, free_port()), mongo_server(state, free_port()))
    await gone.start()
    try:
        deposits = f"demo.gone.{uuid.uuid4().hex[:8]}"
        await make_topics(gone.kafka_bootstrap, deposits, deposits + ".out")
        bank = spawn(
            DEMO,
            env={
                "SAGASHOP_KAFKA_BOOTSTRAP": gone.kafka_bootstrap,
                "SAGASHOP_MONGO_URL": gone.mongo_url,
                "SAGASHOP_SHUTDOWN_GRACE_SECONDS": "3",
                "DEMO_IN": deposits,
                "DEMO_OUT": deposits + ".out",
            },
        )
        await bank.wait_ready()
        gone.mongo.kill()
        await publish(gone.kafka_bootstrap, deposits, {"accountId": "a", "amount": 1}, key="a")
        await eventually(lambda: _log_has(bank, "waiting for the database to apply"))

        started = time.monotonic()
        code = await asyncio.to_thread(bank.terminate, 30.0)  # SIGKILL only after 30 s
        assert code == 1 and time.monotonic() - started < 10
        assert "could not stop within 3s" in bank.log_tail()
    finally:
        gone.stop()


async def _log_has(proc: Any, text: str) -> bool:
    return text in proc.log_tail(200)


ABANDON = """
import os, signal, sys
from pymongo import MongoClient
client = MongoClient(sys.argv[1])
coll = client[sys.argv[2]].stock
session = client.start_session()
session.start_transaction()
coll.update_one({"_id": "line"}, {"$inc": {"reserved": 1}}, session=session)
print("written", flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # dies with its transaction open on the server
"""


async def test_a_document_left_in_a_killed_clients_transaction_is_writable_within_seconds(
    infra: Infra, mongo
) -> None:
    """A worker SIGKILLed inside a transaction must not freeze what it was writing for the
    database's default minute: the embedded server reaps its transaction after 5 s idle."""
    db = f"abandon_{uuid.uuid4().hex[:8]}"
    await mongo[db].stock.insert_one({"_id": "line", "reserved": 0})
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", ABANDON, infra.mongo_url, db, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    assert out.strip() == b"written" and proc.returncode == -signal.SIGKILL

    async def reserve(session: Any) -> None:
        await mongo[db].stock.update_one(
            {"_id": "line"}, {"$inc": {"reserved": 1}}, session=session
        )

    async with mongo.start_session() as session:
        with pymongo.timeout(20):  # the default lifetime (60 s) would run past this
            await session.with_transaction(reserve)
    # the dead client's write was rolled back, ours applied once
    assert (await mongo[db].stock.find_one({"_id": "line"}))["reserved"] == 1
