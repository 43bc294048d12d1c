"""Runs the whole system on one machine: the embedded Kafka-compatible broker and
MongoDB-compatible server, every service as its own OS process, health waits; the CLI."""
