"""``feedback.selectors.access`` writes who reads what as unions of index-backed
subqueries. Here the same rules are written the plain way (one condition with ORs
across joins, guardian's own lookups), as they were before, and both are compared
on an organisation drawn with every relationship: authors, subjects, line managers
(and their own managers), reviewers and approvers directly and through a group,
planners and contributors, members without a directory entry, HR admins, both
visibilities, withdrawn feedback, general feedback, and another organisation's rows.
"""

from __future__ import annotations

from itertools import cycle, permutations
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db.models import Q, QuerySet
from django.utils import timezone
from guardian.shortcuts import assign_perm, get_objects_for_user

from engagements.enums import EngagementRole
from engagements.models import Engagement
from engagements.selectors.access import engagements_with_perm
from engagements.services.roles import assign_role
from feedback.enums import Visibility
from feedback.models import Feedback, FeedbackRequest
from feedback.permissions import READER_PERMS
from feedback.selectors.access import (
    feedback_shared_with,
    feedback_visible_to,
    feedback_written_by,
    requests_visible_to,
    team_feedback,
)
from feedback.selectors.requests import requests_about_others, requests_by_or_about
from organizations.enums import Role
from organizations.models import Employee, Membership, Organization
from organizations.tenancy import tenant_context
from tests.engagement_factories import EngagementFactory
from tests.factories import MembershipFactory
from tests.feedback_factories import FeedbackFactory, FeedbackRequestFactory

pytestmark = pytest.mark.django_db


# --- The rules written the plain way -------------------------------------------------


def _entitled(membership: Membership) -> Q:
    condition = Q(subject__line_manager__user_id=membership.user_id)
    for perm in READER_PERMS:
        condition |= Q(
            engagement__in=engagements_with_perm(membership, perm).values("pk")
        )
    return condition


def plain_feedback_visible_to(membership: Membership) -> QuerySet[Feedback]:
    qs = Feedback.objects.filter(withdrawn_at__isnull=True)
    about_me = Q(subject__user_id=membership.user_id)
    if membership.is_hr_admin:
        return qs.exclude(about_me & Q(visibility=Visibility.MANAGERS_ONLY))
    return qs.filter(
        Q(author__user_id=membership.user_id)
        | (about_me & Q(visibility=Visibility.SHARED))
        | (_entitled(membership) & ~about_me)
    )


def plain_team_feedback(membership: Membership) -> QuerySet[Feedback]:
    qs = Feedback.objects.filter(withdrawn_at__isnull=True).exclude(
        subject__user_id=membership.user_id
    )
    if membership.is_hr_admin:
        return qs
    return qs.filter(_entitled(membership))


def plain_requests_visible_to(membership: Membership) -> QuerySet[FeedbackRequest]:
    qs = FeedbackRequest.objects.all()
    if membership.is_hr_admin:
        return qs
    uid = membership.user_id
    readers = get_objects_for_user(
        membership.user,
        [f"engagements.{perm}" for perm in READER_PERMS],
        klass=Engagement.objects.all(),
        any_perm=True,
        accept_global_perms=False,
        with_superuser=False,
    )
    return qs.filter(
        Q(requested_by__user_id=uid)
        | Q(subject__user_id=uid)
        | Q(subject__line_manager__user_id=uid)
        | Q(engagement__in=readers.values("pk"))
    )


def _mine(membership: Membership) -> Q:
    uid = membership.user_id
    return Q(requested_by__user_id=uid) | Q(subject__user_id=uid)


# --- The organisation ------------------------------------------------------------------


def _entry(org: Organization, member: Membership) -> Employee:
    with tenant_context(org):
        return Employee.objects.get(user=member.user)


