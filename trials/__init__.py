"""How we prove the shop works: the trials run against a system the launcher starts, using the
launcher as a library (`launcher.stack.Stack`, `launcher.processes`, `launcher.embedded`); the
launcher imports them only inside its `bench`, `chaos` and `report-bench` commands.

- `trials.shoppers`: customers and staff driving the HTTP edges (the e2e tests use them too),
  the catalog a run sells from, the inbox where gift-card codes arrive.
- `trials.invariants`: what must hold after any run, read from each service's database, the
  bank's ledger and the broker.
- `trials.chaos`: `sagashop chaos`, load while processes are killed.
- `trials.bench`: `sagashop bench` (throughput, latency, CPU, capacity probes) and
  `sagashop report-bench` (a daily report over many sold units).
"""
