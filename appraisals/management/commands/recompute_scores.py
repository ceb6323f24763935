"""``manage.py recompute_scores --org SLUG [--cycle ID]``: recompute stored scores now.

Runs synchronously inside the organisation's tenant context (one transaction), cycle
by cycle, set-based. Finalised and acknowledged appraisals keep their frozen scores.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from appraisals.scores import recompute_cycle
from engagements.models import ReviewCycle
from organizations.models import Organization
from organizations.tenancy import tenant_context


class Command(BaseCommand):
    help = (
        "Recompute the stored scores of every open appraisal of an organisation "
        "(or of one of its review cycles) and print how many were updated per cycle."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="The organisation's slug.")
        parser.add_argument(
            "--cycle", type=int, help="Only this review cycle (its id)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None:
            raise CommandError(
                f"No organisation with the slug {options['org']!r}. Use the short "
                "name from its URL, /o/<slug>/."
            )
        total = 0
        with tenant_context(organization):
            cycles = ReviewCycle.objects.order_by("start_date", "pk")
            if options["cycle"] is not None:
                cycles = cycles.filter(pk=options["cycle"])
            found = list(cycles)
            if options["cycle"] is not None and not found:
                raise CommandError(
                    f"{organization.name} has no review cycle with id "
                    f"{options['cycle']}. Leave out --cycle to recompute every cycle."
                )
            for cycle in found:
                count = recompute_cycle(cycle)
                total += count
                self.stdout.write(
                    f"{cycle.name} (id {cycle.pk}): {count} appraisal(s) updated"
                )
        self.stdout.write(
            self.style.SUCCESS(
                f"{organization.name}: {total} appraisal(s) updated in "
                f"{len(found)} cycle(s)."
            )
        )
