"""The authorisation matrix over the organizations app's URLs (the account pages, the
home page and the health probe included): every target x every actor x GET and POST
against ``tests/authz/policies/organizations.py``, POSTs that name another
organisation's object, and unknown organisation slugs."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.authz.engine import AppMatrix, client_for
from tests.authz.policies.organizations import POLICY
from tests.authz.policy import Actor


class TestOrganizationsMatrix(AppMatrix):
    policy = POLICY
    foreign_references = [
        ("organizations:employee_edit", "line_manager", "employee"),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("actor", [Actor.HR_ADMIN, Actor.OUTSIDER])
def test_unknown_organisation_slug_looks_like_one_the_caller_is_not_in(world, actor):
    client = client_for(world, actor)
    unknown = reverse("organizations:home", args=["no-such-organisation"])
    not_mine = reverse("organizations:home", args=[world.org.slug])
    outsider = client_for(world, Actor.OUTSIDER)

    response = client.get(unknown)

    assert response.status_code == outsider.get(not_mine).status_code == 404
