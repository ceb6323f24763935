"""The seed_scale command: a synthetic organisation of any size, built with bulk inserts."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

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
from tests.factories import EmployeeFactory

pytestmark = pytest.mark.django_db


def seed(slug: str, employees: int, *extra: str) -> str:
    """People only: the whole world is tested in tests/seed/."""
    out = StringIO()
    call_command(
        "seed_scale",
        "--org",
        slug,
        "--employees",
        str(employees),
        "--people-only",
        *extra,
        stdout=out,
        stderr=StringIO(),
    )
    return out.getvalue()


def directory(slug: str) -> list[tuple[str, str, str, str, str | None, bool]]:
    organization = Organization.objects.get(slug=slug)
    with tenant_context(organization):
        return [
            (
                e.code,
                e.full_name,
                e.job_title.name,
                e.business_unit.name,
                e.line_manager.code if e.line_manager else None,
                e.is_active,
            )
            for e in Employee.objects.select_related(
                "job_title", "business_unit", "line_manager"
            ).order_by("code")
        ]


def test_seed_scale_creates_employees_units_titles_and_an_hr_admin():
    output = seed("scale-a", 100, "--seed", "3")

    organization = Organization.objects.get(slug="scale-a")
    with tenant_context(organization):
        employees = Employee.objects.count()
        units = BusinessUnit.objects.count()
        titles = JobTitle.objects.count()
        roles = dict(
            Membership.objects.values_list("role").annotate(n=Count("pk")).order_by()
        )
        hr = Membership.objects.select_related("user").get(role=Role.HR_ADMIN)
        hr_employee = Employee.objects.get(user=hr.user)
        usable = [
            m.user.email
            for m in Membership.objects.select_related("user")
            if m.user.has_usable_password()
        ]
    password = re.search(r"Password: (\S+)", output).group(1)
    assert employees == 100
    assert units == 1 + 8 + 64
    assert titles == 8
    # 100 people in a tree of fan-out 8: 13 have reports (0..12), one of them is HR.
    assert roles == {Role.HR_ADMIN: 1, Role.MANAGER: 12, Role.EMPLOYEE: 87}
    assert hr.user.email == "hr@scale-a.test"
    assert hr.user.check_password(password)
    assert hr_employee.code == "E000002"
    assert usable == ["hr@scale-a.test"]
    assert "hr@scale-a.test" in output


def test_seed_scale_line_manager_tree_has_one_root_and_no_cycles():
    seed("scale-tree", 300)

    organization = Organization.objects.get(slug="scale-tree")
    with tenant_context(organization):
        manager_of = dict(Employee.objects.values_list("pk", "line_manager_id"))
    roots = [pk for pk, manager in manager_of.items() if manager is None]
    for pk in manager_of:
        seen, current = set(), pk
        while current is not None:
            assert current not in seen, f"cycle through employee {current}"
            seen.add(current)
            current = manager_of[current]
    reports: dict[int, int] = {}
    for manager in manager_of.values():
        if manager is not None:
            reports[manager] = reports.get(manager, 0) + 1
    assert len(roots) == 1
    assert max(reports.values()) == 8


def test_seed_scale_is_deterministic_for_a_seed():
    seed("scale-one", 80, "--seed", "7", "--name", "Scale")
    seed("scale-two", 80, "--seed", "7", "--name", "Scale")
    seed("scale-three", 80, "--seed", "8", "--name", "Scale")

    one, two, three = (directory(s) for s in ("scale-one", "scale-two", "scale-three"))

    assert one == two
    assert one != three


def test_seed_scale_refuses_an_existing_organisation_without_replace():
    seed("scale-keep", 10)

    with pytest.raises(CommandError, match="already exists"):
        seed("scale-keep", 20)

    assert len(directory("scale-keep")) == 10


def test_seed_scale_replace_deletes_the_old_rows_and_creates_new_ones():
    seed("scale-again", 20)
    old = Organization.objects.get(slug="scale-again")
    hr_user = User.objects.get(email="hr@scale-again.test")

    output = seed("scale-again", 30, "--replace")
    connection.check_constraints()

    new = Organization.objects.get(slug="scale-again")
    with tenant_context(new):
        employees = Employee.objects.count()
        members = Membership.objects.count()
    with tenant_context(old):
        leftovers = Employee.objects.count()
    accounts = User.objects.filter(email__endswith="@scale-again.test")
    password = re.search(r"Password: (\S+)", output).group(1)
    assert new.pk != old.pk
    assert employees == 30
    assert members == 30
    assert leftovers == 0
    assert accounts.count() == 30
    assert not User.objects.filter(pk=hr_user.pk).exists()
    assert accounts.get(email="hr@scale-again.test").check_password(password)


def test_seed_scale_replace_leaves_other_organisations_alone(other_org):
    EmployeeFactory(organization=other_org, code="KEEP")
    seed("scale-wipe", 15)

    seed("scale-wipe", 15, "--replace")

    with tenant_context(other_org):
        codes = list(Employee.objects.values_list("code", flat=True))
    assert codes == ["KEEP"]


def test_seed_scale_rows_are_invisible_from_another_organisation(other_org):
    seed("scale-hidden", 25)

    with tenant_context(other_org):
        visible = Employee.objects.count()

    assert visible == 0


def test_seed_scale_query_count_grows_with_tree_depth_not_with_rows():
    # 10 and 72 employees both fill three levels of the tree; 500 needs a fourth.
    with CaptureQueriesContext(connection) as small:
        seed("scale-q10", 10)
    with CaptureQueriesContext(connection) as full:
        seed("scale-q72", 72)
    with CaptureQueriesContext(connection) as deeper:
        seed("scale-q500", 500)

    assert len(full) == len(small)
    assert len(deeper) == len(small) + 2


def test_seed_scale_rejects_a_bad_size_or_slug():
    with pytest.raises(CommandError, match="at least 1"):
        seed("scale-zero", 0)
    with pytest.raises(CommandError, match="--org"):
        seed("not a slug", 5)
    with pytest.raises(CommandError, match="at most 50"):
        seed("s" * 51, 5)

    assert not Organization.objects.filter(slug__startswith="scale-zero").exists()
