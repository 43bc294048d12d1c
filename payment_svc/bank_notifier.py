"""The simulated bank's signed callbacks: once a QR charge is settled, its `BankCallback` is
POSTed to the charge's `callbackUrl` in the background (the scan's answer never waits for it),
signed afresh on every try (`payment_svc.signing`) and tried a bounded number of times with
a growing pause on a non-2xx answer or a connection error. A callback still undelivered after
the last try, or when the simulator stops, is given up: the shop finds out by polling
`GET /charges/{key}`, as it must for callbacks the simulator loses on purpose."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import aiohttp

from payment_svc import signing
from schemas.payment_http import BankCallback

log = logging.getLogger("bank_sim.callbacks")


class CallbackSender:
    """Delivers callbacks signed under `secret`; with no secret it sends nothing."""

    def __init__(
        self,
        secret: str,
        attempts: int = 5,
        first_pause: float = 1.0,
        timeout_seconds: float = 5.0,
    ) -> None:
        self.secret = secret
        self.attempts = attempts
        self.first_pause = first_pause
        self.timeout_seconds = timeout_seconds
        self._http: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def send(self, url: str, callback: BankCallback) -> None:
        """Starts delivering `callback` to `url` and returns at once."""
        if not self.secret:
            return
        task = asyncio.get_running_loop().create_task(self._deliver(url, callback))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, url: str, callback: BankCallback) -> None:
        body = callback.to_bytes()
        for attempt in range(self.attempts):
            if await self._post(url, body):
                log.info("callback %s delivered to %s", callback.idempotency_key, url)
                return
            if attempt + 1 < self.attempts:
                await asyncio.sleep(self.first_pause * 2**attempt)
        log.warning("callback %s to %s given up", callback.idempotency_key, url)

    async def _post(self, url: str, body: bytes) -> bool:
        if self._http is None:
            timeout = aiohttp.ClientTimeout(total=self.timeout_seconds)
            self._http = aiohttp.ClientSession(timeout=timeout)
        headers = {
            "Content-Type": "application/json",
            signing.HEADER: signing.sign(self.secret, body, int(time.time())),
        }
        try:
            async with self._http.post(url, data=body, headers=headers) as resp:
                return 200 <= resp.status < 300
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.info("callback to %s failed: %r", url, exc)
            return False

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
            self._http = None
