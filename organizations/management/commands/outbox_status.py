"""Show the outbox backlog and failures of every organisation (for operators)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from organizations import selectors
from organizations.models import Organization
from organizations.tenancy import tenant_context


class Command(BaseCommand):
    help = (
        "Print each organisation's owed background work: waiting, running, failed, "
        "done in the last day, the oldest owed, and the failures with their errors. "
        "Exits 1 when any work has failed. Example: manage.py outbox_status --org acme"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", help="Only this organisation (its slug).")

    def handle(self, *args: Any, **options: Any) -> None:
        organizations = Organization.objects.order_by("slug")
        if options["org"]:
            organizations = organizations.filter(slug=options["org"])
            if not organizations.exists():
                raise CommandError(f"No organisation with the slug {options['org']!r}.")
        failed = 0
        for organization in organizations:
            with tenant_context(organization):
                backlog = selectors.outbox_backlog()
            failed += backlog.failed
            oldest = (
                backlog.oldest_owed_at.isoformat() if backlog.oldest_owed_at else "-"
            )
            self.stdout.write(
                f"{organization.slug}: waiting {backlog.waiting}, running "
                f"{backlog.running}, failed {backlog.failed}, done in the last day "
                f"{backlog.completed_last_day}, oldest owed {oldest}"
            )
            for problem in backlog.problems:
                message = problem.message
                state = "failed" if message.failed_at else "retrying"
                self.stdout.write(
                    f"  #{message.pk} {problem.label} ({state}, {message.attempts} "
                    f"attempt(s)): {message.last_error}"
                )
        if failed:
            raise CommandError(
                f"{failed} piece(s) of background work failed; fix the cause, then "
                "retry them from Settings → Background work."
            )
