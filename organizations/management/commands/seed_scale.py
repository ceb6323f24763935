"""Create a synthetic organisation of any size, for benchmarks (``demo.scale``)."""

from __future__ import annotations

import time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_slug

from demo.scale import (
    SeedScaleRefused,
    analyze,
    seed_scale,
    tables_to_analyze,
)
from organizations.models import Organization


class Command(BaseCommand):
    help = (
        "Create a synthetic organisation with N employees in a line-manager tree and "
        "the whole world around them: review cycles (two closed, one in review), "
        "clients, engagements with roles, plans with goals and competencies, "
        "evaluations in every state, scored appraisals, feedback, requests and "
        "client surveys. Three logins share one password (printed): "
        "hr@<slug>.test, manager@<slug>.test and employee@<slug>.test. "
        "--people-only builds the people alone (only hr@ can sign in). "
        "Deterministic for a given --seed (dates follow today). Refuses an existing "
        "slug unless --replace. --verbosity 2 prints the time of each stage. "
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
        parser.add_argument(
            "--people-only",
            action="store_true",
            help="Only people, units, titles and accounts (fast; for tests).",
        )
        parser.add_argument(
            "--password",
            default="",
            help="Password of the logins (default: a random one, printed).",
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
        verbose = options["verbosity"] >= 2
        started = time.perf_counter()
        try:
            result = seed_scale(
                slug=slug,
                employees=size,
                seed=options["seed"],
                name=options["name"] or f"Scale {slug}",
                replace=options["replace"],
                people_only=options["people_only"],
                password=options["password"] or None,
                on_stage=self._stage if verbose else None,
            )
        except SeedScaleRefused as exc:
            raise CommandError(str(exc)) from exc
        analysed = time.perf_counter()
        hint = analyze(tables_to_analyze())
        if verbose:
            self._stage("ANALYZE", time.perf_counter() - analysed, 0)
        if hint:
            self.stderr.write(hint)
        elapsed = time.perf_counter() - started
        org = result.organization
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {org.name} at /o/{org.slug}/ with {result.employees} "
                f"employees ({result.active} active), {result.business_units} business "
                f"units and {result.job_titles} job titles in {elapsed:.1f} s."
            )
        )
        if verbose:
            for table, rows in sorted(result.tables.items()):
                self.stdout.write(f"  {rows:>9,} {table}")
        self.stdout.write(f"HR admin login: {result.hr_user.email}")
        if result.manager_user and result.employee_user:
            self.stdout.write(f"Manager login: {result.manager_user.email}")
            self.stdout.write(f"Employee login: {result.employee_user.email}")
        self.stdout.write(f"Password: {result.password}")

    def _stage(self, name: str, seconds: float, rows: int) -> None:
        self.stdout.write(f"  {seconds:7.2f} s  {rows:>9,} rows  {name}")
