"""Prometheus metrics of one service process (its own registry, served at /metrics)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


class Metrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        labels = {"service": service}
        self.messages = Counter(
            "sagashop_messages",
            "Messages consumed, by topic and outcome",
            ["topic", "outcome"],
            registry=self.registry,
        )
        self.handle_seconds = Histogram(
            "sagashop_handle_seconds",
            "Time to handle a consumed message",
            ["topic"],
            registry=self.registry,
        )
        self.transactions = Counter(
            "sagashop_db_transactions", "Committed database transactions", registry=self.registry
        )
        self.outbox_messages = Counter(
            "sagashop_outbox_messages", "Messages written to the outbox", registry=self.registry
        )
        self.http_requests = Counter(
            "sagashop_http_requests",
            "HTTP requests by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.http_seconds = Histogram(
            "sagashop_http_seconds", "HTTP request latency", ["route"], registry=self.registry
        )
        self.service = labels["service"]

    def observe_message(self, topic: str, outcome: str, started: float, shared_by: int = 1) -> None:
        """One message handled since `started`; `shared_by` messages handled together (one
        transaction) each count for their share of the time."""
        self.messages.labels(topic, outcome).inc()
        self.handle_seconds.labels(topic).observe((time.perf_counter() - started) / shared_by)

    def render(self) -> bytes:
        return generate_latest(self.registry)
