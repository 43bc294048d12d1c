"""What launcher.mongo_server fixes in the embedded database (SecantusDB), proved on
SecantusDB's own storage engine and registries, in this process, where a sweep can be driven
and what it reads counted.

The TTL monitor (every 60 s, as mongod's) must read only what has expired. Every service's
inbox has a TTL index (a handled message is remembered for 7 days): a monitor that decodes
every document of such a collection under the storage lock stalls the whole database once a
minute, longer the more messages the shop has handled (1 s at 50,000 inbox entries).
launcher.mongo_server makes it delete through the TTL index, as mongod does.

The transaction registry must not keep every transaction any session ever ran: SecantusDB
walked all of them on every statement, so each service process that had used the database
made every later transaction slower."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import bson
import pytest
from secantus.storage import Storage
from secantus.transactions import TransactionRegistry, TxnState

from launcher.mongo_server import install_registry_fix, install_ttl_fix


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    install_ttl_fix()
    store = Storage(str(tmp_path / "data"), ttl_sweep_seconds=0)
    yield store
    store.close()


def ids(storage: Storage, db: str, coll: str) -> set[Any]:
    return {bson.decode(blob)["_id"] for _rid, _key, blob in storage._scan_docs(db, coll)}


def test_the_ttl_monitor_deletes_what_expired_and_reads_nothing_that_has_not(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    storage.create_index("svc", "inbox", "at_1", {"at": 1}, {"expireAfterSeconds": 3600})
    storage.create_index("svc", "plain", "at_1", {"at": 1})  # no TTL: never pruned
    live = [{"_id": f"live:{i}", "at": now - timedelta(minutes=59)} for i in range(3000)]
    expired = [{"_id": f"old:{i}", "at": now - timedelta(minutes=61)} for i in range(5)]
    undated = [{"_id": "no-date"}, {"_id": "text-date", "at": "2000-01-01"}]
    storage.insert("svc", "inbox", live + expired + undated)
    storage.insert("svc", "plain", [{"_id": "old", "at": now - timedelta(days=30)}])

    scanned = 0
    full_scan = Storage._scan_docs

    def counting_scan(self: Storage, db: str, coll: str) -> Iterator[Any]:
        nonlocal scanned
        for row in full_scan(self, db, coll):
            scanned += 1
            yield row

    monkeypatch.setattr(Storage, "_scan_docs", counting_scan)
    assert storage.prune_ttl_all_collections(now=now) == 5
    assert scanned == 0  # the unpatched monitor read all 3,007 inbox documents here
    monkeypatch.undo()

    assert ids(storage, "svc", "inbox") == {d["_id"] for d in live + undated}
    assert ids(storage, "svc", "plain") == {"old"}
    assert storage.prune_ttl_all_collections(now=now) == 0


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_finished_transactions_are_forgotten_after_a_minute_and_idle_ones_still_aborted():
    install_registry_fix()
    clock = Clock()
    registry = TransactionRegistry(lifetime_seconds=5.0, time_func=clock)

    def start(lsid: bytes, number: int = 1) -> Any:
        txn, error = registry.for_statement(lsid, None, number, start=True)
        assert error is None
        return txn

    for i in range(1000):  # a thousand sessions, each with a committed transaction
        start(i.to_bytes(16, "big"))
        assert registry.commit(i.to_bytes(16, "big"), 1) is None
    idle = start(b"idle".ljust(16, b"."))
    clock.now += 2
    assert registry.commit((0).to_bytes(16, "big"), 1) is None  # a retried commit: still ok

    clock.now += 4  # past the idle transaction's 5 s lifetime
    start(b"new".ljust(16, b"."))
    assert idle.state is TxnState.ABORTED
    assert len(registry._txns) == 1002  # finished ones are kept for a minute

    clock.now += 61
    start(b"newer".ljust(16, b"."))
    assert set(registry._txns) == {b"new".ljust(16, b"."), b"newer".ljust(16, b".")}
    # the forgotten sessions' numbers are still known: an old number cannot start again
    _, error = registry.for_statement((5).to_bytes(16, "big"), None, 1, start=True)
    assert error is not None
