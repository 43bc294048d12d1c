"""Fault injection points for crash tests: `SAGASHOP_FAULTS=outbox.after_commit` makes the
process SIGKILL itself the first time it reaches that point; `tx.before_commit@0.05` does it
with that probability each time (chaos runs use this to crash at the instants that matter).
Off unless configured."""

from __future__ import annotations

import logging
import os
import random
import signal

log = logging.getLogger(__name__)
_armed: dict[str, float] = {}


def arm(spec: str) -> None:
    _armed.clear()
    for item in filter(None, (p.strip() for p in spec.split(","))):
        name, _, chance = item.partition("@")
        _armed[name] = float(chance) if chance else 1.0


def point(name: str) -> None:
    """Die here, abruptly, if this point is armed (and its chance comes up)."""
    chance = _armed.get(name)
    if chance is not None and random.random() < chance:  # noqa: S311 - a test fault's chance, not security
        log.warning("fault point %s reached: SIGKILL", name)
        for handler in logging.getLogger().handlers:
            handler.flush()
        os.kill(os.getpid(), signal.SIGKILL)
