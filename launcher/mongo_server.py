"""`python -m launcher.mongo_server ARGS`: the embedded MongoDB-compatible server (SecantusDB,
same command line as `python -m secantus`) with a short transaction lifetime.

Why: a transaction whose client process was SIGKILLed stays open on the server until it has
been idle for the server's transaction lifetime (mongod's `transactionLifetimeLimitSeconds`,
60 s by default; SecantusDB has no flag or `setParameter` for it). Until then every other
transaction that touches one of its documents gets a write conflict, so a crashed worker
would freeze the documents it was writing (an order, a stock line, a wallet) for a minute.
Our transactions are a few statements sent back to back: one idle for 5 s belongs to a dead
client. A slow but live one that gets reaped is retried by the driver like any conflict.

And a planner fix: SecantusDB serves a filter by its primary key only when `_id` is the
filter's ONLY field. `{_id: X, version: 3}` — the conditional write every repository here
makes ("only if nobody wrote since I read") — and `{_id: X, dueAt: {$lte: now}}` were full
collection scans: every such write read every order, saga or notification ever stored, so
the shop got slower the longer it ran (a notification update took 38 ms at 1,400
notifications). mongod answers them from the `_id` index. The patch below does the same: a
filter with an equality on `_id` takes its candidates from the primary key (at most one
document) and SecantusDB's own matcher then applies the whole filter, as it does for every
index lookup. Nothing else changes; `explain` reports the `_id_` index for them.

And a TTL fix: SecantusDB's TTL monitor (every 60 s, as mongod's) decoded EVERY document of
every collection with a TTL index, under the storage lock, to find the expired ones. Every
service's inbox has one (a handled message is remembered for 7 days), so the sweep grew with
every message ever handled and stalled the whole database once a minute (1 s at 50,000
inbox entries on our machines; a shop keeping a week of messages would stall for minutes).
mongod's monitor deletes through the TTL index instead: the patch below does the same, with
SecantusDB's own deleteMany path (index candidates, oplog entries, per-collection lock).

And registry housekeeping: on EVERY statement SecantusDB walked every transaction any session
ever ran (to reap idle ones) and every session seen in 30 minutes, under the registry lock,
and it never forgot a finished transaction. Every service process adds sessions, so the
database got slower the more processes had used it (two-write transactions/s: 288 with no
old sessions, 183 with 500, 100 with 2,000). The registries now do that walk at most twice
a second (an idle transaction is still reaped within its 5 s lifetime + 0.5 s) and forget a
finished transaction a minute after its last use (a retried commit comes within seconds)."""

from __future__ import annotations

import datetime as dt
import functools
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from secantus import cli
from secantus.server import SecantusDBServer
from secantus.sessions import SessionRegistry
from secantus.storage import Storage
from secantus.transactions import TransactionRegistry, TxnState

LIFETIME_ENV = "SAGASHOP_MONGO_TXN_LIFETIME_SECONDS"
DEFAULT_LIFETIME_SECONDS = 5.0


