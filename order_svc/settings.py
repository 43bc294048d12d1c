from __future__ import annotations

from pydantic import Field

from servicekit.settings import ServiceSettings


class OrderSettings(ServiceSettings):
    service_name: str = "order_svc"
    store_url: str = "http://127.0.0.1:8084"
    delivery_url: str = "http://127.0.0.1:8085"
    orchestra_url: str = "http://127.0.0.1:8086"
    # 000: an order not paid within 10 minutes of checkout is cancelled
    payment_timeout_seconds: float = 600.0
    unpaid_sweep_seconds: float = 1.0
    # hoarding (issue 15 item 1): checkout holds stock and a slot until the payment timeout,
    # so a customer may have at most this many orders awaiting payment (the next checkout is
    # a 409 holding nothing), and an order at most this many units of one product: enough
    # for a household, far below a popular product's stock (the seed keeps 1-40 a warehouse)
    max_unpaid_orders: int = Field(default=3, ge=1)
    max_units_per_product: int = Field(default=10, ge=1)
    # the service credential store_svc and delivery_svc want on the calls that create holds
    # (SAGASHOP_HOLDS_TOKEN, servicekit.holds); the launcher gives all three one per run
    holds_token: str = ""
    # a paid order of goods goes to orchestra in the payment's own transaction
    # (SAGASHOP_AUTO_HANDOVER); off: the customer hands it over with `PUT /process`, as in 001
    auto_handover: bool = True
    # a paid order's stock and slot holds are kept this long after payment (HoldExtension)
    paid_hold_seconds: float = 86_400.0
    # an order handed over (IN_PROGRESS) without a saga outcome this long after is cancelled
    # through orchestra and refunded ("the order could not be confirmed in time"): far longer
    # than a saga's own deadline, so it only catches an order whose hand-over never arrived
    handover_timeout_seconds: float = 1800.0
    handover_sweep_seconds: float = 5.0
    # 003 daily reports: where the `.jsonl` files go (SAGASHOP_REPORT_DIR)
    report_dir: str = ".sagashop/reports"
    # neighbour systems' credentials for the report edge (`X-Api-Key`), comma-separated;
    # empty: only admins may start and read reports
    report_api_keys: str = ""
    # orders read per cursor batch, and lines written per file write
    report_batch: int = 1000
    # a writer renews its lease every batch; a report whose lease ran out is taken over
    # (its writer died), so this bounds how late a crashed report is resumed
    report_lease_seconds: float = 30.0
    report_poll_seconds: float = 1.0
    # a report whose writer died this many times is given up (FAILED, event `fail`)
    report_max_attempts: int = 5

    @property
    def report_keys(self) -> tuple[str, ...]:
        return tuple(k.strip() for k in self.report_api_keys.split(",") if k.strip())
