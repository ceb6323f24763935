"""``manage.py check_consistency (--org SLUG | --all) [--outbox-minutes N]``: find
stored data that disagrees with the rules, after a fault test, a load test or an
incident.

Runs each app's checks (``reporting.tallies``, ``appraisals.consistency``,
``engagements.consistency``, ``organizations.consistency``) inside the organisation's tenant context, read-only
and on one snapshot of the data (``read_only``). Prints each difference
on its own line and a summary line per check; exits 1 (CommandError) when anything
differs, 0 with "No differences found in ..." when nothing does. The command lives in
``reporting``, the highest app whose checks it runs (``make lint``'s layers).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from appraisals.consistency import check_progress_tallies, check_scores
from engagements.consistency import check_plan_weights, check_role_permissions
from organizations.consistency import Difference, check_emails, check_outbox
from organizations.models import Organization
from organizations.tenancy import is_postgresql, tenant_context
from reporting.tallies import check_reporting_tallies


@dataclass(frozen=True)
class Check:
    """One check as the command runs it: a title, the selector, and what to do
    when it finds something."""

    title: str
    run: Callable[[timedelta], list[Difference]]
    advice: str


def checks() -> list[Check]:
    """Every check, in the order the command runs them."""
    return [
        Check(
            _("Scores"),
            lambda _age: check_scores(),
            _(
                "Run manage.py recompute_scores for the organisation, then check "
                "again; a difference that stays is a bug in the scoring code."
            ),
        ),
        Check(
            _("Progress counts"),
            lambda _age: check_progress_tallies(),
            _(
                "The cycle progress page's counts, the plans per cycle and the "
                "reviews only HR may approve are kept by database triggers "
                "(docs/performance.md); a difference is a bug in them. Report it; "
                "the pages show the stored counts until they are recounted."
            ),
        ),
        Check(
            _("Reporting tallies"),
            lambda _age: check_reporting_tallies(),
            _(
                "HR's dashboards read tallies kept by database triggers "
                '(docs/reporting.md, "Cost"); a difference is a bug in them. Report '
                "it; the dashboards show the stored tallies until they are "
                "recounted."
            ),
        ),
        Check(
            _("Reviewer permissions"),
            lambda _age: check_role_permissions(),
            _(
                "Remove the role on the engagement's page and give it again: that "
                "grants its permissions afresh."
            ),
        ),
        Check(
            _("Plan weights"),
            lambda _age: check_plan_weights(),
            _(
                "Open each plan named above and adjust its goal weights to total 100 "
                "(or use 'Normalise to 100')."
            ),
        ),
        Check(
            _("Outbox"),
            lambda age: check_outbox(older_than=age),
            _(
                "Check that the workers and beat run (beat's relay publishes what is "
                "owed); retry failed rows once their last error is fixed."
            ),
        ),
        Check(
            _("E-mails"),
            lambda age: check_emails(older_than=age),
            _(
                "Late e-mails go out once their outbox rows complete; an e-mail "
                "completed without a ledger row was never sent: send it again by hand."
            ),
        ),
    ]


def minutes(value: str) -> int:
    """``--outbox-minutes``: a whole number of minutes, 0 or more."""
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(
            _("Give a whole number of minutes, 0 or more (for example 10).")
        )
    return number


@contextmanager
def read_only(organization: Organization) -> Iterator[None]:
    """Inside ``organization``'s tenant context, in a transaction that, when this
    opens it (PostgreSQL), is READ ONLY (a check cannot write by mistake) and
    REPEATABLE READ (every check reads the same snapshot, so work committed while
    the checks run cannot make one query disagree with the next). Inside a
    transaction opened by the caller (a test) the outer one's modes are left as is."""
    owns_transaction = not connection.in_atomic_block
    with transaction.atomic():
        if owns_transaction and is_postgresql():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
                )
        with tenant_context(organization):
            yield


class Command(BaseCommand):
    help = (
        "Check an organisation's stored data against the rules: open appraisals' "
        "scores, engagement roles' permissions, active plans' goal weights, "
        "background work still owed and e-mails owed but not sent. Prints each "
        "difference; exits 1 if there is any."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--org", help="The organisation's slug (from /o/<slug>/).")
        which.add_argument(
            "--all", action="store_true", help="Every organisation, one by one."
        )
        parser.add_argument(
            "--outbox-minutes",
            type=minutes,
            default=10,
            help=(
                "Background work and e-mails still owed this many minutes after "
                "being queued count as differences (default 10)."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organizations = self._organizations(options["org"], options["all"])
        age = timedelta(minutes=options["outbox_minutes"])
        failing: list[str] = []
        for organization in organizations:
            found = self._check(organization, age)
            label = f"{organization.name} ({organization.slug})"
            if found:
                failing.append(
                    ngettext(
                        "%(count)s difference in %(org)s",
                        "%(count)s differences in %(org)s",
                        found,
                    )
                    % {"count": found, "org": label}
                )
            else:
                self.stdout.write(
                    self.style.SUCCESS(
                        _("No differences found in %(org)s.") % {"org": label}
                    )
                )
        if failing:
            raise CommandError(
                _(
                    "Found %(found)s. Each line above names the object, what the "
                    "rules expect and what is stored; the summary line of each check "
                    "says what to do."
                )
                % {"found": "; ".join(failing)}
            )

    def _organizations(self, slug: str | None, every: bool) -> list[Organization]:
        if every:
            found = list(Organization.objects.order_by("slug"))
            if not found:
                self.stdout.write(_("There are no organisations to check."))
            return found
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            raise CommandError(
                _(
                    "No organisation with the slug %(slug)r. Use the short name from "
                    "its URL, /o/<slug>/, or --all."
                )
                % {"slug": slug}
            )
        return [organization]

    def _check(self, organization: Organization, age: timedelta) -> int:
        """Run every check in ``organization``; print; return how many differ."""
        self.stdout.write(
            _("Checking %(org)s (%(slug)s):")
            % {"org": organization.name, "slug": organization.slug}
        )
        total = 0
        with read_only(organization):
            for check in checks():
                differences = check.run(age)
                for difference in differences:
                    self.stdout.write(f"  {difference}")
                total += len(differences)
                if differences:
                    self.stdout.write(
                        self.style.ERROR(
                            ngettext(
                                "%(check)s: %(count)s difference. %(advice)s",
                                "%(check)s: %(count)s differences. %(advice)s",
                                len(differences),
                            )
                            % {
                                "check": check.title,
                                "count": len(differences),
                                "advice": check.advice,
                            }
                        )
                    )
                else:
                    self.stdout.write(
                        _("%(check)s: no differences.") % {"check": check.title}
                    )
        return total
