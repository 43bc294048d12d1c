"""Runs the whole system on one machine: the embedded Kafka-compatible broker and
MongoDB-compatible server, every service as its own OS process, health waits; the CLI. The
trials (bench, chaos, shoppers, invariants) live in `trials/` and use this package as a library;
it imports them only inside the commands that run them."""
