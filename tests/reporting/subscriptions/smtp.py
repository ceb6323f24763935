"""A mail server for the tests that can be taken down: while ``FlakyBackend.down``
is set it refuses every message as a dropped SMTP connection would; otherwise it
delivers into ``django.core.mail.outbox`` like Django's locmem backend. The process
boundary the tests may fake (tests/STYLE: "SMTP through the locmem backend")."""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from typing import ClassVar

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend


class FlakyBackend(BaseEmailBackend):
    down: ClassVar[bool] = False

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        if FlakyBackend.down:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return LocmemBackend().send_messages(email_messages)
