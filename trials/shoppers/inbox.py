"""A shopper's inbox: the gift-card activation codes e-mailed to an address, read from what the
local SMTP server kept (notification_svc.kept_mail). The code reaches the donee only this way."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

from notification_svc.kept_mail import mails_to

# "Код активации: K7QF-9M2X-PL4D" (and the English "code: ..." of older mail)
CODE = re.compile(r"(?:[Cc]ode|[Кк]од)\b[^:\n]*:\s*([A-Za-z0-9][A-Za-z0-9-]{3,63})")


def activation_codes(sent: Path, address: str) -> list[str]:
    """The gift-card activation codes e-mailed to `address`, oldest first."""
    found = (CODE.search(str(m.get("body", ""))) for m in mails_to(sent, address))
    return [m.group(1) for m in found if m]


async def wait_for_codes(
    sent: Path, address: str, count: int = 1, timeout: float = 60.0
) -> list[str]:
    """The first `count` codes e-mailed to `address`, waiting for the notification to go out."""
    deadline = time.monotonic() + timeout
    while len(codes := activation_codes(sent, address)) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(codes)} of {count} activation codes reached {address}")
        await asyncio.sleep(0.3)
    return codes[:count]
