"""The demo organisations, people, line-manager tree and logins (idempotent).

``acme`` is a consulting firm of about 40 people with a demo login for each role;
``globex`` is a small second tenant that must never see acme's data.
"""

from __future__ import annotations

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


def _user(email: str, full_name: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email, DEMO_PASSWORD, full_name=full_name)
    return user


def _member(org: Organization, user: User, role: str, employee: Employee) -> None:
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


def acme() -> Organization:
    org, _ = Organization.objects.get_or_create(
        slug="acme",
        defaults={"name": "Acme Consulting", "timezone": "Europe/London"},
    )
    with tenant_context(org):
        root = _unit(org, "Acme Consulting", None)
        units = [
            _unit(org, name, root)
            for name in (
                "Technology Consulting",
                "Strategy & Operations",
                "Delivery Centre",
            )
        ]
        titles = {
            name: _title(org, name)
            for name in (
                "Managing Director",
                "Engagement Manager",
                "Senior Consultant",
                "Consultant",
                "Analyst",
                "HR Business Partner",
            )
        }
        md = _employee(
            org, "A0001", "Morgan Hayes", titles["Managing Director"], root, None
        )
        hr = _employee(
            org, "A0002", "Harper Quinn", titles["HR Business Partner"], root, md
        )
        managers, counter = [], 3
        for index, unit in enumerate(units):
            manager = _employee(
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
                _employee(
                    org,
                    f"A{counter:04d}",
                    name,
                    titles[ladder[i % len(ladder)]],
                    units[unit_index],
                    managers[unit_index],
                )
            )
            counter += 1
        _member(org, _user("hr@acme.test", "Harper Quinn"), Role.HR_ADMIN, hr)
        _member(
            org,
            _user("manager@acme.test", f"{FIRST_NAMES[0]} {LAST_NAMES[0]}"),
            Role.MANAGER,
            managers[0],
        )
        _member(
            org,
            _user("reviewer@acme.test", f"{FIRST_NAMES[1]} {LAST_NAMES[1]}"),
            Role.MANAGER,
            managers[1],
        )
        _member(
            org,
            _user("approver@acme.test", "Morgan Hayes"),
            Role.MANAGER,
            md,
        )
        employee_user = _user("employee@acme.test", people[0].full_name)
        _member(org, employee_user, Role.EMPLOYEE, people[0])
    return org


def globex() -> Organization:
    org, _ = Organization.objects.get_or_create(
        slug="globex",
        defaults={"name": "Globex Engineering", "timezone": "America/New_York"},
    )
    with tenant_context(org):
        unit = _unit(org, "Engineering", None)
        lead_title = _title(org, "Project Lead")
        eng_title = _title(org, "Engineer")
        hr_title = _title(org, "HR Manager")
        lead = _employee(org, "G001", "Rowan Blake", lead_title, unit, None)
        hr = _employee(org, "G002", "Sasha Lorne", hr_title, unit, lead)
        for i in range(4):
            _employee(
                org,
                f"G{i + 3:03d}",
                f"{FIRST_NAMES[-i - 1]} {LAST_NAMES[-i - 1]}",
                eng_title,
                unit,
                lead,
            )
        _member(org, _user("hr@globex.test", "Sasha Lorne"), Role.HR_ADMIN, hr)
    return org


def _unit(org: Organization, name: str, parent: BusinessUnit | None) -> BusinessUnit:
    unit, _ = BusinessUnit.objects.get_or_create(
        name=name, defaults={"organization": org, "parent": parent}
    )
    return unit


def _title(org: Organization, name: str) -> JobTitle:
    title, _ = JobTitle.objects.get_or_create(name=name, defaults={"organization": org})
    return title
