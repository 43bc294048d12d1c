"""Fault injection points for crash tests: `SAGASHOP_FAULTS=outbox.after_commit` makes the
process SIGKILL itself the first time it reaches that point. Off unless configured."""

from __future__ import annotations

import logging
import os
import signal

log = logging.getLogger(__name__)
_armed: set[str] = set()


def arm(spec: str) -> None:
    _armed.clear()
    _armed.update(p.strip() for p in spec.split(",") if p.strip())


def point(name: str) -> None:
    """Die here, abruptly, if this point is armed."""
    if name in _armed:
        log.warning("fault point %s reached: SIGKILL", name)
        for handler in logging.getLogger().handlers:
            handler.flush()
        os.kill(os.getpid(), signal.SIGKILL)
