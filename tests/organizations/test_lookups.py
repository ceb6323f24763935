"""``field__any`` and ``field__among``: one array parameter, an ordinary query even
when empty."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from organizations.lookups import Ids
from organizations.models import Employee
from organizations.tenancy import tenant_context
from tests.factories import EmployeeFactory, OrganizationFactory


@pytest.mark.django_db
def test_any_matches_the_listed_ids_through_a_relation_too():
    org = OrganizationFactory()
    boss = EmployeeFactory(organization=org, full_name="Boss")
    ada = EmployeeFactory(organization=org, full_name="Ada", line_manager=boss)
    EmployeeFactory(organization=org, full_name="Ben")
    with tenant_context(org):
        assert list(
            Employee.objects.filter(pk__any=[ada.pk, boss.pk]).values_list(
                "full_name", flat=True
            )
        ) == ["Ada", "Boss"]
        assert list(
            Employee.objects.filter(line_manager__any=[boss.pk]).values_list(
                "full_name", flat=True
            )
        ) == ["Ada"]


@pytest.mark.django_db
def test_an_empty_list_is_a_query_that_matches_nothing():
    org = OrganizationFactory()
    EmployeeFactory(organization=org)
    with tenant_context(org), CaptureQueriesContext(connection) as captured:
        found = list(Employee.objects.filter(pk__any=[]))

    assert found == []
    assert len(captured.captured_queries) == 1  # ``__in=[]`` would run none


@pytest.mark.django_db
def test_ids_read_once_match_as_the_list_does_sent_as_one_array_text():
    org = OrganizationFactory()
    boss = EmployeeFactory(organization=org, full_name="Boss")
    ada = EmployeeFactory(organization=org, full_name="Ada", line_manager=boss)
    EmployeeFactory(organization=org, full_name="Ben")
    ids = Ids([ada.pk, boss.pk])
    with tenant_context(org), CaptureQueriesContext(connection) as captured:
        names = list(
            Employee.objects.filter(pk__any=ids).values_list("full_name", flat=True)
        )
        reports = list(
            Employee.objects.filter(line_manager__any=ids).values_list(
                "full_name", flat=True
            )
        )
        nobody = list(Employee.objects.filter(pk__any=Ids([])))

    assert names == ["Ada", "Boss"]
    assert reports == ["Ada"]
    assert nobody == []
    assert len(captured.captured_queries) == 3
    assert ids.text() == f"{{{ada.pk},{boss.pk}}}"
    assert len(ids) == 2
    assert list(ids) == [ada.pk, boss.pk]


@pytest.mark.django_db
def test_among_matches_as_any_does_as_a_set_to_join():
    org = OrganizationFactory()
    boss = EmployeeFactory(organization=org, full_name="Boss")
    ada = EmployeeFactory(organization=org, full_name="Ada", line_manager=boss)
    EmployeeFactory(organization=org, full_name="Ben")
    with tenant_context(org), CaptureQueriesContext(connection) as captured:
        names = list(
            Employee.objects.filter(pk__among=Ids([ada.pk, boss.pk])).values_list(
                "full_name", flat=True
            )
        )
        reports = list(
            Employee.objects.filter(line_manager__among=[boss.pk]).values_list(
                "full_name", flat=True
            )
        )
        nobody = list(Employee.objects.filter(pk__among=Ids([])))

    assert names == ["Ada", "Boss"]
    assert reports == ["Ada"]
    assert nobody == []
    assert len(captured.captured_queries) == 3  # an empty set is a query too
    assert "unnest" in captured.captured_queries[0]["sql"]
