"""What a chaos run is given: how many orders and customers, how often processes are killed
and which, and the settings every service runs with (short timeouts, fast simulators with a
share of every bad ending)."""

from __future__ import annotations

from dataclasses import dataclass, field

CHAOS_ENV = {
    # short enough that a killed participant sometimes misses it: compensation under fire
    "SAGASHOP_SAGA_TIMEOUT_SECONDS": "10",
    "SAGASHOP_PAYMENT_TIMEOUT_SECONDS": "30",
    "SAGASHOP_LOG_JSON": "true",
    # a customer leaves some orders unpaid and moves on: the hoarding cap is not under test
    "SAGASHOP_MAX_UNPAID_ORDERS": "20",
    # every order lives its whole life within the run: each step about a second, and a share
    # of each bad ending (damaged while picking, failed deliveries, lost and unclaimed parcels)
    "SAGASHOP_WAREHOUSE_PACE_SECONDS": "1",
    "SAGASHOP_WAREHOUSE_DAMAGED_SHARE": "0.05",
    "SAGASHOP_CARRIER_PACE_SECONDS": "1",
    "SAGASHOP_CARRIER_FAILED_ATTEMPT_SHARE": "0.15",
    "SAGASHOP_CARRIER_MAX_ATTEMPTS": "2",
    "SAGASHOP_CARRIER_LOST_SHARE": "0.05",
    "SAGASHOP_CARRIER_LOST_AFTER_SECONDS": "3",
    "SAGASHOP_CARRIER_RETRY_SECONDS": "2",
    "SAGASHOP_TRACKING_TIMEOUT_SECONDS": "8",
    "SAGASHOP_PICKUP_TRANSIT_SECONDS": "1",
    "SAGASHOP_PICKUP_COLLECT_SECONDS": "2",
    "SAGASHOP_PICKUP_UNCLAIMED_SHARE": "0.1",
    "SAGASHOP_PICKUP_STORAGE_SECONDS": "10",
}
# the neighbours' simulators driving the orders after payment: killed like the services
FULFILMENT_SIMULATORS = ("warehouse_sim", "carrier_sim", "pickup_sim")


@dataclass
class ChaosConfig:
    orders: int = 300
    concurrency: int = 12
    duration: float = 900.0  # the load stops after this even if orders remain
    kill_interval: tuple[float, float] = (2.0, 6.0)
    seed: int = 42
    services: list[str] | None = None  # which may be killed (default: every service)
    # processes per service (`--replicas orchestra=2`): the monkey kills one replica at a time
    # and keeps it down past the group's session timeout, so its partitions move to the others
    replicas: dict[str, int] = field(default_factory=dict)
    mongo_kill: bool = True
    bank_faults: bool = True
    # seconds into the load: the database dies once, later the bank turns slow for 15 s (a short
    # run, whose orders may all be placed within 20 s on a quiet machine, asks for them earlier)
    database_kill_at: float = 20.0
    bank_slow_at: float = 40.0
    cancel_share: float = 0.1  # confirmed orders their customer cancels
    returns: int = 3  # delivered orders an admin accepts back
    quiet_timeout: float = 240.0
    external: bool = False
    products: int = 30
    patience: float = 600.0  # how long a customer waits for an order to settle
    argon2_fast: bool = True
    # the services' consumer session and loop leases (None: the services' defaults, 6 s and
    # 5 s), and how long a killed replica stays down: past the session timeout and the
    # rebalance after it (the broker drops the dead member at ~1.1-1.5x the session timeout,
    # the group is stable again a heartbeat or two later) and past a lease's expiry, so its
    # partitions and leases move to its sibling first. A shorter session also brings every
    # killed service back sooner: its restart waits for the broker to drop its dead self
    session_timeout_ms: int | None = None
    lease_seconds: float | None = None
    replica_down: tuple[float, float] = (9.0, 12.0)

    def service_env(self) -> dict[str, str]:
        """The services' settings for this run (CHAOS_ENV and what this config changes)."""
        env = dict(CHAOS_ENV)
        if self.argon2_fast:
            env.update(SAGASHOP_ARGON2_TIME_COST="2", SAGASHOP_ARGON2_MEMORY_KIB="19456")
        if self.session_timeout_ms is not None:
            env["SAGASHOP_KAFKA_SESSION_TIMEOUT_MS"] = str(self.session_timeout_ms)
            # Kafka's rule of thumb: a third of the session
            env["SAGASHOP_KAFKA_HEARTBEAT_INTERVAL_MS"] = str(self.session_timeout_ms // 3)
        if self.lease_seconds is not None:
            env["SAGASHOP_LEASE_SECONDS"] = str(self.lease_seconds)
        return env
