"""The competencies demo seeder: a default 1–5 scale everywhere, and for acme a
library with a descriptor for every point, and the five sets. Safe to run twice."""

from __future__ import annotations

from decimal import Decimal

import pytest

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
from demo import competencies as demo
from demo.seed import SEEDERS
from organizations.models import Organization
from organizations.tenancy import tenant_context
from tests.factories import JobTitleFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

TITLES = (
    "Managing Director",
    "Engagement Manager",
    "Senior Consultant",
    "Consultant",
    "Analyst",
    "HR Business Partner",
)


def _counts(org: Organization) -> dict[str, int]:
    with tenant_context(org):
        return {
            model.__name__: model.objects.count()
            for model in (
                RatingScale,
                RatingLevel,
                CompetencyCategory,
                Competency,
                CompetencyDescriptor,
                CompetencySet,
                CompetencySetJobTitle,
                CompetencySetItem,
            )
        }


def _seed(org: Organization) -> None:
    with tenant_context(org):
        demo.seed(org)


def test_demo_seeder_runs_before_the_engagements_seeder() -> None:
    modules = [seeder.__module__ for seeder in SEEDERS]

    assert "demo.competencies" in modules
    if "demo.engagements" in modules:
        assert modules.index("demo.competencies") < modules.index("demo.engagements")


def test_demo_seeds_acme_library_and_sets_and_is_idempotent() -> None:
    acme = OrganizationFactory(slug="acme", name="Acme")
    for name in TITLES:
        JobTitleFactory(organization=acme, name=name)

    _seed(acme)
    first = _counts(acme)
    _seed(acme)

    assert _counts(acme) == first
    assert first["RatingScale"] == 1
    assert first["RatingLevel"] == 5
    assert first["CompetencyCategory"] == 4
    assert 14 <= first["Competency"] <= 16
    assert first["CompetencyDescriptor"] == first["Competency"] * 5
    with tenant_context(acme):
        scale = RatingScale.objects.get()
        labels = list(scale.levels.values_list("value", "label"))
        per_category = sorted(
            CompetencyCategory.objects.values_list("name", flat=True)
            .filter(competencies__isnull=False)
            .distinct()
        )
        sets = {
            s.name: sorted(s.job_titles.values_list("name", flat=True))
            for s in CompetencySet.objects.all()
        }
        item_levels = set(
            CompetencySetItem.objects.values_list("expected_level", flat=True)
        )
    assert (scale.name, scale.is_default) == ("Standard 1–5", True)
    assert labels == [
        (Decimal(1), "Below expectations"),
        (Decimal(2), "Partly meets"),
        (Decimal(3), "Meets expectations"),
        (Decimal(4), "Exceeds"),
        (Decimal(5), "Outstanding"),
    ]
    assert per_category == ["Behavioural", "Client-facing", "Leadership", "Technical"]
    assert sets == {
        "Consultant": ["Analyst", "Consultant"],
        "Senior Consultant": ["Senior Consultant"],
        "Engagement Manager": ["Engagement Manager", "Managing Director"],
        "Client delivery": [],
        "Internal improvement": [],
    }
    assert item_levels <= {Decimal(n) for n in range(1, 6)}


def test_demo_seeds_only_the_scale_elsewhere() -> None:
    globex = OrganizationFactory(slug="globex", name="Globex")

    _seed(globex)
    _seed(globex)

    counts = _counts(globex)
    assert (counts["RatingScale"], counts["RatingLevel"]) == (1, 5)
    assert counts["Competency"] == counts["CompetencySet"] == 0
