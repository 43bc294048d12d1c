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
    billing_url: str = "http://127.0.0.1:8086"
    # how long `POST /pay` by wallet or gift card waits for billing's answer before it answers
    # 202 PENDING (the payment then settles by itself; `GET /payments/{id}` follows it)
    billing_wait_seconds: float = 5.0
    # SBP QR: the bank signs its callbacks with this shared secret (empty: every callback is
    # refused and QR payments settle by polling the bank); where the bank sends them
    # (default: this edge's own `/bank/callbacks`); how long a code can be paid; how often an
    # unpaid code is looked up at the bank when no callback came
    bank_webhook_secret: str = ""
    bank_callback_url: str = ""
    qr_ttl_seconds: int = 300
    qr_poll_seconds: float = 5.0

    @property
    def callback_url(self) -> str:
        return self.bank_callback_url or f"http://{self.http_host}:{self.http_port}/bank/callbacks"

    @property
    def pending_grace_seconds(self) -> float:
        """A PENDING attempt older than this lost its bank answer (a crash or a timeout): the
        longest a request may spend calling the bank, with a margin."""
        return self.bank_timeout_seconds * (self.bank_attempts + 1) + 1.0
