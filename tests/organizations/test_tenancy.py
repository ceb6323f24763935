"""The tenant isolation layers: scoped managers, row-level security, task scoping."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.utils import ProgrammingError
from django_scopes.exceptions import ScopeError

from organizations.models import BusinessUnit, Employee
from organizations.tasks import send_invitation_email, tenant_task
from organizations.tenancy import (
    RLS_EXEMPT_TABLES,
    UnscopedQuerySet,
    tenant_context,
    tenant_tables,
)
from tests.factories import (
    BusinessUnitFactory,
    EmployeeFactory,
    InvitationFactory,
    OrganizationFactory,
)

pytestmark = pytest.mark.django_db


def test_scoped_manager_outside_a_scope_raises_on_every_way_of_running_it(org):
    EmployeeFactory(organization=org)
    qs = Employee.objects.filter(is_active=True).order_by("code")

    assert isinstance(qs, UnscopedQuerySet)
    for run in (list, len, bool):
        with pytest.raises(ScopeError):
            run(qs)
    with pytest.raises(ScopeError):
        qs.count()
    with pytest.raises(ScopeError):
        qs.exists()
    with pytest.raises(ScopeError):
        qs.update(is_active=False)
    with pytest.raises(ScopeError):
        qs.delete()
    with pytest.raises(ScopeError):
        Employee.objects.get(pk=1)


def test_building_a_queryset_runs_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        Employee.objects.filter(full_name__icontains="a").select_related("job_title")


def test_scoped_manager_inside_a_scope_sees_only_that_organization(org, other_org):
    mine = EmployeeFactory(organization=org)
    EmployeeFactory(organization=other_org)

    with tenant_context(org):
        visible = list(Employee.objects.all())

    assert visible == [mine]


def test_tenant_tables_all_have_forced_rls_with_using_and_with_check():
    if connection.vendor != "postgresql":
        pytest.skip("row-level security exists on PostgreSQL only")
    expected = tenant_tables()

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                   p.qual IS NOT NULL, p.with_check IS NOT NULL
            FROM information_schema.columns col
            JOIN pg_class c ON c.relname = col.table_name
            JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = col.table_schema
            LEFT JOIN pg_policies p ON p.tablename = c.relname AND p.policyname = 'tenant_isolation'
            WHERE col.table_schema = 'public' AND col.column_name = 'organization_id'
              AND c.relkind = 'r'
            ORDER BY c.relname
            """
        )
        rows = cursor.fetchall()

    tables_with_org = {row[0] for row in rows} - RLS_EXEMPT_TABLES
    assert tables_with_org == set(expected)
    assert "organizations_employee" in tables_with_org
    assert "organizations_historicalemployee" in tables_with_org
    unprotected = [
        row[0] for row in rows if row[0] not in RLS_EXEMPT_TABLES and not all(row[1:])
    ]
    assert unprotected == []


def test_application_role_is_not_privileged():
    if connection.vendor != "postgresql":
        pytest.skip("roles exist on PostgreSQL only")

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        )
        superuser, bypass = cursor.fetchone()
        cursor.execute(
            """
            SELECT count(*) FROM pg_tables
            WHERE schemaname = 'public' AND tableowner = current_user
            """
        )
        owned = cursor.fetchone()[0]

    assert (superuser, bypass, owned) == (False, False, 0)


def test_raw_sql_without_tenant_setting_returns_no_rows(org):
    if connection.vendor != "postgresql":
        pytest.skip("row-level security exists on PostgreSQL only")
    EmployeeFactory(organization=org)

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM organizations_employee")
        count = cursor.fetchone()[0]

    assert count == 0


def test_raw_sql_inside_one_tenant_sees_only_its_rows(org, other_org):
    if connection.vendor != "postgresql":
        pytest.skip("row-level security exists on PostgreSQL only")
    EmployeeFactory(organization=org)
    EmployeeFactory(organization=other_org)
    EmployeeFactory(organization=other_org)

    with tenant_context(org), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM organizations_employee")
        count = cursor.fetchone()[0]

    assert count == 1


def test_rls_refuses_writing_a_row_for_another_tenant(org, other_org):
    if connection.vendor != "postgresql":
        pytest.skip("row-level security exists on PostgreSQL only")

    with (
        pytest.raises(ProgrammingError, match="row-level security"),
        tenant_context(org),
    ):
        BusinessUnit.objects.create(organization=other_org, name="Smuggled")


def test_reference_to_another_tenants_row_is_refused_by_the_database(org, other_org):
    if connection.vendor != "postgresql":
        pytest.skip("composite tenant keys exist on PostgreSQL only")
    foreign_unit = BusinessUnitFactory(organization=other_org)

    with tenant_context(org), pytest.raises(IntegrityError, match="tenant_fk"):
        _save_employee_pointing_at(org, foreign_unit)


def _save_employee_pointing_at(org, unit):
    with transaction.atomic():
        Employee.objects.create(
            organization=org,
            code="X1",
            full_name="Cross Tenant",
            email="x@example.test",
            business_unit_id=unit.pk,
        )
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_tenant_task_without_organization_id_fails():
    @tenant_task
    def body(*, organization):
        return organization.pk

    with pytest.raises(TypeError):
        body()


def test_celery_task_without_organization_id_fails(org):
    invitation = InvitationFactory(organization=org)

    with pytest.raises(TypeError):
        send_invitation_email.apply(kwargs={"invitation_id": invitation.pk}, throw=True)


def test_celery_task_enters_its_tenant(org, mailoutbox):
    invitation = InvitationFactory(organization=org, email="new@example.test")

    result = send_invitation_email.apply(
        kwargs={"organization_id": org.pk, "invitation_id": invitation.pk}, throw=True
    )

    assert result.get() is True
    assert [m.to for m in mailoutbox] == [["new@example.test"]]


def test_celery_task_cannot_reach_another_tenants_row(org, other_org, mailoutbox):
    invitation = InvitationFactory(organization=other_org)

    result = send_invitation_email.apply(
        kwargs={"organization_id": org.pk, "invitation_id": invitation.pk}, throw=True
    )

    assert result.get() is False
    assert mailoutbox == []


def test_nested_tenant_context_restores_the_outer_organization(org):
    other = OrganizationFactory(slug="nested-other")
    EmployeeFactory(organization=org)

    with tenant_context(org):
        with tenant_context(other):
            inner = Employee.objects.count()
        outer = Employee.objects.count()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM organizations_employee")
                raw_outer = cursor.fetchone()[0]
        else:
            raw_outer = outer

    assert (inner, outer, raw_outer) == (0, 1, 1)
