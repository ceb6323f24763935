"""Load the demo organisations, people and logins (idempotent)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from organizations.demo import run_seeders
from organizations.enums import Role
from organizations.models import (
    BusinessUnit,
    Employee,
    JobTitle,
    Membership,
    Organization,
    User,
)
from organizations.tenancy import tenant_context

DEMO_PASSWORD = "demo-Engagement-2026"  # noqa: S105 - published demo password

FIRST_NAMES = [
    "Ava",
    "Ben",
    "Chloe",
    "Daniel",
    "Elif",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Kara",
    "Liam",
    "Maya",
    "Noah",
    "Olga",
    "Pavel",
    "Quinn",
    "Rosa",
    "Sami",
    "Tara",
    "Umar",
    "Vera",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
    "Aria",
    "Bruno",
    "Cleo",
    "Dev",
    "Emre",
    "Fay",
    "Gil",
    "Hana",
    "Ivo",
    "Jade",
]
LAST_NAMES = [
    "Archer",
    "Bishop",
    "Carver",
    "Dalton",
    "Ellis",
    "Fischer",
    "Garner",
    "Hale",
    "Irwin",
    "Jensen",
    "Keller",
    "Lind",
    "Marsh",
    "Nolan",
    "Ortega",
    "Price",
    "Quill",
    "Rowe",
    "Stone",
    "Thorne",
    "Underwood",
    "Vance",
    "Wade",
    "Young",
]


class Command(BaseCommand):
    help = (
        "Create or refresh the demo organisations 'acme' and 'globex' with people, a "
        "line-manager tree and demo logins. Safe to run again."
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
        with transaction.atomic():
            acme = self._acme()
            globex = self._globex()
            for organization in (acme, globex):
                with tenant_context(organization):
                    run_seeders(organization)
        self.stdout.write(self.style.SUCCESS("Demo data is ready."))
        self.stdout.write(f"Organisations: {acme.slug}, {globex.slug}")
        self.stdout.write(
            "Logins: hr@acme.test, manager@acme.test, reviewer@acme.test, "
            "approver@acme.test, employee@acme.test, hr@globex.test"
        )
        self.stdout.write(f"Demo password for every login: {DEMO_PASSWORD}")

    # --- helpers ------------------------------------------------------------------

    def _user(self, email: str, full_name: str) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email, DEMO_PASSWORD, full_name=full_name)
        return user

    def _member(
        self, org: Organization, user: User, role: str, employee: Employee
    ) -> None:
        membership, _ = Membership.objects.get_or_create(
            organization=org, user=user, defaults={"role": role}
        )
        if membership.role != role or not membership.is_active:
            membership.role, membership.is_active = role, True
            membership.save()
        if employee.user_id != user.pk:
            employee.user = user
            employee.save()

    def _employee(
        self,
        org: Organization,
        code: str,
        name: str,
        title: JobTitle,
        unit: BusinessUnit,
        manager: Employee | None,
    ) -> Employee:
        email = name.lower().replace(" ", ".") + f"@{org.slug}.test"
        employee, _ = Employee.objects.get_or_create(
            code=code,
            defaults={
                "organization": org,
                "full_name": name,
                "email": email,
                "job_title": title,
                "business_unit": unit,
                "line_manager": manager,
            },
        )
        return employee

    def _acme(self) -> Organization:
        org, _ = Organization.objects.get_or_create(
            slug="acme",
            defaults={"name": "Acme Consulting", "timezone": "Europe/London"},
        )
        with tenant_context(org):
            root = self._unit(org, "Acme Consulting", None)
            units = [
                self._unit(org, name, root)
                for name in (
                    "Technology Consulting",
                    "Strategy & Operations",
                    "Delivery Centre",
                )
            ]
            titles = {
                name: self._title(org, name)
                for name in (
                    "Managing Director",
                    "Engagement Manager",
                    "Senior Consultant",
                    "Consultant",
                    "Analyst",
                    "HR Business Partner",
                )
            }
            md = self._employee(
                org, "A0001", "Morgan Hayes", titles["Managing Director"], root, None
            )
            hr = self._employee(
                org, "A0002", "Harper Quinn", titles["HR Business Partner"], root, md
            )
            managers, counter = [], 3
            for index, unit in enumerate(units):
                manager = self._employee(
                    org,
                    f"A{counter:04d}",
                    f"{FIRST_NAMES[index]} {LAST_NAMES[index]}",
                    titles["Engagement Manager"],
                    unit,
                    md,
                )
                counter += 1
                managers.append(manager)
            people: list[Employee] = []
            ladder = ["Senior Consultant", "Consultant", "Consultant", "Analyst"]
            for i in range(35):
                unit_index = i % 3
                name = f"{FIRST_NAMES[(i + 3) % len(FIRST_NAMES)]} {LAST_NAMES[(i * 7 + 5) % len(LAST_NAMES)]}"
                people.append(
                    self._employee(
                        org,
                        f"A{counter:04d}",
                        name,
                        titles[ladder[i % len(ladder)]],
                        units[unit_index],
                        managers[unit_index],
                    )
                )
                counter += 1
            self._member(
                org, self._user("hr@acme.test", "Harper Quinn"), Role.HR_ADMIN, hr
            )
            self._member(
                org,
                self._user("manager@acme.test", f"{FIRST_NAMES[0]} {LAST_NAMES[0]}"),
                Role.MANAGER,
                managers[0],
            )
            self._member(
                org,
                self._user("reviewer@acme.test", f"{FIRST_NAMES[1]} {LAST_NAMES[1]}"),
                Role.MANAGER,
                managers[1],
            )
            self._member(
                org,
                self._user("approver@acme.test", "Morgan Hayes"),
                Role.MANAGER,
                md,
            )
            employee_user = self._user("employee@acme.test", people[0].full_name)
            self._member(org, employee_user, Role.EMPLOYEE, people[0])
        return org

    def _globex(self) -> Organization:
        org, _ = Organization.objects.get_or_create(
            slug="globex",
            defaults={"name": "Globex Engineering", "timezone": "America/New_York"},
        )
        with tenant_context(org):
            unit = self._unit(org, "Engineering", None)
            lead_title = self._title(org, "Project Lead")
            eng_title = self._title(org, "Engineer")
            hr_title = self._title(org, "HR Manager")
            lead = self._employee(org, "G001", "Rowan Blake", lead_title, unit, None)
            hr = self._employee(org, "G002", "Sasha Lorne", hr_title, unit, lead)
            for i in range(4):
                self._employee(
                    org,
                    f"G{i + 3:03d}",
                    f"{FIRST_NAMES[-i - 1]} {LAST_NAMES[-i - 1]}",
                    eng_title,
                    unit,
                    lead,
                )
            self._member(
                org, self._user("hr@globex.test", "Sasha Lorne"), Role.HR_ADMIN, hr
            )
        return org

    def _unit(
        self, org: Organization, name: str, parent: BusinessUnit | None
    ) -> BusinessUnit:
        unit, _ = BusinessUnit.objects.get_or_create(
            name=name, defaults={"organization": org, "parent": parent}
        )
        return unit

    def _title(self, org: Organization, name: str) -> JobTitle:
        title, _ = JobTitle.objects.get_or_create(
            name=name, defaults={"organization": org}
        )
        return title
