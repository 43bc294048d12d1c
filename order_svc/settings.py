from __future__ import annotations

from servicekit.settings import ServiceSettings


class OrderSettings(ServiceSettings):
    service_name: str = "order_svc"
    store_url: str = "http://127.0.0.1:8084"
    delivery_url: str = "http://127.0.0.1:8085"
    # 000: an order not paid within 10 minutes of checkout is cancelled
    payment_timeout_seconds: float = 600.0
    unpaid_sweep_seconds: float = 1.0
    reports_dir: str = ".sagashop/reports"
