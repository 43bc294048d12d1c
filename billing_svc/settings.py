from __future__ import annotations

from servicekit.settings import ServiceSettings


class BillingSettings(ServiceSettings):
    service_name: str = "billing_svc"
