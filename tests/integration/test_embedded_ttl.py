"""The embedded database's TTL monitor (every 60 s, as mongod's) must read only what has
expired. Every service's inbox has a TTL index (a handled message is remembered for 7 days):
a monitor that decodes every document of such a collection under the storage lock stalls the
whole database once a minute, longer the more messages the shop has handled (1 s at 50,000
inbox entries). launcher.mongo_server makes it delete through the TTL index, as mongod does.

Run on SecantusDB's storage engine itself, in this process, so the sweep can be driven and
what it reads can be counted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import bson
import pytest
from secantus.storage import Storage

from launcher.mongo_server import install_ttl_fix


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
