"""What reached a person's inbox: the e-mails the notification gateway logged, one JSON line
each, in `<state>/sent/email.jsonl` (the launcher's stand-in for an SMTP server). The gift-card
activation code reaches the donee only this way."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from pathlib import Path
from typing import Any

CODE = re.compile(r"[Cc]ode\b[^:]*:\s*([A-Za-z0-9][A-Za-z0-9-]{3,63})")


def mails_to(sent: Path, address: str) -> list[dict[str, Any]]:
    """Every e-mail logged for `address`, oldest first (a line torn by a kill is skipped)."""
    path = sent / "email.jsonl"
    if not path.exists():
        return []
    mails = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(ValueError):
            mail = json.loads(line)
            if str(mail.get("to", "")).lower() == address.lower():
                mails.append(mail)
    return mails


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
