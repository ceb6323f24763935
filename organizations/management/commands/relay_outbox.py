"""Publish the background work that is due (the outbox relay), once or in a loop.

Beat runs the same pass every ``OUTBOX_RELAY_INTERVAL`` seconds; this command is for
operators (after an outage, without waiting for beat) and for the fault tests.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from organizations import outbox


class Command(BaseCommand):
    help = (
        "Publish owed background work (e-mails, recomputations) to the Celery broker: "
        "work whose publication failed, and work not completed in time. "
        "Example: manage.py relay_outbox --loop"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--loop",
            action="store_true",
            help="Keep relaying every OUTBOX_RELAY_INTERVAL seconds until stopped.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            published = outbox.relay()
            self.stdout.write(f"Published {published} outbox row(s).")
            if not options["loop"]:
                return
            time.sleep(settings.OUTBOX_RELAY_INTERVAL)
