"""Shared fixtures. Tests run against PostgreSQL as the application role, so
row-level security is really in force; the owner role only creates and migrates."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client

from organizations.enums import Role
from organizations.models import Membership, Organization
from tests.factories import MembershipFactory, OrganizationFactory


@pytest.fixture(scope="session")
def django_db_setup(
    request: pytest.FixtureRequest,
    django_test_environment: None,
    django_db_blocker: Any,
) -> Iterator[None]:
    """Create and migrate the test database as the owner, then connect as the app role."""
    from django.test.utils import setup_databases, teardown_databases

    # One database per test process, so parallel runs on one machine never share one.
    test_settings = connections["default"].settings_dict.setdefault("TEST", {})
    if connections["default"].vendor == "postgresql":
        test_settings["NAME"] = f"test_hrms_{os.getpid()}"
    with django_db_blocker.unblock():
        db_cfg = setup_databases(
            verbosity=request.config.option.verbose,
            interactive=False,
            aliases={"default"},
            serialized_aliases=set(),
        )
        connection = connections["default"]
        owner = connection.settings_dict["USER"]
        app_role = settings.DATABASE_APP_ROLE
        if connection.vendor == "postgresql":
            if not app_role:
                pytest.exit("DATABASE_APP_ROLE must name the application role.", 2)
            with connection.cursor() as cursor:
                # Test-only: transactional tests (live server) reset tables by TRUNCATE.
                cursor.execute(
                    f'GRANT TRUNCATE ON ALL TABLES IN SCHEMA public TO "{app_role}"'
                )
            connection.close()
            connection.settings_dict["USER"] = app_role
    yield
    with django_db_blocker.unblock():
        connection = connections["default"]
        connection.close()
        connection.settings_dict["USER"] = owner
        teardown_databases(db_cfg, verbosity=request.config.option.verbose)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def org(db: None) -> Organization:
    return OrganizationFactory(slug="acme-test", name="Acme Test")


@pytest.fixture
def other_org(db: None) -> Organization:
    return OrganizationFactory(slug="other-test", name="Other Test")


@pytest.fixture
def make_member(db: None) -> Callable[..., Membership]:
    def make(
        organization: Organization, role: str = Role.EMPLOYEE, **kwargs: Any
    ) -> Membership:
        return MembershipFactory(organization=organization, role=role, **kwargs)

    return make


@pytest.fixture
def hr_admin(org: Organization, make_member: Callable[..., Membership]) -> Membership:
    return make_member(org, Role.HR_ADMIN)


@pytest.fixture
def manager(org: Organization, make_member: Callable[..., Membership]) -> Membership:
    return make_member(org, Role.MANAGER)


@pytest.fixture
def employee_member(
    org: Organization, make_member: Callable[..., Membership]
) -> Membership:
    return make_member(org, Role.EMPLOYEE)


@pytest.fixture
def client_as() -> Callable[[Membership | None], Client]:
    def make(membership: Membership | None) -> Client:
        client = Client()
        if membership is not None:
            client.force_login(
                membership.user, backend="django.contrib.auth.backends.ModelBackend"
            )
        return client

    return make


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(pytest.mark.slow)


os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
