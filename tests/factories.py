"""factory-boy factories. Tenant rows derive their organisation from their parent and
are written inside that organisation's tenant context (scope + row-level security)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from organizations.enums import Role
from organizations.models import (
    BusinessUnit,
    Employee,
    Invitation,
    JobTitle,
    Membership,
    Organization,
    User,
)
from organizations.tenancy import tenant_context

TEST_PASSWORD = "correct-horse-battery-staple"


class OrganizationFactory(DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"org{n}")
    name = factory.Sequence(lambda n: f"Organisation {n}")
    timezone = "Europe/London"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Sequence(lambda n: f"Person {n}")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @classmethod
    def _after_postgeneration(
        cls, instance: User, create: bool, results: Any = None
    ) -> None:
        if create:
            instance.save()


class TenantFactory(DjangoModelFactory):
    """Creates the row inside its organisation's tenant context."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class: type, *args: Any, **kwargs: Any) -> Any:
        with tenant_context(kwargs["organization"]):
            return super()._create(model_class, *args, **kwargs)


class BusinessUnitFactory(TenantFactory):
    class Meta:
        model = BusinessUnit

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Unit {n}")


class JobTitleFactory(TenantFactory):
    class Meta:
        model = JobTitle

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Title {n}")


class EmployeeFactory(TenantFactory):
    class Meta:
        model = Employee

    organization = factory.SubFactory(OrganizationFactory)
    code = factory.Sequence(lambda n: f"E{n:05d}")
    full_name = factory.Sequence(lambda n: f"Employee {n}")
    email = factory.Sequence(lambda n: f"employee{n}@example.test")
    job_title = factory.SubFactory(
        JobTitleFactory, organization=factory.SelfAttribute("..organization")
    )
    business_unit = factory.SubFactory(
        BusinessUnitFactory, organization=factory.SelfAttribute("..organization")
    )


class MembershipFactory(TenantFactory):
    """A member with a login and a directory entry (``employee``) in the organisation."""

    class Meta:
        model = Membership
        skip_postgeneration_save = True  # the hook saves the Employee, not this row

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.EMPLOYEE

    @factory.post_generation
    def employee(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if not create:
            return
        if extracted is False:
            return
        if extracted is not None:
            with tenant_context(self.organization):
                extracted.user = self.user
                extracted.save()
            return
        EmployeeFactory(
            organization=self.organization,
            user=self.user,
            full_name=self.user.full_name,
            email=self.user.email,
            **kwargs,
        )


class InvitationFactory(TenantFactory):
    class Meta:
        model = Invitation

    organization = factory.SubFactory(OrganizationFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.test")
    role = Role.EMPLOYEE
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))
