"""SMS through an HTTP gateway with a real provider's shape: `POST {url}/messages` with the
number, the text, our `clientMessageId` (the gateway's idempotency key: a repeated send answers
the first one's id and sends nothing) and the URL its delivery receipts go to; `200`/`201`
answers `{"messageId"}`. `429` and `5xx` are temporary; any other `4xx` refuses for good."""

from __future__ import annotations

import aiohttp

from notification_svc.adapters import PermanentSendError
from notification_svc.settings import NotificationSettings

RECEIPTS_PATH = "/notifications/sms/receipts"


class GatewayBusy(Exception):
    """429 or 5xx: the gateway may take it later."""


class HttpSmsGateway:
    def __init__(self, settings: NotificationSettings) -> None:
        self.url = settings.sms_url.rstrip("/")
        self.callback = settings.notification_url.rstrip("/") + RECEIPTS_PATH
        self.timeout = aiohttp.ClientTimeout(total=settings.send_timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def send_sms(self, to: str, text: str, idempotency_key: str) -> str:
        body = {"to": to, "text": text, "clientMessageId": idempotency_key}
        body["callbackUrl"] = self.callback
        async with self.session().post(f"{self.url}/messages", json=body) as resp:
            answer = await resp.json(content_type=None) if resp.content_length != 0 else {}
            if resp.status in (200, 201, 202):
                return str(answer["messageId"])
            said = answer.get("errorMessage", "") if isinstance(answer, dict) else ""
            if resp.status == 429 or resp.status >= 500:
                raise GatewayBusy(f"the SMS gateway answered {resp.status} {said}".strip())
            raise PermanentSendError(f"the SMS gateway refused it ({resp.status}): {said}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
