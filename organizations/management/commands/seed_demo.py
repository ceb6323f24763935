"""Load the demo organisations, people, logins and workflow data (idempotent)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.people import DEMO_PASSWORD
from demo.seed import seed_demo


class Command(BaseCommand):
    help = (
        "Create or refresh the demo organisations 'acme' and 'globex' with people, a "
        "line-manager tree, demo logins and data in every state of the workflow. "
        "Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even though DEBUG is off (never on a real deployment).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "DEBUG is off, so this looks like a real deployment; the demo would add "
                "accounts with a published password. Use --force if you really mean it."
            )
        acme, globex = seed_demo()
        self.stdout.write(self.style.SUCCESS("Demo data is ready."))
        self.stdout.write(f"Organisations: {acme.slug}, {globex.slug}")
        self.stdout.write(
            "Logins: hr@acme.test, manager@acme.test, reviewer@acme.test, "
            "approver@acme.test, employee@acme.test, hr@globex.test"
        )
        self.stdout.write(f"Demo password for every login: {DEMO_PASSWORD}")