def _draw(org: Organization, other_org: Organization) -> dict[str, Membership]:
    """Members of every kind and feedback and requests between them; returns the
    members of ``org`` by name."""

    def member(role: str = Role.EMPLOYEE, **kwargs: Any) -> Membership:
        return MembershipFactory(organization=org, role=role, **kwargs)

    hr = member(Role.HR_ADMIN)
    hr_without_entry = member(Role.HR_ADMIN, employee=False)
    without_entry = member(employee=False)
    director = member(Role.MANAGER)
    boss = member(Role.MANAGER, employee__line_manager=_entry(org, director))
    reports = [member(employee__line_manager=_entry(org, boss)) for _ in range(3)]
    reviewer, approver, planner, contributor, in_group = (
        member(Role.MANAGER) for _ in range(5)
    )
    loner = member()
    people = [director, boss, *reports, reviewer, approver, planner, contributor]
    people += [in_group, loner, hr]

    engagements = [EngagementFactory(organization=org) for _ in range(3)]
    foreign = EngagementFactory(organization=other_org)
    group = Group.objects.create(name="Reviewers of the third engagement")
    in_group.user.groups.add(group)
    assign_perm("engagements.review_engagement", group, engagements[2])
    assign_perm("engagements.approve_engagement", reviewer.user, foreign)
    with tenant_context(org):
        for holder, role, engagement in (
            (reviewer, EngagementRole.REVIEWER, engagements[0]),
            (approver, EngagementRole.APPROVER, engagements[1]),
            (reports[0], EngagementRole.REVIEWER, engagements[1]),
            (boss, EngagementRole.APPROVER, engagements[0]),
            (planner, EngagementRole.PLANNER, engagements[0]),
            (contributor, EngagementRole.CONTRIBUTOR, engagements[2]),
        ):
            assign_role(
                actor=None,
                engagement=engagement,
                employee=_entry(org, holder),
                role=role,
            )

    entries = [_entry(org, person) for person in people]
    where = cycle([*engagements, None])
    visibility = cycle([Visibility.SHARED, Visibility.MANAGERS_ONLY, Visibility.SHARED])
    for number, (author, subject) in enumerate(permutations(entries, 2)):
        if number % 3:
            continue
        engagement = next(where)
        FeedbackFactory(
            organization=org,
            author=author,
            subject=subject,
            engagement=engagement,
            visibility=next(visibility),
            withdrawn_at=timezone.now() if number % 7 == 0 else None,
        )
        if engagement is not None and number % 2 == 0:
            FeedbackRequestFactory(
                organization=org,
                requested_by=author,
                subject=subject if number % 4 else author,
                engagement=engagement,
            )
    # The reviewer's permission on another organisation's engagement reads nothing.
    FeedbackFactory(organization=other_org, engagement=foreign)
    FeedbackRequestFactory(organization=other_org, engagement=foreign)
    named = {
        "hr": hr,
        "hr_without_entry": hr_without_entry,
        "without_entry": without_entry,
        "director": director,
        "boss": boss,
        "report": reports[0],
        "other_report": reports[1],
        "reviewer": reviewer,
        "approver": approver,
        "planner": planner,
        "contributor": contributor,
        "in_group": in_group,
        "loner": loner,
    }
    with tenant_context(org):
        loaded = Membership.objects.select_related("user").in_bulk(
            [m.pk for m in named.values()]
        )
    return {name: loaded[m.pk] for name, m in named.items()}


def _pks(qs: QuerySet[Any]) -> set[int]:
    return set(qs.values_list("pk", flat=True))


def test_the_index_backed_rules_match_the_plain_rules(org, other_org):
    members = _draw(org, other_org)

    with tenant_context(org):
        assert Feedback.objects.count() > 40
        assert FeedbackRequest.objects.count() > 10
        for member in members.values():
            plain = plain_feedback_visible_to(member)
            uid = member.user_id
            assert _pks(feedback_visible_to(member)) == _pks(plain), member
            assert _pks(team_feedback(member)) == _pks(plain_team_feedback(member))
            assert _pks(feedback_shared_with(member)) == _pks(
                plain.filter(subject__user_id=uid)
            )
            assert _pks(feedback_written_by(member)) == _pks(
                plain.filter(author__user_id=uid)
            )
            requests = plain_requests_visible_to(member)
            assert _pks(requests_visible_to(member)) == _pks(requests)
            assert _pks(requests_by_or_about(member)) == _pks(
                requests.filter(_mine(member))
            )
            assert _pks(requests_about_others(member)) == _pks(
                requests.exclude(_mine(member))
            )


def test_the_drawn_organisation_exercises_every_branch(org, other_org):
    members = _draw(org, other_org)

    with tenant_context(org):
        team = {name: _pks(team_feedback(m)) for name, m in members.items()}
        requests = {name: _pks(requests_visible_to(m)) for name, m in members.items()}
        written = {name: _pks(feedback_written_by(m)) for name, m in members.items()}

    # Line managers (of managers too), reviewers and approvers, directly or through
    # a group, read others' feedback; the rest read only their own.
    for reader in ("director", "boss", "reviewer", "approver", "report", "in_group"):
        assert team[reader], reader
    for other in ("planner", "contributor", "loner", "without_entry"):
        assert not team[other], other
    assert written["planner"]
    assert written["loner"]
    for reader in ("boss", "reviewer", "in_group"):
        assert requests[reader], reader
    assert not requests["without_entry"]
