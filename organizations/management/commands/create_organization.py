"""Create a tenant and invite its first HR admin (for operators; no web sign-up)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from organizations.enums import Role
from organizations.models import Organization
from organizations.services import invite_member
from organizations.tenancy import tenant_context


class Command(BaseCommand):
    help = (
        "Create an organisation and e-mail its first HR admin an invitation link. "
        "Example: manage.py create_organization --slug acme --name 'Acme Ltd' "
        "--admin-email hr@acme.example --timezone Europe/Berlin"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", required=True, help="Short name used in URLs.")
        parser.add_argument("--name", required=True, help="Display name.")
        parser.add_argument("--admin-email", required=True, help="First HR admin.")
        parser.add_argument("--timezone", default="UTC", help="IANA time zone.")

    def handle(self, *args: Any, **options: Any) -> None:
        slug, email = options["slug"], options["admin_email"].strip().lower()
        organization = Organization(
            slug=slug, name=options["name"], timezone=options["timezone"]
        )
        try:
            organization.full_clean()
        except ValidationError as exc:
            raise CommandError(f"Cannot create the organisation: {exc}") from exc
        with transaction.atomic():
            organization.save()
            with tenant_context(organization):
                invite_member(
                    actor=None,
                    organization=organization,
                    email=email,
                    role=Role.HR_ADMIN,
                )
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {organization.name} at /o/{organization.slug}/. "
                f"An invitation was sent to {email}."
            )
        )
