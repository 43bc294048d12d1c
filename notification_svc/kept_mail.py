"""What reached a person's inbox: the e-mails the local SMTP server (mail_sim,
notification_svc.smtp_catcher) accepted, kept as `.eml` files in `<state>/sent/mail/`, read
back. Read by the catcher's Mailpit-shaped API (mailpit_api), `sagashop mail`
(launcher/mail.py) and the trials' shoppers (trials/shoppers/inbox.py: activation codes)."""

from __future__ import annotations

import contextlib
import json
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Any


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
