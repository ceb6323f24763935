"""Create a synthetic organisation of any size, for benchmarks (``demo.scale``)."""

from __future__ import annotations

import time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_slug

from demo.scale import SeedScaleRefused, seed_scale
from organizations.models import Organization


class Command(BaseCommand):
    help = (
        "Create a synthetic organisation with N employees in a line-manager tree "
        "(fan-out 8), business units, job titles and a login per employee. Only the "
        "HR admin hr@<slug>.test can sign in; its random password is printed. "
        "Deterministic for a given --seed (except the password). Refuses an existing "
        "slug unless --replace. "
        "Example: manage.py seed_scale --org bench --employees 10000 --seed 1"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="Slug of the organisation.")
        parser.add_argument(
            "--employees", required=True, type=int, help="How many employees (N ≥ 1)."
        )
        parser.add_argument(
            "--seed", type=int, default=0, help="Random seed for names (default 0)."
        )
        parser.add_argument(
            "--name", default="", help="Display name (default: 'Scale <slug>')."
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help=(
                "If the organisation exists, delete it with all its rows and its "
                "@<slug>.test accounts first."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        slug, size = options["org"], options["employees"]
        try:
            validate_slug(slug)
        except ValidationError as exc:
            raise CommandError(f"--org: {exc.messages[0]}") from exc
        max_length = Organization._meta.get_field("slug").max_length or 0
        if len(slug) > max_length:
            raise CommandError(f"--org: at most {max_length} characters.")
        if size < 1:
            raise CommandError("--employees must be at least 1.")
        started = time.perf_counter()
        try:
            result = seed_scale(
                slug=slug,
                employees=size,
                seed=options["seed"],
                name=options["name"] or f"Scale {slug}",
                replace=options["replace"],
            )
        except SeedScaleRefused as exc:
            raise CommandError(str(exc)) from exc
        elapsed = time.perf_counter() - started
        org = result.organization
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {org.name} at /o/{org.slug}/ with {result.employees} "
                f"employees ({result.active} active), {result.business_units} business "
                f"units and {result.job_titles} job titles in {elapsed:.1f} s."
            )
        )
        self.stdout.write(f"HR admin login: {result.hr_user.email}")
        self.stdout.write(f"Password: {result.password}")
