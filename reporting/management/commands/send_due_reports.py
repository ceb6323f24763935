"""``manage.py send_due_reports [--now ISO-DATETIME]``: run the report dispatcher
once, now (what beat runs every five minutes): queue a delivery of every scheduled
report e-mail that is due, in every organisation, once per period.

Where tasks run eagerly (``make run``, no Redis) the deliveries are sent before the
command ends, through the configured mail backend (the console by default), so a
new user sees a scheduled report without waiting for its day. ``--now`` dispatches
as if it were that moment (an aware ISO 8601 time, e.g. ``2026-12-07T06:05:00+00:00``;
a time without an offset is read in UTC): what would be due then is sent now.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reporting.dispatch import dispatch_due


class Command(BaseCommand):
    help = "Queue (and, with eager tasks, send) the scheduled report e-mails due now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--now",
            help="Dispatch as if it were this moment (ISO 8601; UTC without offset).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = None
        if options["now"]:
            try:
                now = datetime.fromisoformat(options["now"])
            except ValueError as exc:
                raise CommandError(f"--now: not an ISO 8601 time: {exc}") from exc
            if now.tzinfo is None:
                now = now.replace(tzinfo=UTC)
        created = dispatch_due(now)
        self.stdout.write(f"Queued {created} report deliveries.")
