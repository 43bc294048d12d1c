"""`sagashop mail`: the e-mails the local SMTP server kept, listed or shown one by one."""

from __future__ import annotations

from pathlib import Path

from notification_svc.kept_mail import all_mail, mail_dir, mails_to


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
