"""The kept mail read the way Mailpit's API answers it (compose runs Mailpit itself, so
web_front's admin page "Письма" reads either with the same calls). Only this subset of
Mailpit's `/api/v1` is answered:

- `GET /api/v1/messages?start=0&limit=50`: `{total, unread, count, messages_count, start,
  tags, messages}`, newest first; each message `{ID, MessageID, Read, From{Name, Address},
  To[{Name, Address}], Cc, Bcc, ReplyTo, Subject, Created, Tags, Size, Attachments, Snippet}`.
- `GET /api/v1/message/{ID}`: `{ID, MessageID, Read, From, To, Cc, Bcc, ReplyTo, Subject,
  Date, Tags, Text, HTML, Size, Inline, Attachments}`; an unknown ID answers 404
  `{"errorMessage": ...}`.

Not answered: search, tags, read marks (`Read` is always false, `unread` 0), attachments (the
shop sends none), deletion, headers and raw source. An ID is the kept `.eml` file's name.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from notification_svc.kept_mail import read_mail

MESSAGE_ID = re.compile(r"[0-9a-f]{32}")
SNIPPET_CHARS = 250
LINE_BREAKS = re.compile(r"[ \t]*[\r\n]+[ \t]*")  # only these: a no-break space stays in "12 345 ₽"


class KeptMail(Protocol):
    """What the API reads: smtp_catcher's Mailbox."""

    dir: Path

    def newest_first(self) -> list[dict[str, Any]]: ...

    def path_of(self, message_id: str) -> Path | None: ...


MAILBOX = web.AppKey("mailbox", KeptMail)


def address(value: str) -> dict[str, str]:
    name, addr = parseaddr(value)
    return {"Name": name, "Address": addr}


def unix_lines(part: str) -> str:
    """A part as its text, not as SMTP carried it (CRLF line ends)."""
    return part.replace("\r\n", "\n")


def header_date(raw: str, path: Path) -> str:
    """The Date header in ISO form, as Mailpit gives it; else when the file was kept."""
    try:
        return parsedate_to_datetime(raw).isoformat()
    except (TypeError, ValueError):
        return datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat()


def mailpit_message(path: Path) -> dict[str, Any]:
    """One kept e-mail in the shape of Mailpit's `GET /api/v1/message/{ID}`."""
    mail = read_mail(path)
    return {
        "ID": path.stem,
        "MessageID": mail["messageId"].strip().strip("<>"),
        "Read": False,
        "From": address(mail["from"]),
        "To": [address(to) for to in mail["to"].split(",") if to.strip()],
        "Cc": [],
        "Bcc": [],
        "ReplyTo": [],
        "Subject": mail["subject"],
        "Date": header_date(mail["date"], path),
        "Tags": [],
        "Text": unix_lines(mail["body"]),
        "HTML": unix_lines(mail["html"]),
        "Size": path.stat().st_size,
        "Inline": [],
        "Attachments": [],
    }


def mailpit_summary(row: dict[str, Any], path: Path) -> dict[str, Any]:
    """One line of Mailpit's `GET /api/v1/messages`: created is when the server kept it."""
    full = mailpit_message(path)
    summary = {k: v for k, v in full.items() if k not in ("Date", "Text", "HTML", "Inline")}
    snippet = LINE_BREAKS.sub(" ", str(full["Text"])).strip()[:SNIPPET_CHARS]
    return {**summary, "Created": row["receivedAt"], "Attachments": 0, "Snippet": snippet}


def bounded(request: web.Request, name: str, default: int, most: int) -> int:
    raw = request.query.get(name, str(default))
    if not raw.isdigit() or int(raw) > most:
        raise web.HTTPBadRequest(
            text=json.dumps({"errorMessage": f"{name} must be a whole number 0..{most}"}),
            content_type="application/json",
        )
    return int(raw)


def messages_page(mailbox: KeptMail, start: int, limit: int) -> dict[str, Any]:
    rows = mailbox.newest_first()
    chosen = [(row, mailbox.dir / row["file"]) for row in rows[start : start + limit]]
    messages = [mailpit_summary(row, path) for row, path in chosen]
    return {
        "total": len(rows),
        "unread": 0,
        "count": len(messages),
        "messages_count": len(rows),
        "start": start,
        "tags": [],
        "messages": messages,
    }


async def api_messages(request: web.Request) -> web.Response:
    start = bounded(request, "start", 0, 10_000_000)
    limit = bounded(request, "limit", 50, 1000)
    mailbox = request.app[MAILBOX]
    return web.json_response(await asyncio.to_thread(messages_page, mailbox, start, limit))


async def api_message(request: web.Request) -> web.Response:
    message_id = request.match_info["id"]
    path = request.app[MAILBOX].path_of(message_id)
    if path is None:
        return web.json_response({"errorMessage": f"no message {message_id}"}, status=404)
    return web.json_response(await asyncio.to_thread(mailpit_message, path))


def mount(app: web.Application, mailbox: KeptMail) -> None:
    app[MAILBOX] = mailbox
    app.router.add_get("/api/v1/messages", api_messages)
    app.router.add_get("/api/v1/message/{id}", api_message)
