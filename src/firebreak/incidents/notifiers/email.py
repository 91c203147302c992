"""E-mail over SMTP (stdlib smtplib, run in a worker thread so the loop never blocks)."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from typing import ClassVar

import httpx

from firebreak.config import NotifierSettings, SmtpSettings
from firebreak.incidents.messages import Message
from firebreak.incidents.notifiers.base import NotifyError, not_configured


def compose(msg: Message, sender: str, to: list[str]) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = msg.title()
    mail["From"] = sender
    mail["To"] = ", ".join(to)
    mail["Message-ID"] = f"<{msg.id}@firebreak>"
    mail["X-Firebreak-Incident"] = msg.incident_id
    mail.set_content(msg.text())
    return mail


class EmailNotifier:
    """Sends a plain-text mail to the configured recipients."""

    name: ClassVar[str] = "email"

    def __init__(self, smtp: SmtpSettings, timeout: float = 10.0) -> None:
        self.smtp = smtp
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: NotifierSettings) -> EmailNotifier:
        return cls(settings.smtp, settings.timeout_seconds)

    async def send(self, msg: Message, client: httpx.AsyncClient) -> None:
        if not self.smtp.host or not self.smtp.to:
            raise not_configured("email", "smtp.host and notifiers.smtp.to")
        mail = compose(msg, self.smtp.sender, self.smtp.to)
        await asyncio.to_thread(self._deliver, mail)

    def _deliver(self, mail: EmailMessage) -> None:
        s = self.smtp
        try:
            with smtplib.SMTP(s.host or "", s.port, timeout=self.timeout) as conn:
                if s.starttls:
                    conn.starttls()
                if s.username and s.password:
                    conn.login(s.username, s.password.get_secret_value())
                conn.send_message(mail)
        except smtplib.SMTPResponseException as exc:
            raise NotifyError(f"smtp answered {exc.smtp_code}", recoverable=exc.smtp_code >= 400
                              and exc.smtp_code < 500) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise NotifyError(f"smtp unreachable: {type(exc).__name__}", recoverable=True) from exc
