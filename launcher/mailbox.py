"""What reached a person's inbox: the e-mails the launcher's SMTP server (mail_sim,
notification_svc.smtp_catcher) accepted, kept as `.eml` files in `<state>/sent/mail/`. The
gift-card activation code reaches the donee only this way."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Any

# "Код активации: K7QF-9M2X-PL4D" (and the English "code: ..." of older mail)
CODE = re.compile(r"(?:[Cc]ode|[Кк]од)\b[^:\n]*:\s*([A-Za-z0-9][A-Za-z0-9-]{3,63})")


def mail_dir(sent: Path) -> Path:
    return sent / "mail"


def read_mail(path: Path) -> dict[str, Any]:
    """One kept e-mail: its headers, the text part as `body` and the HTML part as `html`."""
    msg = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(msg, EmailMessage)  # noqa: S101 - type narrowing, not a guard
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    return {
        "file": str(path),
        "messageId": str(msg.get("Message-ID", "")),
        "from": str(msg.get("From", "")),
        "to": ", ".join(addr for _, addr in getaddresses([str(msg.get("To", ""))])),
        "subject": str(msg.get("Subject", "")),
        "date": str(msg.get("Date", "")),
        "body": text.get_content() if text is not None else "",
        "html": html.get_content() if html is not None else "",
    }


def all_mail(sent: Path) -> list[dict[str, Any]]:
    """Every kept e-mail, oldest first (by when the server wrote it)."""
    paths = sorted(mail_dir(sent).glob("*.eml"), key=lambda p: (p.stat().st_mtime_ns, p.name))
    return [read_mail(p) for p in paths]


def mails_to(sent: Path, address: str) -> list[dict[str, Any]]:
    """Every e-mail kept for `address`, oldest first. The server's list (`sent/mail.jsonl`,
    one line per kept file with its recipients) says which files to read, so a poll reads
    only this address's mail however much was sent."""
    wanted = address.lower()
    files = [
        mail_dir(sent) / row["file"]
        for row in listed(sent)
        if wanted in (str(to).lower() for to in row.get("to", []))
    ]
    return [read_mail(path) for path in files if path.exists()]


def listed(sent: Path) -> list[dict[str, Any]]:
    index = mail_dir(sent).with_suffix(".jsonl")
    if not index.exists():
        return []
    rows = []
    for line in index.read_text().splitlines():
        with contextlib.suppress(ValueError):
            rows.append(json.loads(line))
    return rows


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


def show(sent: Path, which: str | None = None, to: str | None = None) -> str:
    """`sagashop mail`: a numbered list of the kept e-mails (newest last), or one of them
    (by its number or file name) with its headers and text part."""
    mails = mails_to(sent, to) if to else all_mail(sent)
    if which is None:
        if not mails:
            return f"no e-mail in {mail_dir(sent)}"
        rows = [
            f"{i:4}  {m['date'][:25]:25}  {m['to']:32}  {m['subject']}"
            for i, m in enumerate(mails, 1)
        ]
        return "\n".join(rows)
    chosen = [m for i, m in enumerate(mails, 1) if which in (str(i), Path(m["file"]).name)]
    if not chosen:
        return f"no e-mail {which!r}: `sagashop mail` lists them"
    m = chosen[0]
    head = "\n".join(f"{k.capitalize()}: {m[k]}" for k in ("from", "to", "subject", "date"))
    return f"{head}\nMessage-ID: {m['messageId']}\nFile: {m['file']}\n\n{m['body']}"
