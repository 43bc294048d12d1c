from __future__ import annotations

from servicekit.settings import ServiceSettings


class BillingSettings(ServiceSettings):
    service_name: str = "billing_svc"
    # gift-card activation: attempts per user in each window before 429 (001 scenario 8;
    # a code has 80 random bits, the limit is what stops a guesser, not the code's length)
    activation_attempts: int = 5
    activation_window_seconds: int = 900
