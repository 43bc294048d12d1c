from __future__ import annotations

from servicekit.settings import ServiceSettings


class AuthSettings(ServiceSettings):
    service_name: str = "auth_svc"
    session_ttl_seconds: int = 7 * 24 * 3600
    # a session unused this long ends (each use moves it on)
    session_idle_seconds: int = 8 * 3600
    # the cookie's Secure flag; unset: on unless the request came to a loopback host over plain
    # HTTP (local development), i.e. on wherever a TLS proxy or a real host name is in front
    cookie_secure: bool | None = None
    # brute force: free attempts per (account, client address) and per client address, then a
    # progressive delay (login_delay_seconds, doubled per attempt, at most the window)
    login_limit_account: int = 5
    login_limit_address: int = 20
    login_window_seconds: int = 15 * 60
    login_delay_seconds: int = 5
    # proxies in front that append to X-Forwarded-For (0: the socket's peer is the client)
    trusted_proxies: int = 0
    # legacy switch: true means one trusted proxy
    trust_forwarded: bool = False
    # web_front's credential (per run, from the launcher or compose's secret): a request that
    # carries it counts against the visitor X-Forwarded-For names (one hop: servicekit.forwarding)
    front_token: str = ""
    # messages and hashes on request (reset, verification, registration): free sends per
    # target (an e-mail, a phone, an account's channel) and per client address, then a delay
    send_limit_target: int = 3
    send_limit_address: int = 30
    send_delay_seconds: int = 30
    send_window_seconds: int = 3600
    # callers on this machine (web_front in development, tests, the CLI) skip the per-address
    # send limit; the per-target limit always applies
    send_unlimited_loopback: bool = True
    code_ttl_seconds: int = 10 * 60
    code_attempts: int = 5
    reset_ttl_seconds: int = 30 * 60
    # argon2id cost; below OWASP's minimum it is raised to it (domain.argon2_floor)
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536

    @property
    def proxy_hops(self) -> int:
        return self.trusted_proxies or (1 if self.trust_forwarded else 0)
