"""Whole systems (`launcher.Stack`) for the e2e tests: started once per configuration and
shared by the modules that ask for the same one, and thrown away at once when done."""

from __future__ import annotations

import tempfile
from pathlib import Path

from launcher.stack import Stack


def discard(stack: Stack) -> None:
    """SIGKILL every process of a test system, its broker and its database: nothing in it is
    kept, and a graceful stop costs about five seconds a system (every service drains, the
    database checkpoints)."""
    stack.expected_down.update(stack.procs)
    for proc in stack.procs.values():
        proc.kill()
    if stack.infra is not None:
        stack.infra.kafka.kill()
        stack.infra.mongo.kill()


class Systems:
    """At most one running system (each costs a fifth of a core while idle): a module asking
    for the configuration that runs gets it as the previous module left it; one asking for
    another stops it and starts its own."""

    def __init__(self) -> None:
        self.stack: Stack | None = None
        self.env: dict[str, str] = {}

    async def acquire(self, env: dict[str, str]) -> Stack:
        if self.stack is not None and self.env == env:
            return self.stack
        self.release()
        stack = Stack(Path(tempfile.mkdtemp(prefix="sagashop-e2e-")), extra_env=env)
        try:
            await stack.start()
        except BaseException:
            discard(stack)
            raise
        self.stack, self.env = stack, dict(env)
        return stack

    def release(self) -> None:
        if self.stack is not None:
            discard(self.stack)
            self.stack = None
