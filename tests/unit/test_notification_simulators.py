"""The launcher's SMTP server keeps one message per Message-ID and lists what it keeps even
after a crash between the two; the SMS gateway simulator's rate limit refills over time."""

from __future__ import annotations

import json
from pathlib import Path

from notification_svc.sms_gateway import Gateway, GatewayConfig
from notification_svc.smtp import mime
from notification_svc.smtp_catcher import Mailbox


def eml(key: str) -> bytes:
    return mime("shop <s@shop.ru>", "i@ex.ru", "Тема", "текст", "<p>x</p>", key).as_bytes()


def test_a_message_sent_again_with_its_message_id_is_kept_once(tmp_path: Path) -> None:
    mailbox = Mailbox(tmp_path / "mail")
    assert mailbox.keep(eml("n-1"), ["i@ex.ru"]) is True
    assert mailbox.keep(eml("n-1"), ["i@ex.ru"]) is False
    assert mailbox.keep(eml("n-2"), ["i@ex.ru"]) is True
    assert [r["idempotencyKey"] for r in mailbox.rows()] == ["n-1", "n-2"]
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 2 and mailbox.duplicates == 1


def test_a_kept_message_missing_from_the_list_is_listed_when_the_server_starts_again(
    tmp_path: Path,
) -> None:
    Mailbox(tmp_path / "mail").keep(eml("n-1"), ["i@ex.ru"])
    (tmp_path / "mail.jsonl").write_text("")  # as if it died between the file and the line
    again = Mailbox(tmp_path / "mail")
    assert [r["idempotencyKey"] for r in again.rows()] == ["n-1"]
    assert again.keep(eml("n-1"), ["i@ex.ru"]) is False


def test_the_gateway_admits_its_rate_then_refuses_until_tokens_refill(tmp_path: Path) -> None:
    gateway = Gateway(tmp_path / "sms.jsonl", "secret", GatewayConfig(rate_per_second=3))
    assert [gateway.admit() for _ in range(4)] == [True, True, True, False]
    gateway._at -= 1.0  # a second later
    assert gateway.admit() is True


def test_the_gateway_remembers_accepted_client_ids_across_a_restart(tmp_path: Path) -> None:
    store = tmp_path / "sms.jsonl"
    row = {"idempotencyKey": "n-1", "messageId": "m-1", "to": "+79001234567", "text": "hi"}
    store.write_text(json.dumps(row) + "\n" + '{"torn')
    assert Gateway(store, "secret").accepted["n-1"]["messageId"] == "m-1"
