from __future__ import annotations

from servicekit.settings import ServiceSettings


class OrchestraSettings(ServiceSettings):
    service_name: str = "orchestra"
    # a participant that has not answered by then counts as FAIL (SPEC §5a)
    saga_timeout_seconds: float = 30.0
    deadline_sweep_seconds: float = 1.0
