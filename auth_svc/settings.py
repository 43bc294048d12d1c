from __future__ import annotations

from servicekit.settings import ServiceSettings


class AuthSettings(ServiceSettings):
    service_name: str = "auth_svc"
    session_ttl_seconds: int = 7 * 24 * 3600
    cookie_secure: bool = False
    # brute force: failures per account / per client address within the window
    login_limit_account: int = 5
    login_limit_address: int = 20
    login_window_seconds: int = 15 * 60
    # honour X-Forwarded-For for the client address (only behind a trusted proxy)
    trust_forwarded: bool = False
    code_ttl_seconds: int = 10 * 60
    code_attempts: int = 5
    reset_ttl_seconds: int = 30 * 60
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
