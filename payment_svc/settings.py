from __future__ import annotations

from servicekit.settings import ServiceSettings


class PaymentSettings(ServiceSettings):
    service_name: str = "payment_svc"
    bank_url: str = "http://127.0.0.1:8090"
    order_url: str = "http://127.0.0.1:8083"
    # one call to the bank; a charge or refund that times out or gets a 5xx is sent again with
    # the same idempotency key (the bank dedupes), up to `bank_attempts` times
    bank_timeout_seconds: float = 5.0
    bank_attempts: int = 3
    # how often the loops look for attempts that lost their bank answer and for refunds to make
    recovery_interval_seconds: float = 2.0
    refund_interval_seconds: float = 0.5

    @property
    def pending_grace_seconds(self) -> float:
        """A PENDING attempt older than this lost its bank answer (a crash or a timeout): the
        longest a request may spend calling the bank, with a margin."""
        return self.bank_timeout_seconds * (self.bank_attempts + 1) + 1.0
