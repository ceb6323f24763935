"""factory-boy factories for the competencies app. Each tenant row derives its
organisation from its parent and is written inside that organisation's tenant context."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import factory

from competencies.models import (
    Competency,
    CompetencyCategory,
    CompetencyDescriptor,
    CompetencySet,
    CompetencySetItem,
    CompetencySetJobTitle,
    RatingLevel,
    RatingScale,
)
from organizations.tenancy import tenant_context
from tests.factories import JobTitleFactory, OrganizationFactory, TenantFactory

LABELS = {
    1: "Below expectations",
    2: "Partly meets",
    3: "Meets expectations",
    4: "Exceeds",
    5: "Outstanding",
}


class RatingScaleFactory(TenantFactory):
    """A 1–5 scale with whole points; ``levels=True`` (the default) labels every
    point. Pass ``levels=False`` for a bare scale."""

    class Meta:
        model = RatingScale
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Scale {n:04d}")
    min_value = Decimal(1)
    max_value = Decimal(5)
    step = Decimal(1)
    is_default = False

    @factory.post_generation
    def levels(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if not create or extracted is False:
            return
        with tenant_context(self.organization):
            for value in self.points():
                RatingLevel.objects.create(
                    organization=self.organization,
                    scale=self,
                    value=value,
                    label=LABELS.get(int(value), f"Point {value}")
                    if value == value.to_integral()
                    else f"Point {value}",
                    description=f"Description of {value}",
                )


class DefaultScaleFactory(RatingScaleFactory):
    name = "Standard 1–5"
    is_default = True


class CompetencyCategoryFactory(TenantFactory):
    class Meta:
        model = CompetencyCategory

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Category {n:04d}")


class CompetencyFactory(TenantFactory):
    class Meta:
        model = Competency

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Competency {n:04d}")
    category = factory.SubFactory(
        CompetencyCategoryFactory, organization=factory.SelfAttribute("..organization")
    )
    description = "What it is about"


class CompetencyDescriptorFactory(TenantFactory):
    class Meta:
        model = CompetencyDescriptor

    competency = factory.SubFactory(CompetencyFactory)
    organization = factory.LazyAttribute(lambda o: o.competency.organization)
    value = Decimal(3)
    text = factory.Sequence(lambda n: f"Behaviour seen at this level {n:04d}")


class CompetencySetFactory(TenantFactory):
    class Meta:
        model = CompetencySet

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Set {n:04d}")
    description = "A framework"


class CompetencySetJobTitleFactory(TenantFactory):
    class Meta:
        model = CompetencySetJobTitle

    competency_set = factory.SubFactory(CompetencySetFactory)
    organization = factory.LazyAttribute(lambda o: o.competency_set.organization)
    job_title = factory.SubFactory(
        JobTitleFactory, organization=factory.SelfAttribute("..organization")
    )


class CompetencySetItemFactory(TenantFactory):
    class Meta:
        model = CompetencySetItem

    competency_set = factory.SubFactory(CompetencySetFactory)
    organization = factory.LazyAttribute(lambda o: o.competency_set.organization)
    competency = factory.SubFactory(
        CompetencyFactory, organization=factory.SelfAttribute("..organization")
    )
    weight = Decimal(1)
    expected_level = Decimal(3)