def _by_id_first(pick: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a SecantusDB index picker: a filter with `_id` and more fields is looked up by
    its `_id` alone (what it returns is a candidate set; the full filter is matched after)."""

    @functools.wraps(pick)
    def by_id_first(
        self: Storage, db: str, coll: str, filter: dict[str, Any], *, collation: Any = None
    ) -> Any:
        if collation is None and len(filter) > 1 and "_id" in filter:
            found = pick(self, db, coll, {"_id": filter["_id"]})
            if found is not None:
                return found
        return pick(self, db, coll, filter, collation=collation)

    return by_id_first


def has_internals(fix: str, *needs: tuple[object, tuple[str, ...]]) -> bool:
    """Whether SecantusDB still has the internals `fix` wraps; if not, the fix is skipped with
    a line on stderr (and its test in tests/integration says whether it is still needed)."""
    missing = [name for obj, names in needs for name in names if not hasattr(obj, name)]
    if missing:
        print(f"launcher.mongo_server: SecantusDB has no {', '.join(missing)}; {fix} skipped")
    return not missing


def install_planner_fix() -> None:
    """Lookups (reads and writes) and `explain` both pick by `_id` first."""
    pickers = ("_try_index_id_keys", "_pick_index_for_filter")
    if has_internals("planner fix", (Storage, pickers)):
        for name in pickers:
            pick = getattr(Storage, name)
            if not hasattr(pick, "__wrapped__"):
                setattr(Storage, name, _by_id_first(pick))


# the earliest date a TTL index can hold: a lower bound keeps the index walk off the entries of
# documents without the field (indexed as null, before every date), which never expire
EARLIEST = dt.datetime(1, 1, 1, tzinfo=dt.UTC)


def ttl_filters(storage: Storage, db: str, coll: str, now: dt.datetime) -> Iterator[dict[str, Any]]:
    """One filter per TTL index of `coll`: what has expired by `now` (mongod's rules: a
    single-field index, not `_id`, a date older than now - expireAfterSeconds, within the
    index's partial filter)."""
    for _name, key_spec, opts in storage._iter_indexes(db, coll):
        ttl = opts.get("expireAfterSeconds")
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not 0 <= ttl < 1e12:
            continue
        if len(key_spec) != 1:
            continue
        field, direction = next(iter(key_spec.items()))
        if field == "_id" or isinstance(direction, bool) or not isinstance(direction, int | float):
            continue
        expired: dict[str, Any] = {
            field: {"$gte": EARLIEST, "$lt": now - dt.timedelta(seconds=ttl)}
        }
        partial = opts.get("partialFilterExpression")
        yield (
            {"$and": [expired, dict(partial)]}
            if isinstance(partial, Mapping) and partial
            else expired
        )


def prune_ttl_by_index(self: Storage, db: str, coll: str, *, now: dt.datetime | None = None) -> int:
    """Storage.prune_ttl through the TTL indexes: reads only what has expired."""
    when = now or dt.datetime.now(dt.UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return sum(self.delete_matching(db, coll, f) for f in list(ttl_filters(self, db, coll, when)))


def install_ttl_fix() -> None:
    """The TTL monitor deletes through its indexes."""
    if has_internals("TTL fix", (Storage, ("prune_ttl", "_iter_indexes", "delete_matching"))):
        Storage.prune_ttl = prune_ttl_by_index


PRUNE_EVERY_SECONDS = 0.5
FORGET_FINISHED_AFTER_SECONDS = 60.0


def prune_now(registry: Any) -> float | None:
    """The time, when `registry` is due for its housekeeping walk (at most every 0.5 s)."""
    now: float = registry._time()
    if now < getattr(registry, "_next_prune", 0.0):
        return None
    registry._next_prune = now + PRUNE_EVERY_SECONDS
    return now


def prune_transactions(self: TransactionRegistry) -> int:
    """TransactionRegistry._prune_locked (called with its lock held, from every statement):
    abort transactions idle past the lifetime, forget finished ones."""
    if (now := prune_now(self)) is None:
        return 0
    idle_since, forget_since = now - self._lifetime, now - FORGET_FINISHED_AFTER_SECONDS
    reaped = 0
    for lsid, txn in list(self._txns.items()):
        with txn.mutex:
            if txn.state is TxnState.IN_PROGRESS:
                if txn.last_use < idle_since:
                    self._rollback_quietly(txn)
                    txn.state = TxnState.ABORTED
                    reaped += 1
            elif txn.last_use < forget_since:
                del self._txns[lsid]
    return reaped


def prune_sessions(self: SessionRegistry) -> int:
    """SessionRegistry._prune_locked (from every command that names a session): drop sessions
    idle past 30 minutes."""
    if (now := prune_now(self)) is None:
        return 0
    stale = [lsid for lsid, at in self._sessions.items() if at < now - self._idle_ttl]
    for lsid in stale:
        del self._sessions[lsid]
    return len(stale)


def install_registry_fix() -> None:
    """Both registries prune at most every 0.5 s (their attributes are per instance: probed on
    fresh ones)."""
    transactions = (
        TransactionRegistry(),
        ("_prune_locked", "_txns", "_lifetime", "_time", "_rollback_quietly"),
    )
    sessions = (SessionRegistry(), ("_prune_locked", "_sessions", "_idle_ttl", "_time"))
    if has_internals("registry fix", transactions, sessions):
        TransactionRegistry._prune_locked = prune_transactions
        SessionRegistry._prune_locked = prune_sessions


def main() -> int:
    install_planner_fix()
    install_ttl_fix()
    install_registry_fix()
    lifetime = float(os.environ.get(LIFETIME_ENV, DEFAULT_LIFETIME_SECONDS))
    cli.SecantusDBServer = functools.partial(
        SecantusDBServer, transaction_lifetime_seconds=lifetime
    )
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
