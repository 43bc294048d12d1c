"""`python -m launcher.mongo_server ARGS`: the embedded MongoDB-compatible server (SecantusDB,
same command line as `python -m secantus`) with a short transaction lifetime.

Why: a transaction whose client process was SIGKILLed stays open on the server until it has
been idle for the server's transaction lifetime (mongod's `transactionLifetimeLimitSeconds`,
60 s by default; SecantusDB has no flag or `setParameter` for it). Until then every other
transaction that touches one of its documents gets a write conflict, so a crashed worker
would freeze the documents it was writing (an order, a stock line, a wallet) for a minute.
Our transactions are a few statements sent back to back: one idle for 5 s belongs to a dead
client. A slow but live one that gets reaped is retried by the driver like any conflict."""

from __future__ import annotations

import functools
import os
import sys

from secantus import cli
from secantus.server import SecantusDBServer

LIFETIME_ENV = "SAGASHOP_MONGO_TXN_LIFETIME_SECONDS"
DEFAULT_LIFETIME_SECONDS = 5.0


def main() -> int:
    lifetime = float(os.environ.get(LIFETIME_ENV, DEFAULT_LIFETIME_SECONDS))
    cli.SecantusDBServer = functools.partial(
        SecantusDBServer, transaction_lifetime_seconds=lifetime
    )
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
