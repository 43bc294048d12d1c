"""web_front's settings from `SAGASHOP_*` environment variables (the launcher sets them)."""

from __future__ import annotations

import secrets

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from servicekit.settings import SecretFiles


class FrontSettings(SecretFiles):
    model_config = SettingsConfigDict(env_prefix="SAGASHOP_", extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    # the edges this front is a client of (SAGASHOP_<NAME>_URL, as every service reads them)
    auth_url: str = "http://127.0.0.1:8081"
    order_url: str = "http://127.0.0.1:8082"
    store_url: str = "http://127.0.0.1:8083"
    delivery_url: str = "http://127.0.0.1:8084"
    payment_url: str = "http://127.0.0.1:8085"
    billing_url: str = "http://127.0.0.1:8086"
    notification_url: str = "http://127.0.0.1:8087"
    orchestra_url: str = "http://127.0.0.1:8088"
    bank_url: str = "http://127.0.0.1:8090"
    mail_url: str = "http://127.0.0.1:8092"
    # signs the CSRF tokens; the launcher passes a fresh one per run so that a restarted front
    # keeps accepting the forms it rendered (a random default only lives as long as the process)
    web_secret: str = Field(default_factory=lambda: secrets.token_hex(32))
    # its credential at auth_svc (per run, from the launcher or compose's secret): auth_svc then
    # counts logins against the visitor's address it forwards (servicekit.forwarding)
    front_token: str = ""
    # proxies in front of the pages that append to X-Forwarded-For (0: the socket's peer is the
    # visitor); auth_svc's own trusted_proxies is about proxies in front of auth_svc
    web_trusted_proxies: int = Field(default=0, ge=0)
    # how long one call to an edge may take before the page says the service is away
    edge_timeout_seconds: float = 5.0
    log_level: str = "INFO"
