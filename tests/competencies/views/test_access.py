"""Who may use each competencies URL: HR admins manage everything; every member reads
the library; other roles get 403 on management pages before any lookup (the same for
this organisation's ids, another's and unknown ones); another organisation's objects
are 404 for HR admins; non-members get 404 and anonymous callers the login page.
Refused requests change nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import reverse

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
from organizations.enums import Role
from organizations.models import Organization
from organizations.tenancy import tenant_context
from tests.competencies.views.helpers import ClientAs, MakeMember
from tests.competency_factories import (
    CompetencyDescriptorFactory,
    CompetencySetItemFactory,
    DefaultScaleFactory,
)

pytestmark = pytest.mark.django_db

MISSING = 999_999_999
ROLES = (Role.HR_ADMIN, Role.MANAGER, Role.EMPLOYEE)
MODELS = (
    RatingScale,
    RatingLevel,
    CompetencyCategory,
    Competency,
    CompetencyDescriptor,
    CompetencySet,
    CompetencySetJobTitle,
    CompetencySetItem,
)


@dataclass
class World:
    org: Organization
    ids: dict[str, tuple[int, ...]]  # kind -> ids in this organisation
    foreign: dict[str, tuple[int, ...]]  # kind -> ids in another organisation


def _objects(org: Organization) -> dict[str, tuple[int, ...]]:
    scale = DefaultScaleFactory(organization=org)
    item = CompetencySetItemFactory(
        competency_set__organization=org, competency__organization=org
    )
    CompetencyDescriptorFactory(competency=item.competency)
    return {
        "scale": (scale.pk,),
        "competency": (item.competency.pk,),
        "set": (item.competency_set.pk,),
        "item": (item.competency_set.pk, item.pk),
    }


@pytest.fixture
def world(org: Organization, other_org: Organization) -> World:
    return World(org=org, ids=_objects(org), foreign=_objects(other_org))


def _state(org: Organization) -> list[Any]:
    with tenant_context(org):
        return [sorted(m.objects.values_list()) for m in MODELS]


# (name, kind of ids or None, method, roles allowed, status when allowed)
READ = (Role.HR_ADMIN, Role.MANAGER, Role.EMPLOYEE)
HR = (Role.HR_ADMIN,)
CASES = [
    ("scales", None, "get", HR, 200),
    ("scale_create", None, "get", HR, 200),
    ("scale_create", None, "post", HR, 400),
    ("scale_edit", "scale", "get", HR, 200),
    ("scale_edit", "scale", "post", HR, 400),
    ("scale_set_default", "scale", "post", HR, 302),
    ("scale_copy", "scale", "post", HR, 302),
    ("competencies", None, "get", READ, 200),
    ("competency_create", None, "get", HR, 200),
    ("competency_create", None, "post", HR, 400),
    ("categories", None, "get", HR, 200),
    ("categories", None, "post", HR, 400),
    ("competency_detail", "competency", "get", READ, 200),
    ("competency_edit", "competency", "get", HR, 200),
    ("competency_edit", "competency", "post", HR, 400),
    ("competency_archive", "competency", "post", HR, 302),
    ("competency_delete", "competency", "post", HR, 302),
    ("competency_sets", None, "get", HR, 200),
    ("competency_sets", None, "post", HR, 400),
    ("competency_set_detail", "set", "get", HR, 200),
    ("competency_set_detail", "set", "post", HR, 400),
    ("competency_set_item_add", "set", "post", HR, 400),
    ("competency_set_item_update", "item", "post", HR, 400),
    ("competency_set_item_remove", "item", "post", HR, 302),
]
# Writes that succeed for HR admins; every other case must leave the data unchanged.
WRITES = {
    ("scale_set_default", "post"),
    ("scale_copy", "post"),
    ("competency_archive", "post"),
    ("competency_delete", "post"),
    ("competency_set_item_remove", "post"),
}


def _address(world: World, name: str, kind: str | None, target: str) -> str:
    ids: tuple[int, ...] = ()
    if kind is not None:
        source = {"own": world.ids, "foreign": world.foreign}.get(target)
        ids = source[kind] if source else (MISSING,) * len(world.ids[kind])
    return reverse(f"competencies:{name}", args=[world.org.slug, *ids])


def _call(client: Any, method: str, address: str) -> int:
    response = client.get(address) if method == "get" else client.post(address, {})
    return response.status_code


@pytest.mark.parametrize(("name", "kind", "method", "allowed", "status"), CASES)
@pytest.mark.parametrize("role", ROLES)
def test_competencies_urls_answer_each_role(
    client_as: ClientAs,
    make_member: MakeMember,
    world: World,
    role: str,
    name: str,
    kind: str | None,
    method: str,
    allowed: tuple[str, ...],
    status: int,
) -> None:
    client = client_as(make_member(world.org, role))
    before = _state(world.org)

    own = _call(client, method, _address(world, name, kind, "own"))

    if role in allowed:
        assert own == status
        if (name, method) not in WRITES:
            assert _state(world.org) == before
    else:
        assert own == 403
        assert _state(world.org) == before


@pytest.mark.parametrize(
    ("name", "kind", "method", "allowed", "status"),
    [case for case in CASES if case[1] is not None],
)
@pytest.mark.parametrize("target", ["foreign", "missing"])
@pytest.mark.parametrize("role", ROLES)
def test_competencies_urls_hide_other_organisations_objects(
    client_as: ClientAs,
    make_member: MakeMember,
    world: World,
    other_org: Organization,
    role: str,
    target: str,
    name: str,
    kind: str | None,
    method: str,
    allowed: tuple[str, ...],
    status: int,
) -> None:
    client = client_as(make_member(world.org, role))
    before = (_state(world.org), _state(other_org))

    answer = _call(client, method, _address(world, name, kind, target))

    # HR-only pages check the role before the lookup, so other roles get the same
    # 403 for every id; whoever may look gets 404 for ids that are not theirs.
    assert answer == (404 if role in allowed else 403)
    assert (_state(world.org), _state(other_org)) == before


@pytest.mark.parametrize(("name", "kind", "method", "allowed", "status"), CASES)
def test_competencies_urls_refuse_anonymous_and_outsiders(
    client_as: ClientAs,
    make_member: MakeMember,
    world: World,
    other_org: Organization,
    name: str,
    kind: str | None,
    method: str,
    allowed: tuple[str, ...],
    status: int,
) -> None:
    address = _address(world, name, kind, "own")
    outsider = client_as(make_member(other_org, Role.HR_ADMIN))
    before = _state(world.org)

    anonymous = client_as(None)
    anonymous_answer = (
        anonymous.get(address) if method == "get" else anonymous.post(address, {})
    )
    outsider_answer = _call(outsider, method, address)

    assert anonymous_answer.status_code == 302
    assert anonymous_answer.url.startswith(reverse("login"))
    assert outsider_answer == 404
    assert _state(world.org) == before


@pytest.mark.parametrize(
    "name",
    sorted(
        {name for name, _kind, method, _a, _s in CASES if method == "post"}
        - {
            "scale_create",
            "scale_edit",
            "competency_create",
            "competency_edit",
            "categories",
            "competency_sets",
            "competency_set_detail",
        }
    ),
)
def test_competencies_post_only_urls_refuse_get(
    client_as: ClientAs, make_member: MakeMember, world: World, name: str
) -> None:
    kind = next(k for n, k, *_ in CASES if n == name)
    client = client_as(make_member(world.org, Role.HR_ADMIN))

    answer = client.get(_address(world, name, kind, "own"))

    assert answer.status_code == 405
