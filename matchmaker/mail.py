"""Outgoing e-mail: SMTP when configured, otherwise one ``.eml`` file per message in the outbox."""

from __future__ import annotations

import smtplib
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from matchmaker.config import Settings


@dataclass(frozen=True)
class Mail:
    to: tuple[str, ...]
    subject: str
    body: str
    #: Who the e-mail is for, in the sender's terms (e.g. ``company`` or ``group``).
    party: str = ""


def send(settings: Settings, mail: Mail) -> Path | None:
    """Send ``mail``; returns the outbox file when written to the outbox."""
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = ", ".join(mail.to)
    msg["Subject"] = mail.subject
    msg["Message-ID"] = f"<{uuid.uuid4()}@matchmaker>"
    msg.set_content(mail.body)
    if settings.smtp_host:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
            smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            smtp.send_message(msg)
        return None
    outbox = Path(settings.outbox_dir)
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"{uuid.uuid4().hex}.eml"
    path.write_bytes(bytes(msg))
    return path
