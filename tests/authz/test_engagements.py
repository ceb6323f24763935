"""The authorisation matrix over the engagements app's URLs: every target x every actor
x GET and POST against ``tests/authz/policies/engagements.py``, POSTs that name another
organisation's object, and what the engagement list and the engagement page show each
member."""

from __future__ import annotations

import pytest
from django.urls import reverse

from engagements.models import Engagement
from organizations.tenancy import tenant_context
from tests.authz.engine import AppMatrix, client_for
from tests.authz.policies.engagements import POLICY
from tests.authz.policy import ACTORS, Actor, Target
from tests.authz.world_engagements import TEAMMATE_PROGRESS


class TestEngagementsMatrix(AppMatrix):
    policy = POLICY
    foreign_references = [
        ("engagements:engagement_create", "client", "client"),
        ("engagements:engagement_edit", "client", "client"),
        ("engagements:engagement_staff", "cycle", "cycle"),
        ("engagements:engagement_staff", "employees", "employee"),
        ("engagements:engagement_role_assign", "employee", "employee"),
        ("engagements:engagement_apply_template", "template", "template"),
        ("engagements:engagement_apply_template", "cycle", "cycle"),
        ("engagements:role_rules", "job_title", "job_title"),
        ("engagements:plan_edit", "reviewer", "employee"),
        ("engagements:plan_edit", "approver", "employee"),
        ("engagements:plan_competency_add", "competency", "competency"),
        ("engagements:template_competency_add", "competency", "competency"),
        ("engagements:engagement_types", "competency_set", "competency_set"),
    ]


@pytest.mark.django_db
def test_the_engagement_list_shows_each_member_the_engagements_they_may_see(world):
    """The engagement, where ``self`` is staffed, and the other engagement, where
    ``other_employee`` is: each member lists those they may open, no others."""
    engagement = world.objects[Target.OWN]["engagement"]["pk"]
    with tenant_context(world.org):
        other = Engagement.objects.exclude(pk=engagement).get().pk
    url = reverse("engagements:engagements", args=[world.org.slug])
    members = [a for a in ACTORS if a not in (Actor.ANONYMOUS, Actor.OUTSIDER)]

    listed = {
        actor: {e.pk for e in client_for(world, actor).get(url).context["engagements"]}
        for actor in members
    }

    assert listed == {
        Actor.HR_ADMIN: {engagement, other},
        Actor.LINE_MANAGER: {engagement},
        Actor.OTHER_MANAGER: {other},
        Actor.SELF: {engagement},
        Actor.OTHER_EMPLOYEE: {other},
        Actor.PLANNER: {engagement},
        Actor.OTHER_PLANNER: {other},
        Actor.REVIEWER: {engagement},
    }


@pytest.mark.django_db
def test_the_engagement_page_shows_plan_figures_only_to_who_may_see_the_plan(world):
    """The team table lists everyone staffed on the engagement; the figures that come
    from each plan's goals (count, progress, overdue) only for plans the viewer may
    open, like the activity and history sections."""
    engagement = world.objects[Target.OWN]["engagement"]["pk"]
    url = reverse("engagements:engagement_detail", args=[world.org.slug, engagement])
    figures = f'value="{TEAMMATE_PROGRESS}" max="100"'
    viewers = (
        Actor.HR_ADMIN,
        Actor.PLANNER,
        Actor.REVIEWER,
        Actor.SELF,
        Actor.LINE_MANAGER,
    )

    shown = {
        actor: figures in client_for(world, actor).get(url).content.decode()
        for actor in viewers
    }

    assert shown == {
        Actor.HR_ADMIN: True,
        Actor.PLANNER: True,
        Actor.REVIEWER: True,
        Actor.SELF: False,
        Actor.LINE_MANAGER: False,
    }
