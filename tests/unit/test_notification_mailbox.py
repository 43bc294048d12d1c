"""notification_svc.kept_mail reads what the local SMTP server kept: an address's e-mails with
both parts; the gift-card codes in them (trials.shoppers.inbox); `sagashop mail`'s list and one
message (launcher.mail)."""

from __future__ import annotations

from pathlib import Path

from launcher.mail import show
from notification_svc.kept_mail import mails_to
from notification_svc.smtp import mime
from notification_svc.smtp_catcher import Mailbox
from notification_svc.texts import render_kind
from trials.shoppers.inbox import activation_codes


def deliver(sent: Path, to: str, key: str, code: str) -> None:
    gift = {"doneeFirstName": "Мария", "giftCardNumber": "GC-1", "amount": 100_000}
    r = render_kind("gift_card", gift, code, None)
    msg = mime("sagashop <shop@sagashop.local>", to, r.subject, r.text, r.html, key)
    Mailbox(sent / "mail").keep(msg.as_bytes(), [to])


def test_an_addresses_mail_is_read_with_both_parts_and_its_activation_codes(
    tmp_path: Path,
) -> None:
    deliver(tmp_path, "maria@example.com", "n-1", "K7QF-9M2X-PL4D")
    deliver(tmp_path, "other@example.com", "n-2", "ZZZZ-1111")
    deliver(tmp_path, "Maria@Example.com", "n-3", "AB12-CD34")
    [first, second] = mails_to(tmp_path, "maria@example.com")
    assert first["subject"] == "Мария, вам подарочная карта sagashop"
    assert "K7QF-9M2X-PL4D" in first["body"] and "K7QF-9M2X-PL4D" in first["html"]
    assert second["messageId"] == "<n-3@notifications.sagashop>"
    assert activation_codes(tmp_path, "maria@example.com") == ["K7QF-9M2X-PL4D", "AB12-CD34"]


def test_sagashop_mail_lists_the_kept_mail_and_shows_one_by_its_number(tmp_path: Path) -> None:
    assert "no e-mail" in show(tmp_path)
    deliver(tmp_path, "maria@example.com", "n-1", "K7QF-9M2X-PL4D")
    assert "maria@example.com" in show(tmp_path) and "подарочная карта" in show(tmp_path)
    one = show(tmp_path, "1")
    assert "To: maria@example.com" in one and "Код активации: K7QF-9M2X-PL4D" in one
    assert "no e-mail '7'" in show(tmp_path, "7")
