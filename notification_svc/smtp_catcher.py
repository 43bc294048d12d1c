"""A real local SMTP server (aiosmtpd) for the embedded stack and the tests: it keeps every
message it accepts as an `.eml` file under `SAGASHOP_MAIL_DIR`, one per Message-ID (a message
sent again with the same Message-ID, as notification_svc does after a crash between our 250
and its record, is answered 250 and not kept twice), and lists them in `mail.jsonl` beside
that folder (one line per kept message: what the "notified once" invariant counts).

`python -m notification_svc.smtp_catcher`: SMTP on `SAGASHOP_SMTP_PORT`, and an HTTP side on
`SAGASHOP_HTTP_PORT`: `GET /messages`, `GET|PUT /config` (refuse the next N with 451, drop
the connection of the next N, a share of either at random, domains refused with 550),
`/health`, `/ready`, and the kept mail read through Mailpit's API (notification_svc.mailpit_api).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any, cast

from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session
from pydantic import BaseModel, Field, ValidationError

from notification_svc import mailpit_api
from servicekit import simulator
from servicekit.simulator import SimulatorSettings, refuse

log = logging.getLogger("mail_sim")


class CatcherSettings(SimulatorSettings):
    http_port: int = 8092
    smtp_port: int = 8025
    mail_dir: Path = Path(".sagashop/sent/mail")


class CatcherConfig(BaseModel):
    """What the server does wrong on purpose (`PUT /config` changes any part)."""

    tempfail_next: int = Field(0, ge=0)  # the next N messages get 451 at DATA
    drop_next: int = Field(0, ge=0)  # the next N connections are cut at DATA, no answer
    tempfail_rate: float = Field(0.0, ge=0, le=1)
    drop_rate: float = Field(0.0, ge=0, le=1)
    reject_domains: list[str] = ["invalid"]  # RCPT to these (or their subdomains): 550


class Mailbox:
    """The kept messages: `<dir>/<sha of Message-ID>.eml`, listed in `<dir>.jsonl`."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.index = directory.with_suffix(".jsonl")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.duplicates = 0
        self._catch_up()

    def _catch_up(self) -> None:
        """A message kept but not listed (the catcher died in between) is listed now."""
        listed = {row["file"] for row in self.rows()}
        for path in sorted(self.dir.glob("*.eml")):
            if path.name not in listed:
                self._list(path, message_from_bytes(path.read_bytes(), policy=policy.default))

    def rows(self) -> list[dict[str, Any]]:
        if not self.index.exists():
            return []
        rows = []
        for line in self.index.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue  # a line torn by a kill
        return rows

    def newest_first(self) -> list[dict[str, Any]]:
        return [row for row in reversed(self.rows()) if (self.dir / row["file"]).exists()]

    def path_of(self, message_id: str) -> Path | None:
        path = self.dir / f"{message_id}.eml"
        return path if mailpit_api.MESSAGE_ID.fullmatch(message_id) and path.exists() else None

    def keep(self, data: bytes, to: list[str]) -> bool:
        """Keep the message unless its Message-ID was kept before; True if kept now."""
        mail = message_from_bytes(data, policy=policy.default)
        key = str(mail.get("Message-ID") or hashlib.sha256(data).hexdigest())
        path = self.dir / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.eml"
        if path.exists():
            self.duplicates += 1
            return False
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        self._list(path, mail, to)
        return True

    def _list(self, path: Path, mail: Any, to: list[str] | None = None) -> None:
        message_id = str(mail.get("Message-ID", ""))
        row = {
            # the notification id, as notification_svc's other channel logs name it
            "idempotencyKey": message_id.strip("<>").split("@")[0] or path.stem,
            "messageId": message_id,
            "file": path.name,
            "to": to or [str(mail.get("To", ""))],
            "subject": str(mail.get("Subject", "")),
            "receivedAt": datetime.now(UTC).isoformat(),
        }
        with self.index.open("a") as f:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


class Catcher:
    """aiosmtpd's handler: refuses, drops or keeps each message as configured."""

    def __init__(self, mailbox: Mailbox, config: CatcherConfig | None = None) -> None:
        self.mailbox = mailbox
        self.config = config or CatcherConfig()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        domain = address.rpartition("@")[2].lower()
        if any(domain == d or domain.endswith(f".{d}") for d in self.config.reject_domains):
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        c = self.config
        if c.drop_next or random.random() < c.drop_rate:  # noqa: S311 - simulator randomness, not security
            c.drop_next = max(c.drop_next - 1, 0)
            log.info("dropping the connection before answering DATA (as configured)")
            cast(asyncio.Transport, server.transport).abort()
            return "421 4.3.0 connection dropped"  # never reaches the client
        if c.tempfail_next or random.random() < c.tempfail_rate:  # noqa: S311 - simulator randomness, not security
            c.tempfail_next = max(c.tempfail_next - 1, 0)
            return "451 4.3.0 try again later"
        data = envelope.original_content or b""
        kept = await asyncio.to_thread(self.mailbox.keep, data, list(envelope.rcpt_tos))
        log.info("message to %s %s", envelope.rcpt_tos, "kept" if kept else "seen before")
        return "250 2.0.0 OK" if kept else "250 2.0.0 OK (already delivered)"


CATCHER = web.AppKey("catcher", Catcher)


async def messages(request: web.Request) -> web.Response:
    return web.json_response(request.app[CATCHER].mailbox.rows())


async def get_config(request: web.Request) -> web.Response:
    catcher = request.app[CATCHER]
    body = {**catcher.config.model_dump(), "duplicates": catcher.mailbox.duplicates}
    return web.json_response(body)


async def put_config(request: web.Request) -> web.Response:
    catcher = request.app[CATCHER]
    try:
        update = json.loads(await request.read() or b"{}")
        catcher.config = CatcherConfig.model_validate({**catcher.config.model_dump(), **update})
    except (ValueError, ValidationError, TypeError) as exc:
        return refuse(400, f"bad config: {exc}")
    return await get_config(request)


def build_app(catcher: Catcher, smtp_host: str, smtp_port: int) -> web.Application:
    """The HTTP side; the SMTP server starts and stops with it."""
    app = web.Application()
    app[CATCHER] = catcher
    app.router.add_get("/messages", messages)
    mailpit_api.mount(app, catcher.mailbox)
    app.router.add_get("/config", get_config)
    app.router.add_put("/config", put_config)
    simulator.add_health(app, "mail_sim")

    async def smtp_server(_: web.Application) -> Any:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(catcher, hostname="sagashop-catcher"), smtp_host, smtp_port
        )
        log.info("SMTP on %s:%d, keeping mail in %s", smtp_host, smtp_port, catcher.mailbox.dir)
        yield
        server.close()

    app.cleanup_ctx.append(smtp_server)
    return app


def app_of(settings: CatcherSettings) -> web.Application:
    return build_app(Catcher(Mailbox(settings.mail_dir)), settings.http_host, settings.smtp_port)


def main() -> None:
    simulator.run("mail_sim", CatcherSettings, app_of)


if __name__ == "__main__":
    main()
