"""Service processes: start `python -m <package>` with its settings in the environment, wait
for /ready, SIGKILL and restart (tests and chaos use the same class the launcher does)."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
PR_SET_PDEATHSIG = 1
# looked up before any fork: the child only calls it (no import, no lock, between fork and exec)
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None


def die_with_parent() -> None:
    """Run in a child between fork and exec: SIGTERM it when the process that started it
    dies, however that dies (a SIGKILLed launcher, bench or test run must not leave services,
    a broker or a database running with nobody to stop them)."""
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class NotReady(RuntimeError):
    pass


async def ready_status(url: str, timeout: float = 2.0) -> int | None:
    """The status code of `url`/ready, or None when nothing answers."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http,
            http.get(f"{url}/ready") as resp,
        ):
            return resp.status
    except (aiohttp.ClientError, TimeoutError):
        return None


@dataclass
class ServiceProcess:
    name: str
    module: str
    port: int
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self, **overrides: str) -> None:
        """Start the process (never a second copy of a live one); `overrides` are extra env
        vars for this start only."""
        if self.alive():
            return
        env = {**os.environ, **self.env, **overrides}
        env.setdefault("SAGASHOP_SERVICE_NAME", self.name)
        env["SAGASHOP_HTTP_PORT"] = str(self.port)
        env["PYTHONUNBUFFERED"] = "1"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - our own argv (sys.executable -m module), no shell
                [sys.executable, "-m", self.module],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL at this instant, as a crash would."""
        if self.proc is not None and self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def terminate(self, timeout: float = 15.0) -> int | None:
        """SIGTERM (graceful shutdown); SIGKILL if it does not exit in time."""
        if self.proc is None:
            return None
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode

    def restart(self, **overrides: str) -> None:
        self.kill()
        self.restarts += 1
        self.start(**overrides)

    async def ready(self) -> bool:
        return await ready_status(self.url) == 200

    async def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and not self.alive():
                raise NotReady(f"{self.name} exited ({self.proc.returncode}):\n{self.log_tail()}")
            if await self.ready():
                return
            await asyncio.sleep(0.2)
        raise NotReady(f"{self.name} not ready after {timeout:.0f}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""
