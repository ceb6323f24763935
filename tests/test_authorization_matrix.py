"""Every URL x every actor x own / foreign / missing object x GET and POST.

The URL list comes from the URLconf; the expectations from ``tests/authz_policy.py``.
A named URL without a policy entry fails the build, and so does an entry for a URL
that no longer exists. Every refusal also proves that nothing changed, and every
allowed POST to a URL that writes proves that it did.

One test per URL, query and method runs every target x every actor (each case in a
savepoint of its own) and lists every case that differs from the policy, so that it
can also compare answers across targets: another organisation's ids must answer
exactly like ids that exist nowhere, and a refusal by role before the lookup exactly
like this organisation's ids. A few tests after it look inside pages and forms: what
lists and the engagement page show each member, and POSTs that name another
organisation's objects.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from guardian.models import GroupObjectPermission, UserObjectPermission

from appraisals.enums import AppraisalStatus, EvaluationKind, EvaluationStatus
from appraisals.models import Appraisal, Evaluation
from engagements import services
from engagements.enums import CycleStatus, EngagementRole, GoalStatus, PlanKind
from engagements.models import Engagement, Goal, Plan, ReviewCycle
from feedback.enums import FeedbackKind, Visibility
from feedback.surveys import survey_token
from feedback.views.surveys import rate_limit_key
from organizations.enums import Role
from organizations.models import (
    Employee,
    Invitation,
    Membership,
    Organization,
    User,
)
from organizations.services import invitation_token
from organizations.tenancy import RLS_SETTING, tenant_context, tenant_tables
from tests.appraisal_factories import RecomputeRunFactory
from tests.authz_policy import (
    ACTORS,
    ORG_KWARG,
    POLICY,
    Actor,
    Outcome,
    Target,
    UrlPolicy,
    named_routes,
    url_routes,
)
from tests.competency_factories import (
    CompetencyCategoryFactory,
    CompetencyDescriptorFactory,
    CompetencyFactory,
    CompetencySetFactory,
    CompetencySetItemFactory,
    DefaultScaleFactory,
    RatingScaleFactory,
)
from tests.engagement_factories import (
    EngagementFactory,
    GoalFactory,
    KeyActivityFactory,
    PlanFactory,
    PlanTemplateFactory,
    ReviewCycleFactory,
    RoleRuleFactory,
    TemplateGoalFactory,
)
from tests.engagements.test_plan_competencies import (
    EngagementTypeFactory,
    PlanCompetencyFactory,
    TemplateCompetencyFactory,
)
from tests.factories import (
    TEST_PASSWORD,
    BusinessUnitFactory,
    EmployeeFactory,
    InvitationFactory,
    JobTitleFactory,
    MembershipFactory,
    OrganizationFactory,
)
from tests.feedback_factories import (
    ClientSurveyFactory,
    FeedbackAskFactory,
    FeedbackFactory,
    FeedbackRequestFactory,
)

NEW_PASSWORD = "violet-harbour-lantern-93"
MISSING_PK = 999_999_999
REFUSALS = (
    Outcome.LOGIN,
    Outcome.FORBIDDEN,
    Outcome.NOT_FOUND,
    Outcome.METHOD_NOT_ALLOWED,
    Outcome.BAD_REQUEST,
)
# Engagement roles that give what the reviewer's gives on every URL; the matrix runs
# the reviewer only (see ``test_other_engagement_roles_answer_like_the_reviewer``).
ROLES_LIKE_THE_REVIEWER = (EngagementRole.APPROVER, EngagementRole.CONTRIBUTOR)
# The goal progress of the teammate's plan, as the engagement page would show it.
TEAMMATE_PROGRESS = 37
# Public pages rate-limited per client address, and the address the matrix uses there.
RATE_LIMITED = frozenset({"survey:answer"})
MATRIX_ADDRESS = "192.0.2.61"
# The actors who see the engagement (and self's plans on it).
ENGAGEMENT_ACTORS = (
    Actor.HR_ADMIN,
    Actor.LINE_MANAGER,
    Actor.SELF,
    Actor.PLANNER,
    Actor.REVIEWER,
)
# Targets that name an object of the organisation the request is made in.
HOME_TARGETS = (Target.OWN, Target.GENERAL_PLAN, Target.OTHER_PARENT, Target.PRIVATE)


# --- The URLconf ------------------------------------------------------------------------


def test_urlconf_every_url_pattern_has_a_name():
    unnamed = [r.route for r in url_routes() if r.name is None]

    assert unnamed == []


def test_urlconf_url_names_are_unique():
    names = [r.name for r in url_routes() if r.name is not None]

    assert sorted({n for n in names if names.count(n) > 1}) == []


def test_urlconf_every_named_url_has_a_policy_entry():
    names = set(named_routes())

    missing = sorted(names - set(POLICY))

    assert missing == [], f"Declare these URLs in tests/authz_policy.py: {missing}"


def test_policy_every_entry_names_a_url_that_exists():
    names = set(named_routes())

    stale = sorted(set(POLICY) - names)

    assert stale == [], f"These POLICY entries name no URL: {stale}"


def test_policy_every_entry_covers_get_and_post_for_each_target():
    gaps = []

    for name, policy in POLICY.items():
        targets = {target for _, target in policy.rows}
        wanted = {(m, t) for m in ("GET", "POST") for t in targets}
        if set(policy.rows) != wanted:
            gaps.append(name)

    assert gaps == []


def test_policy_every_row_has_one_outcome_per_actor():
    wrong = [
        (name, method, str(target))
        for name, policy in POLICY.items()
        for (method, target), row in policy.rows.items()
        if len(row) != len(ACTORS) or not all(isinstance(o, Outcome) for o in row)
    ]

    assert wrong == []


def test_policy_target_kind_matches_the_url_kwargs():
    routes = named_routes()
    wrong = []

    for name, policy in POLICY.items():
        if name not in routes:
            continue  # reported by test_policy_every_entry_names_a_url_that_exists
        kwargs = set(routes[name].kwargs) - {ORG_KWARG}
        declared = TARGET_KINDS[policy.target_kind].kwargs if policy.target_kind else ()
        if kwargs != set(declared):
            wrong.append((name, sorted(kwargs), policy.target_kind))

    assert wrong == []


def test_policy_targets_exist_for_the_target_kind():
    """GENERAL_PLAN, OTHER_PARENT and PRIVATE rows need such an object in the world."""
    wrong = [
        (name, str(target))
        for name, policy in POLICY.items()
        for _, target in policy.rows
        if target in WORLD_KINDS and policy.target_kind not in WORLD_KINDS[target]
    ]

    assert wrong == []


def test_policy_organisation_urls_send_anonymous_to_login_and_outsiders_to_404():
    routes = named_routes()
    wrong = []

    for name, policy in POLICY.items():
        if name not in routes or ORG_KWARG not in routes[name].kwargs:
            continue
        for (method, target), row in policy.rows.items():
            anonymous = row[ACTORS.index(Actor.ANONYMOUS)]
            outsider = row[ACTORS.index(Actor.OUTSIDER)]
            if (anonymous, outsider) != (Outcome.LOGIN, Outcome.NOT_FOUND):
                wrong.append((name, method, str(target)))

    assert wrong == []


def test_policy_foreign_objects_are_reachable_by_nobody():
    reachable = []

    for name, policy in POLICY.items():
        for (method, target), row in policy.rows.items():
            if target is not Target.FOREIGN:
                continue
            hr_admin = row[ACTORS.index(Actor.HR_ADMIN)]
            if hr_admin not in (Outcome.NOT_FOUND, Outcome.METHOD_NOT_ALLOWED) or any(
                outcome not in REFUSALS for outcome in row
            ):
                reachable.append((name, method))

    assert reachable == []


def test_policy_a_403_for_a_foreign_id_is_a_403_for_every_id():
    """A 403 for another organisation's id is safe only when the role is checked
    before the lookup; then every id of this organisation answers 403 as well, and
    the answer reveals nothing about which ids exist."""
    wrong = []

    for name, policy in POLICY.items():
        for (method, target), row in policy.rows.items():
            if target is not Target.FOREIGN:
                continue
            for index, outcome in enumerate(row):
                if outcome is not Outcome.FORBIDDEN:
                    continue
                home = [
                    policy.rows[(m, t)][index]
                    for m, t in policy.rows
                    if m == method and t in HOME_TARGETS
                ]
                if any(other is not Outcome.FORBIDDEN for other in home):
                    wrong.append((name, method, str(ACTORS[index])))

    assert wrong == []


def test_policy_role_exceptions_name_a_row_and_differ_from_the_reviewer():
    """``UrlPolicy.roles`` only for the roles the reviewer stands for, on rows the
    entry has, and only where the answer is not the reviewer's anyway."""
    roles = {str(role) for role in ROLES_LIKE_THE_REVIEWER}
    reviewer = ACTORS.index(Actor.REVIEWER)
    wrong = [
        (name, role, method, str(target))
        for name, policy in POLICY.items()
        for role, rows in policy.roles.items()
        for (method, target), outcome in rows.items()
        if role not in roles
        or (method, target) not in policy.rows
        or policy.rows[(method, target)][reviewer] is outcome
    ]

    assert wrong == []


# --- The world every matrix case runs in ------------------------------------------------


@dataclass
class World:
    org: Organization
    other_org: Organization
    # The signed-in actors, and the role holders who must answer like the reviewer
    # (``ROLES_LIKE_THE_REVIEWER``), by name.
    members: dict[str, Membership]
    subject: Employee
    line_manager: Employee
    # Staffed on the other engagement; the one the staffing and role forms pick.
    peer: Employee
    # Home-organisation objects that the POST bodies name.
    refs: dict[str, Any]
    # The URL kwargs of each target kind (see ``TARGET_KINDS``) for each target.
    objects: dict[Target, dict[str, dict[str, Any]]]
    invitation: Invitation
    # Session keys of the signed-in members, made once: signing in per case would
    # double the matrix's run time. Each case sets its actor's key on the client.
    sessions: dict[str, str] = field(default_factory=dict)
    # Who each actor's session is signed in as (the session's SESSION_KEY).
    signed_in: dict[str, str] = field(default_factory=dict)
    # Every row the matrix watches, as the world was built (see ``_db_state``).
    baseline: tuple[Any, ...] = ()


def _member(organization: Organization, role: str, **employee: Any) -> Membership:
    entry = EmployeeFactory(
        organization=organization, job_title=None, business_unit=None, **employee
    )
    return MembershipFactory(organization=organization, role=role, employee=entry)


def _employee_of(membership: Membership) -> Employee:
    with tenant_context(membership.organization):
        return Employee.objects.get(user=membership.user)


def _plan_with_goals(**plan: Any) -> tuple[Plan, Goal, Any]:
    """A draft plan with two goals weighing 60 and 40, each with a key activity."""
    made = PlanFactory(**plan)
    first = GoalFactory(plan=made, weight=Decimal("60"), position=0)
    second = GoalFactory(plan=made, weight=Decimal("40"), position=1)
    activity = KeyActivityFactory(goal=first)
    KeyActivityFactory(goal=second)
    return made, first, activity


def _engagements(
    organization: Organization,
    employee: Employee,
    peer: Employee,
    roles: dict[str, Employee],
    other_roles: dict[str, Employee],
) -> dict[Target, dict[str, dict[str, Any]]]:
    """A cycle, a client with two engagements, ``employee`` staffed on the first (an
    engagement plan, and a general plan, with goals and key activities), ``peer`` on
    the second; engagement roles on each; a role rule; two templates with a goal each.

    Returns the URL kwargs of each target kind, for OWN and the other targets (they
    are another organisation's objects when this is the other organisation).
    """
    cycle = ReviewCycleFactory(organization=organization, status=CycleStatus.DRAFT)
    engagement = EngagementFactory(organization=organization)
    other_engagement = EngagementFactory(
        organization=organization, client=engagement.client
    )
    plan, goal, activity = _plan_with_goals(
        organization=organization, cycle=cycle, engagement=engagement, employee=employee
    )
    general, general_goal, general_activity = _plan_with_goals(
        organization=organization,
        cycle=cycle,
        employee=employee,
        kind=PlanKind.GENERAL,
        engagement=None,
        allocation=None,
    )
    _plan_with_goals(
        organization=organization,
        cycle=cycle,
        engagement=other_engagement,
        employee=peer,
    )
    # A teammate of ``employee`` on the engagement (no login), whose plan neither
    # ``employee`` nor their line manager may open.
    GoalFactory(
        plan=PlanFactory(
            organization=organization,
            cycle=cycle,
            engagement=engagement,
            employee=EmployeeFactory(
                organization=organization, job_title=None, business_unit=None
            ),
        ),
        weight=Decimal("100"),
        progress=TEAMMATE_PROGRESS,
    )
    with tenant_context(organization):
        assignments = [
            services.assign_role(
                actor=None, engagement=engagement, employee=person, role=role
            )
            for role, person in roles.items()
        ]
        other_assignments = [
            services.assign_role(
                actor=None, engagement=other_engagement, employee=person, role=role
            )
            for role, person in other_roles.items()
        ]
    template = PlanTemplateFactory(organization=organization)
    template_goal = TemplateGoalFactory(template=template, key_activities="Kick-off")
    other_template = PlanTemplateFactory(organization=organization)
    other_template_goal = TemplateGoalFactory(template=other_template)
    competencies = _competencies(
        organization,
        plans=(plan, general),
        templates=(template, other_template),
    )
    objects = {
        Target.OWN: {
            "cycle": {"pk": cycle.pk},
            "client": {"pk": engagement.client_id},
            "engagement": {"pk": engagement.pk},
            "plan": {"pk": plan.pk},
            "goal": {"pk": goal.pk},
            "activity": {"pk": activity.pk},
            # The last role given (the contributor's at home) is the one revoked.
            "role_assignment": {"pk": engagement.pk, "rid": assignments[-1].pk},
            "role_rule": {"pk": RoleRuleFactory(organization=organization).pk},
            "template": {"pk": template.pk},
            "template_goal": {"pk": template.pk, "gid": template_goal.pk},
        },
        Target.GENERAL_PLAN: {
            "plan": {"pk": general.pk},
            "goal": {"pk": general_goal.pk},
            "activity": {"pk": general_activity.pk},
        },
        Target.OTHER_PARENT: {
            "role_assignment": {"pk": engagement.pk, "rid": other_assignments[0].pk},
            "template_goal": {"pk": template.pk, "gid": other_template_goal.pk},
        },
    }
    for target, kinds in competencies.items():
        objects[target].update(kinds)
    return objects


def _competencies(
    organization: Organization,
    plans: tuple[Plan, Plan],
    templates: tuple[Any, Any],
) -> dict[Target, dict[str, dict[str, Any]]]:
    """A default rating scale and another one; a competency used nowhere (the one
    the forms add, and the one HR may delete); a competency set with an item and
    another set with one; an engagement type; that item's competency on both
    ``plans`` (engagement, general) and both ``templates`` (the second for
    OTHER_PARENT). Returns the URL kwargs of each target kind by target."""
    DefaultScaleFactory(organization=organization)
    scale = RatingScaleFactory(organization=organization)
    category = CompetencyCategoryFactory(organization=organization)
    unused = CompetencyFactory(organization=organization, category=category)
    CompetencyDescriptorFactory(organization=organization, competency=unused)
    competency_set = CompetencySetFactory(organization=organization)
    item = CompetencySetItemFactory(
        competency_set=competency_set,
        competency=CompetencyFactory(organization=organization, category=category),
    )
    other_item = CompetencySetItemFactory(
        competency_set=CompetencySetFactory(organization=organization),
        competency=item.competency,
    )
    plan, general = plans
    on_plan, on_general = (
        PlanCompetencyFactory(
            organization=organization, plan=p, competency=item.competency
        )
        for p in (plan, general)
    )
    template, other_template = templates
    in_template, in_other_template = (
        TemplateCompetencyFactory(
            organization=organization, template=t, competency=item.competency
        )
        for t in (template, other_template)
    )
    kind = EngagementTypeFactory(
        organization=organization, competency_set=competency_set
    )
    return {
        Target.OWN: {
            "scale": {"pk": scale.pk},
            "category": {"pk": category.pk},
            "competency": {"pk": unused.pk},
            "competency_set": {"pk": competency_set.pk},
            "set_item": {"pk": competency_set.pk, "item_pk": item.pk},
            "plan_competency": {"pk": on_plan.pk},
            "template_competency": {"pk": template.pk, "cid": in_template.pk},
            "engagement_type": {"pk": kind.pk},
        },
        Target.GENERAL_PLAN: {"plan_competency": {"pk": on_general.pk}},
        Target.OTHER_PARENT: {
            "set_item": {"pk": competency_set.pk, "item_pk": other_item.pk},
            "template_competency": {"pk": template.pk, "cid": in_other_template.pk},
        },
    }


def _feedback_and_appraisals(
    organization: Organization,
    *,
    engagement_pk: int,
    employee: Employee,
    author: Employee,
    requestee: Employee,
    actor: Membership,
) -> tuple[dict[Target, dict[str, dict[str, Any]]], dict[str, Any]]:
    """Feedback about ``employee`` on the engagement by ``author`` (shared, and
    managers-only) and general feedback by their line manager (or ``author``); a
    feedback request ``employee`` made about themselves there with an ask of
    ``requestee``; a client survey of the engagement; and a review cycle in which
    ``employee`` has an engagement plan and a general plan, moved to review by
    ``actor`` (which opens the appraisal, the reviews and the self-assessments), with
    a finished score recomputation.

    Returns the URL kwargs of each target kind by target, and the references the
    POST bodies and links need.
    """
    with tenant_context(organization):
        engagement = Engagement.objects.get(pk=engagement_pk)
        general_author = employee.line_manager or author
    on_engagement = {
        "organization": organization,
        "author": author,
        "subject": employee,
        "engagement": engagement,
    }
    shared = FeedbackFactory(**on_engagement)
    private = FeedbackFactory(
        **on_engagement,
        kind=FeedbackKind.IMPROVEMENT,
        visibility=Visibility.MANAGERS_ONLY,
    )
    general = FeedbackFactory(
        organization=organization,
        author=general_author,
        subject=employee,
        engagement=None,
        kind=FeedbackKind.NOTE,
    )
    asked = FeedbackRequestFactory(
        organization=organization, requested_by=employee, engagement=engagement
    )
    ask = FeedbackAskFactory(request=asked, requestee=requestee)
    survey = ClientSurveyFactory(organization=organization, engagement=engagement)
    cycle = ReviewCycleFactory(
        organization=organization, status=CycleStatus.IN_PROGRESS
    )
    plan, _, _ = _plan_with_goals(
        organization=organization, cycle=cycle, engagement=engagement, employee=employee
    )
    general_plan, _, _ = _plan_with_goals(
        organization=organization,
        cycle=cycle,
        employee=employee,
        kind=PlanKind.GENERAL,
        engagement=None,
        allocation=None,
    )
    with tenant_context(organization):
        services.transition_cycle(actor=actor, cycle=cycle, to=CycleStatus.REVIEW)
        appraisal = Appraisal.objects.get(cycle=cycle, employee=employee)
        evaluations = {
            (e.plan_id, e.kind): e
            for e in Evaluation.objects.filter(appraisal=appraisal)
        }
    review = evaluations[(plan.pk, EvaluationKind.REVIEW)]
    general_review = evaluations[(general_plan.pk, EvaluationKind.REVIEW)]
    assessment = evaluations[(plan.pk, EvaluationKind.SELF)]
    run = RecomputeRunFactory(cycle=cycle)
    objects = {
        Target.OWN: {
            "feedback": {"pk": shared.pk},
            "feedback_request": {"pk": asked.pk},
            "feedback_ask": {"pk": ask.pk},
            "evaluation": {"pk": review.pk},
            "appraisal": {"pk": appraisal.pk},
            "review_cycle": {"pk": cycle.pk},
            "review_plan": {"pk": plan.pk},
            "recompute_run": {"pk": run.pk},
        },
        Target.GENERAL_PLAN: {
            "feedback": {"pk": general.pk},
            "evaluation": {"pk": general_review.pk},
            "review_plan": {"pk": general_plan.pk},
        },
        Target.PRIVATE: {
            "feedback": {"pk": private.pk},
            "evaluation": {"pk": assessment.pk},
        },
    }
    refs = {
        "survey_token": survey_token(survey),
        "appraisal": appraisal.pk,
        "reviews": [review.pk, general_review.pk],
        "review_cycle": cycle.pk,
    }
    return objects, refs


def _build_world() -> World:
    org = OrganizationFactory(slug="matrix-home", name="Matrix Home")
    other_org = OrganizationFactory(slug="matrix-away", name="Matrix Away")
    hr_admin = _member(org, Role.HR_ADMIN)
    line_manager = _member(org, Role.MANAGER)
    other_manager = _member(org, Role.MANAGER)
    line_manager_entry = _employee_of(line_manager)
    self_ = _member(org, Role.EMPLOYEE, line_manager=line_manager_entry)
    other_employee = _member(
        org, Role.EMPLOYEE, line_manager=_employee_of(other_manager)
    )
    members: dict[str, Membership] = {
        Actor.HR_ADMIN: hr_admin,
        Actor.LINE_MANAGER: line_manager,
        Actor.OTHER_MANAGER: other_manager,
        Actor.SELF: self_,
        Actor.OTHER_EMPLOYEE: other_employee,
        Actor.PLANNER: _member(org, Role.EMPLOYEE),
        Actor.OTHER_PLANNER: _member(org, Role.EMPLOYEE),
        Actor.REVIEWER: _member(org, Role.MANAGER),
        Actor.OUTSIDER: _member(other_org, Role.HR_ADMIN),
        **{role: _member(org, Role.EMPLOYEE) for role in ROLES_LIKE_THE_REVIEWER},
    }
    subject = _employee_of(self_)
    peer = _employee_of(other_employee)
    invitation = InvitationFactory(
        organization=org, email="joiner@example.test", invited_by=hr_admin.user
    )
    home = _engagements(
        org,
        employee=subject,
        peer=peer,
        roles={
            EngagementRole.PLANNER: _employee_of(members[Actor.PLANNER]),
            EngagementRole.REVIEWER: _employee_of(members[Actor.REVIEWER]),
            **{role: _employee_of(members[role]) for role in ROLES_LIKE_THE_REVIEWER},
        },
        other_roles={
            EngagementRole.PLANNER: _employee_of(members[Actor.OTHER_PLANNER])
        },
    )
    foreign_employee = EmployeeFactory(organization=other_org)
    foreign_peer = EmployeeFactory(organization=other_org)
    away = _engagements(
        other_org,
        employee=foreign_employee,
        peer=foreign_peer,
        roles={EngagementRole.CONTRIBUTOR: EmployeeFactory(organization=other_org)},
        other_roles={EngagementRole.PLANNER: foreign_employee},
    )
    reviewed, reviewed_refs = _feedback_and_appraisals(
        org,
        engagement_pk=home[Target.OWN]["engagement"]["pk"],
        employee=subject,
        author=_employee_of(members[Actor.PLANNER]),
        requestee=peer,
        actor=hr_admin,
    )
    reviewed_away, _ = _feedback_and_appraisals(
        other_org,
        engagement_pk=away[Target.OWN]["engagement"]["pk"],
        employee=foreign_employee,
        author=foreign_peer,
        requestee=foreign_peer,
        actor=members[Actor.OUTSIDER],
    )
    for target, kinds in reviewed.items():
        home.setdefault(target, {}).update(kinds)
    away[Target.OWN].update(reviewed_away[Target.OWN])
    job_title = JobTitleFactory(organization=org)
    with tenant_context(org):
        engagement = Engagement.objects.get(pk=home[Target.OWN]["engagement"]["pk"])
    home[Target.OWN].update(
        employee={"pk": subject.pk},
        invitation={"pk": invitation.pk},
        business_unit={"pk": BusinessUnitFactory(organization=org).pk},
        job_title={"pk": job_title.pk},
    )
    away[Target.OWN].update(
        employee={"pk": foreign_employee.pk},
        invitation={"pk": InvitationFactory(organization=other_org).pk},
        business_unit={"pk": BusinessUnitFactory(organization=other_org).pk},
        job_title={"pk": JobTitleFactory(organization=other_org).pk},
    )
    return World(
        org=org,
        other_org=other_org,
        members=members,
        subject=subject,
        line_manager=line_manager_entry,
        peer=peer,
        refs={
            "cycle": home[Target.OWN]["cycle"]["pk"],
            "client": home[Target.OWN]["client"]["pk"],
            "template": home[Target.OWN]["template"]["pk"],
            "job_title": job_title.pk,
            "category": home[Target.OWN]["category"]["pk"],
            "competency": home[Target.OWN]["competency"]["pk"],
            "competency_set": home[Target.OWN]["competency_set"]["pk"],
            "engagement_code": engagement.code,
            "engagement": engagement.pk,
            "plans": [
                home[Target.OWN]["plan"]["pk"],
                home[Target.GENERAL_PLAN]["plan"]["pk"],
            ],
            **reviewed_refs,
        },
        objects={
            Target.OWN: home[Target.OWN],
            Target.GENERAL_PLAN: home[Target.GENERAL_PLAN],
            Target.OTHER_PARENT: home[Target.OTHER_PARENT],
            Target.PRIVATE: home[Target.PRIVATE],
            Target.FOREIGN: away[Target.OWN],
        },
        invitation=invitation,
    )


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    """Built once for the module inside a transaction that is rolled back at the end.

    Every test runs in a savepoint inside that transaction (pytest-django's
    ``django_db``) and every case of the matrix in one of its own within it
    (``_answer``), so one case's writes never reach the next; building the world per
    case would make the matrix many times slower.
    """
    with (
        django_db_blocker.unblock(),
        override_settings(
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]
        ),
    ):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            built = _build_world()
            for actor, membership in built.members.items():
                client = Client()
                client.force_login(
                    membership.user,
                    backend="django.contrib.auth.backends.ModelBackend",
                )
                built.sessions[actor] = client.session.session_key
                built.signed_in[actor] = client.session[SESSION_KEY]
            built.baseline = _db_state(built)
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    yield built
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


# --- Requests and what they change -------------------------------------------------------


@dataclass(frozen=True)
class TargetKind:
    """How to fill a URL's object kwargs for each target (see ``UrlPolicy``)."""

    kwargs: tuple[str, ...]
    build: Callable[[World, Target], dict[str, Any]]


def _ids_of(kind: str, *kwargs: str) -> TargetKind:
    """Ids of the world's objects (``World.objects``); MISSING: ids that exist nowhere."""

    def build(world: World, target: Target) -> dict[str, Any]:
        if target is Target.MISSING:
            return dict.fromkeys(kwargs, MISSING_PK)
        return world.objects[target][kind]

    return TargetKind(kwargs, build)


def _invitation_link(world: World, target: Target) -> dict[str, Any]:
    valid = target is Target.VALID_TOKEN
    return {"token": invitation_token(world.invitation) if valid else "tampered"}


def _survey_link(world: World, target: Target) -> dict[str, Any]:
    valid = target is Target.VALID_TOKEN
    return {"token": world.refs["survey_token"] if valid else "tampered"}


def _password_reset_link(world: World, target: Target) -> dict[str, Any]:
    # Made at request time: signing in changes last_login, which the token covers.
    user = User.objects.get(pk=world.subject.user_id)
    valid = target is Target.VALID_TOKEN
    return {
        "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user) if valid else "0-tampered",
    }


TARGET_KINDS: dict[str, TargetKind] = {
    "employee": _ids_of("employee", "pk"),
    "invitation": _ids_of("invitation", "pk"),
    "business_unit": _ids_of("business_unit", "pk"),
    "job_title": _ids_of("job_title", "pk"),
    "cycle": _ids_of("cycle", "pk"),
    "client": _ids_of("client", "pk"),
    "engagement": _ids_of("engagement", "pk"),
    "plan": _ids_of("plan", "pk"),
    "goal": _ids_of("goal", "pk"),
    "activity": _ids_of("activity", "pk"),
    "role_assignment": _ids_of("role_assignment", "pk", "rid"),
    "role_rule": _ids_of("role_rule", "pk"),
    "template": _ids_of("template", "pk"),
    "template_goal": _ids_of("template_goal", "pk", "gid"),
    "scale": _ids_of("scale", "pk"),
    "competency": _ids_of("competency", "pk"),
    "competency_set": _ids_of("competency_set", "pk"),
    "set_item": _ids_of("set_item", "pk", "item_pk"),
    "plan_competency": _ids_of("plan_competency", "pk"),
    "template_competency": _ids_of("template_competency", "pk", "cid"),
    "engagement_type": _ids_of("engagement_type", "pk"),
    "feedback": _ids_of("feedback", "pk"),
    "feedback_request": _ids_of("feedback_request", "pk"),
    "feedback_ask": _ids_of("feedback_ask", "pk"),
    "evaluation": _ids_of("evaluation", "pk"),
    "appraisal": _ids_of("appraisal", "pk"),
    "review_cycle": _ids_of("review_cycle", "pk"),
    "review_plan": _ids_of("review_plan", "pk"),
    "recompute_run": _ids_of("recompute_run", "pk"),
    "invitation_token": TargetKind(("token",), _invitation_link),
    "survey_token": TargetKind(("token",), _survey_link),
    "password_reset_token": TargetKind(("uidb64", "token"), _password_reset_link),
}
# The target kinds ``_build_world`` makes an object of for these targets.
WORLD_KINDS: dict[Target, frozenset[str]] = {
    Target.GENERAL_PLAN: frozenset(
        {
            "plan",
            "goal",
            "activity",
            "plan_competency",
            "feedback",
            "evaluation",
            "review_plan",
        }
    ),
    Target.PRIVATE: frozenset({"feedback", "evaluation"}),
    Target.OTHER_PARENT: frozenset(
        {"role_assignment", "template_goal", "set_item", "template_competency"}
    ),
}


def _kwargs(world: World, name: str, policy: UrlPolicy, target: Target) -> dict:
    kwargs: dict[str, Any] = {}
    if ORG_KWARG in named_routes()[name].kwargs:
        kwargs[ORG_KWARG] = world.org.slug
    if policy.target_kind is not None:
        kwargs.update(TARGET_KINDS[policy.target_kind].build(world, target))
    return kwargs


START, END = date(2025, 1, 1).isoformat(), date(2025, 12, 31).isoformat()


def _scale_data(name: str) -> dict[str, str]:
    """A whole-point 1-5 scale with a label and a description for every point."""
    data = {"name": name, "min_value": "1", "max_value": "5", "step": "1"}
    for point in range(1, 6):
        data[f"label_{point}"] = f"Level {point}"
        data[f"description_{point}"] = f"What level {point} means"
    return data


# The body of each URL's POST: valid input, so that an allowed POST goes through.
# Each takes the world and the URL's kwargs.
POST_DATA: dict[str, Callable[[World, dict[str, Any]], dict[str, Any]]] = {
    "login": lambda w, k: {
        "username": w.members[Actor.SELF].user.email,
        "password": TEST_PASSWORD,
    },
    "password_change": lambda w, k: {
        "old_password": TEST_PASSWORD,
        "new_password1": NEW_PASSWORD,
        "new_password2": NEW_PASSWORD,
    },
    "password_reset": lambda w, k: {"email": w.members[Actor.SELF].user.email},
    "invitation_accept": lambda w, k: {
        "full_name": "New Joiner",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
    },
    "organizations:employee_create": lambda w, k: {
        "code": "NEW-1",
        "full_name": "New Person",
        "email": "new.person@example.test",
    },
    "organizations:employee_edit": lambda w, k: {
        "code": w.subject.code,
        "full_name": "Renamed Person",
        "email": w.subject.email,
        "line_manager": w.line_manager.pk,
        "role": Role.EMPLOYEE,
    },
    "organizations:employee_set_active": lambda w, k: {"active": "false"},
    "organizations:invitations": lambda w, k: {
        "email": "invitee.new@example.test",
        "role": Role.EMPLOYEE,
    },
    "organizations:settings": lambda w, k: {
        "name": "Renamed Organisation",
        "timezone": "Europe/London",
        "general_weight": "40",
        "goal_weight": "70",
    },
    "organizations:business_units": lambda w, k: {"name": "New Unit"},
    "organizations:business_unit_edit": lambda w, k: {"name": "Renamed Unit"},
    "organizations:job_titles": lambda w, k: {"name": "New Title"},
    "organizations:job_title_edit": lambda w, k: {"name": "Renamed Title"},
    # --- engagements ---
    "engagements:cycle_create": lambda w, k: {
        "name": "New Cycle",
        "start_date": "2026-01-01",
        "end_date": "2026-12-31",
        "general_weight": "40",
        "engagement_weighting": "effort",
    },
    "engagements:cycle_edit": lambda w, k: {
        "name": "Renamed Cycle",
        "start_date": START,
        "end_date": END,
        "general_weight": "35",
        "engagement_weighting": "effort",
    },
    "engagements:cycle_transition": lambda w, k: {"to": CycleStatus.PLANNING},
    "engagements:client_create": lambda w, k: {"name": "New Client"},
    "engagements:client_edit": lambda w, k: {"name": "Renamed Client"},
    "engagements:engagement_create": lambda w, k: {
        "client": w.refs["client"],
        "code": "NEW-ENG",
        "name": "New Engagement",
        "start_date": START,
        "end_date": END,
        "status": "active",
    },
    "engagements:engagement_edit": lambda w, k: {
        "client": w.refs["client"],
        "code": w.refs["engagement_code"],
        "name": "Renamed Engagement",
        "start_date": START,
        "end_date": END,
        "status": "active",
    },
    "engagements:engagement_staff": lambda w, k: {
        "cycle": w.refs["cycle"],
        "employees": [w.peer.pk],
        "allocation": "20",
    },
    "engagements:engagement_role_assign": lambda w, k: {
        "employee": w.peer.pk,
        "role": EngagementRole.REVIEWER,
    },
    "engagements:engagement_apply_template": lambda w, k: {
        "template": w.refs["template"],
        "cycle": w.refs["cycle"],
    },
    "engagements:role_rules": lambda w, k: {
        "job_title": w.refs["job_title"],
        "role": EngagementRole.APPROVER,
    },
    "engagements:templates": lambda w, k: {"name": "New Template", "goal_weight": "50"},
    "engagements:template_detail": lambda w, k: {
        "action": "update",
        "template-name": "Renamed Template",
        "template-goal_weight": "55",
    },
    "engagements:plan_edit": lambda w, k: {
        "start_date": START,
        "end_date": END,
        "allocation": "50",
        "responsibilities": "Lead the data work.",
        "goal_weight": "70",
        "reviewer": w.line_manager.pk,
        "approver": w.line_manager.pk,
        "version": "1",
    },
    "engagements:goal_create": lambda w, k: {
        "title": "New Goal",
        "direction": "higher",
        "weight": "10",
    },
    "engagements:goal_edit": lambda w, k: {
        "title": "Renamed Goal",
        "direction": "higher",
        "weight": "60",
        "version": "1",
    },
    "engagements:activity_create": lambda w, k: {
        f"activity-{k['pk']}-title": "New activity"
    },
    "engagements:checkin_create": lambda w, k: {
        f"checkin-{k['pk']}-progress": "40",
        f"checkin-{k['pk']}-status": GoalStatus.ON_TRACK,
    },
    "engagements:plan_competency_add": lambda w, k: {
        "competency": w.refs["competency"],
        "expected_level": "4",
        "weight": "2",
    },
    "engagements:plan_competency_update": lambda w, k: {
        f"pc{k['pk']}-expected_level": "5",
        f"pc{k['pk']}-weight": "3",
    },
    "engagements:template_competency_add": lambda w, k: {
        "competency": w.refs["competency"],
        "expected_level": "4",
        "weight": "2",
    },
    "engagements:engagement_types": lambda w, k: {
        "name": "New Type",
        "competency_set": w.refs["competency_set"],
    },
    "engagements:engagement_type_edit": lambda w, k: {
        "name": "Renamed Type",
        "competency_set": w.refs["competency_set"],
    },
    # --- competencies ---
    "competencies:scale_create": lambda w, k: _scale_data("New Scale"),
    "competencies:scale_edit": lambda w, k: _scale_data("Renamed Scale"),
    "competencies:competency_create": lambda w, k: {
        "name": "New Competency",
        "category": w.refs["category"],
        "description": "What it is about",
        "descriptor_3": "What a 3 looks like",
    },
    "competencies:categories": lambda w, k: {"name": "New Category"},
    "competencies:competency_edit": lambda w, k: {
        "name": "Renamed Competency",
        "category": w.refs["category"],
        "description": "What it is about now",
    },
    "competencies:competency_sets": lambda w, k: {
        "name": "New Set",
        "description": "",
        "job_titles": [w.refs["job_title"]],
    },
    "competencies:competency_set_detail": lambda w, k: {
        "name": "Renamed Set",
        "description": "Changed",
    },
    "competencies:competency_set_item_add": lambda w, k: {
        "competency": w.refs["competency"],
        "weight": "2",
        "expected_level": "3",
    },
    "competencies:competency_set_item_update": lambda w, k: {
        f"item-{k['item_pk']}-weight": "1.5",
        f"item-{k['item_pk']}-expected_level": "4",
    },
    # --- feedback ---
    "feedback:preferences": lambda w, k: {"optional_emails": ""},
    "feedback:give": lambda w, k: {
        "subject": w.subject.pk,
        "kind": FeedbackKind.PRAISE,
        "body": "Clear write-up of the findings.",
        "visibility": Visibility.SHARED,
        "goal": "",
    },
    "feedback:give_general": lambda w, k: {
        "subject": w.subject.pk,
        "kind": FeedbackKind.NOTE,
        "body": "Good progress on the certification.",
        "visibility": Visibility.SHARED,
        "goal": "",
    },
    "feedback:edit": lambda w, k: {
        "kind": FeedbackKind.IMPROVEMENT,
        "body": "Edited: share the draft earlier.",
        "visibility": Visibility.MANAGERS_ONLY,
        "goal": "",
    },
    "feedback:request_create": lambda w, k: {
        "subject": w.subject.pk,
        "engagement": w.refs["engagement"],
        "requestees": [w.peer.pk],
        "due_date": (timezone.localdate() + timedelta(days=7)).isoformat(),
        "message": "How did the workshop go?",
        "questions": "",
    },
    "feedback:ask_answer": lambda w, k: {
        "answer_0": "The workshop ran well.",
        "kind": FeedbackKind.PRAISE,
        "visibility": Visibility.SHARED,
    },
    "feedback:ask_decline": lambda w, k: {"reason": "I was not on the workshop."},
    "feedback:survey_send": lambda w, k: {
        "contact_email": "dana@client.test",
        "contact_name": "Dana Client",
        "days_valid": "14",
    },
    "survey:answer": lambda w, k: {
        "overall": "4",
        f"rating_{w.subject.pk}": "5",
        "comment": "Helpful team.",
    },
    # --- appraisals ---
    "appraisals:evaluation_detail": lambda w, k: {
        "version": _version(w, Evaluation, k["pk"]),
        "comments": "A solid half-year.",
    },
    "appraisals:evaluation_approve": lambda w, k: {"approve-comment": "Agreed."},
    "appraisals:evaluation_return": lambda w, k: {
        "return-comment": "Rate the second goal against its target."
    },
    "appraisals:evaluation_assign": lambda w, k: {"reviewer": w.peer.pk},
    "appraisals:settings": lambda w, k: {
        "dual_approval": "on",
        "evaluation_days": "10",
        "bands-TOTAL_FORMS": "1",
        "bands-INITIAL_FORMS": "0",
        "bands-MIN_NUM_FORMS": "0",
        "bands-MAX_NUM_FORMS": "20",
        "bands-0-min_attainment": "0",
        "bands-0-rating": "3",
    },
    "appraisals:appraisal_acknowledge": lambda w, k: {
        "version": _version(w, Appraisal, k["pk"]),
        "comment": "Read it, thank you.",
    },
    "appraisals:appraisal_reopen": lambda w, k: {
        "version": _version(w, Appraisal, k["pk"]),
        "reason": "A rating was entered on the wrong goal.",
    },
    "appraisals:bulk_finalise": lambda w, k: {"appraisals": [w.refs["appraisal"]]},
    "appraisals:bulk_remind": lambda w, k: {"evaluations": w.refs["reviews"]},
}


def _version(world: World, model: Any, pk: int) -> str:
    """The ``version`` a form of the object would carry now (1 for ids that are not
    this organisation's)."""
    with tenant_context(world.org):
        found = model.objects.filter(pk=pk).values_list("version", flat=True).first()
    return str(found or 1)


def _halve_goal_weights(world: World) -> None:
    """Goal weights that no longer total 100, so that normalising changes them."""
    with tenant_context(world.org):
        Goal.objects.filter(plan__in=world.refs["plans"]).update(weight=F("weight") / 2)


def _reviews_reach(status: str) -> Callable[[World], None]:
    """The review cycle's reviews of ``self`` moved on to ``status`` (submitted once)."""

    def prepare(world: World) -> None:
        stamp = {
            EvaluationStatus.SUBMITTED: "submitted_at",
            EvaluationStatus.APPROVED: "approved_at",
        }[EvaluationStatus(status)]
        with tenant_context(world.org):
            Evaluation.objects.filter(pk__in=world.refs["reviews"]).update(
                status=status, submission=1, **{stamp: timezone.now()}
            )

    return prepare


def _finalise_the_appraisal(world: World) -> None:
    """Every review approved and ``self``'s appraisal final."""
    _reviews_reach(EvaluationStatus.APPROVED)(world)
    with tenant_context(world.org):
        Appraisal.objects.filter(pk=world.refs["appraisal"]).update(
            status=AppraisalStatus.FINALIZED, finalized_at=timezone.now()
        )


def _allow_early_evaluation(world: World) -> None:
    """The world's cycle in progress and evaluating early, and ``self``'s engagement
    plan there ended yesterday."""
    with tenant_context(world.org):
        ReviewCycle.objects.filter(pk=world.refs["cycle"]).update(
            status=CycleStatus.IN_PROGRESS, allow_early_evaluation=True
        )
        Plan.objects.filter(pk=world.refs["plans"][0]).update(
            end_date=timezone.localdate() - timedelta(days=1)
        )


# Changes made before the request (inside the case's savepoint) for URLs that need
# another state than the world's to do their work.
PREPARE: dict[str, Callable[[World], None]] = {
    "engagements:plan_normalise": _halve_goal_weights,
    "appraisals:evaluation_approve": _reviews_reach(EvaluationStatus.SUBMITTED),
    "appraisals:evaluation_return": _reviews_reach(EvaluationStatus.SUBMITTED),
    "appraisals:appraisal_finalise": _reviews_reach(EvaluationStatus.APPROVED),
    "appraisals:bulk_finalise": _reviews_reach(EvaluationStatus.APPROVED),
    "appraisals:appraisal_acknowledge": _finalise_the_appraisal,
    "appraisals:appraisal_reopen": _finalise_the_appraisal,
    "appraisals:open_early": _allow_early_evaluation,
}


def _digests(tables: list[str], where: str = "") -> str:
    """One SELECT returning a digest of every row of ``tables``, in a stable order."""
    return "SELECT " + ", ".join(
        # Table names come from the model registry, never from input.
        f"(SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "  # noqa: S608
        f'FROM "{table}" t {where})'
        for table in tables
    )


def _set_organization(organization_id: int | None) -> str:
    value = "" if organization_id is None else str(int(organization_id))
    return f"SELECT set_config('{RLS_SETTING}', '{value}', true)"


def _db_state(world: World) -> tuple[Any, ...]:
    """Every row a request in the matrix could touch, in both organisations.

    Tenant tables are read inside each organisation (row-level security shows one
    tenant at a time); their history tables are included, so any save shows up. The
    object permissions that engagement roles grant live in django-guardian's tables.
    One round trip: the statements run as one query and each SELECT gives a result.
    """
    tenant = _digests(tenant_tables())
    statements = []  # (SQL, whether its result is part of the state)
    for organization in (world.org, world.other_org):
        memberships = _digests(
            [Membership._meta.db_table],
            f"WHERE organization_id = {int(organization.pk)}",
        )
        statements += [
            (_set_organization(organization.pk), False),
            (tenant, True),
            (memberships, True),
        ]
    shared = _digests(
        [
            User._meta.db_table,
            Organization._meta.db_table,
            UserObjectPermission._meta.db_table,
            GroupObjectPermission._meta.db_table,
        ]
    )
    statements += [(_set_organization(None), False), (shared, True)]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(";\n".join(sql for sql, _ in statements))
        results = cursor.cursor  # psycopg's cursor: one result set per statement
        rows = []
        for _, kept in statements:
            row = results.fetchone()
            if kept:
                rows.append(row)
            results.nextset()
    return tuple(rows)


# The statements a request may run without changing anything: reads, cursors over
# reads, savepoints. Anything else (INSERT, UPDATE, DELETE...) may have written.
READ_ONLY = ("SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK", "DECLARE", "FETCH", "CLOSE")


class WriteWatch:
    """Notes whether the connection ran a statement that may change data, so that a
    request that only read needs no comparison of the database before and after."""

    def __init__(self) -> None:
        self.wrote = False

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any):
        words = sql.split(None, 1)
        if not words or words[0].upper() not in READ_ONLY:
            self.wrote = True
        return execute(sql, params, many, context)


@functools.cache
def _shared_client() -> Client:
    # A view that crashes is reported as "unexpected 500" in the case's cell.
    return Client(raise_request_exception=False)


def _client(world: World, actor: str) -> Client:
    """The test client, signed in as ``actor``: one client for every case (making one
    per case would load the middleware each time), its cookies reset per case."""
    client = _shared_client()
    client.cookies.clear()
    if actor in world.sessions:
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[actor]
    return client


def _observed(response: HttpResponse, path: str) -> str:
    """The response in the policy's terms: "success" or a refusal outcome."""
    if response.status_code == 302:
        location = urlsplit(response["Location"])
        if location.path == reverse("login") and parse_qs(location.query).get(
            "next"
        ) == [path]:
            return Outcome.LOGIN.value
    if response.status_code in (400, 403, 404, 405):
        return str(response.status_code)
    if 200 <= response.status_code < 400:
        return "success"
    return f"unexpected {response.status_code}"


def _expected(outcome: Outcome) -> str:
    if outcome in (Outcome.ALLOWED, Outcome.UNCHANGED):
        return "success"
    return outcome.value


# What differs between two renderings of the same page: the masked CSRF token and the
# CSP nonce.
_PER_REQUEST = re.compile(rb'(csrfmiddlewaretoken" value=|nonce=)"[^"]*"')


@dataclass(frozen=True)
class Answer:
    """One case's response in the policy's terms, and whether it changed anything."""

    observed: str
    changed: bool
    # The status and the body without what differs per request: two answers with
    # the same fingerprint tell the caller nothing apart.
    fingerprint: tuple[int, bytes]
    shown: str  # status and Location, for the failure message


def _request(
    world: World,
    client: Client,
    name: str,
    method: str,
    target: Target,
    query: str = "",
) -> tuple[HttpResponse, str]:
    """Send the case's request; returns the response and the path with its query."""
    policy = POLICY[name]
    kwargs = _kwargs(world, name, policy, target)
    path = reverse(name, kwargs=kwargs) + (f"?{query}" if query else "")
    extra: dict[str, str] = {}
    if name in RATE_LIMITED:
        # The matrix asks more often than the limit allows one address; the limit
        # has tests of its own. An address of its own leaves others' counters alone.
        extra["REMOTE_ADDR"] = MATRIX_ADDRESS
        cache.delete(rate_limit_key(MATRIX_ADDRESS))
    if method == "POST":
        data = POST_DATA.get(name, lambda w, k: {})(world, kwargs)
        return client.post(path, data, **extra), path
    return client.get(path, **extra), path


def _answer(
    world: World,
    name: str,
    query: str,
    method: str,
    target: Target,
    actor: str,
    state: tuple[Any, ...],
) -> Answer:
    """One case, in a savepoint rolled back afterwards, so that every case starts
    from ``state``: the database as the world and the URL's ``PREPARE`` left it."""
    client = _client(world, actor)
    with transaction.atomic():
        mails = len(mail.outbox)
        # Work queued for after the commit (e-mails, recomputations) is a change too;
        # the world's transaction never commits, so it would not show otherwise.
        queued = len(connection.run_on_commit)
        watch = WriteWatch()
        with connection.execute_wrapper(watch):
            response, path = _request(world, client, name, method, target, query)
        # A request that ran no statement able to write changed nothing (sessions
        # are stored in the database too).
        changed = (
            len(mail.outbox) != mails or len(connection.run_on_commit) != queued
        ) or (
            watch.wrote
            and (
                _db_state(world) != state
                or client.session.get(SESSION_KEY) != world.signed_in.get(actor)
            )
        )
        transaction.set_rollback(True)
    return Answer(
        observed=_observed(response, path),
        changed=changed,
        fingerprint=(
            response.status_code,
            _PER_REQUEST.sub(rb"\1", getattr(response, "content", b"")),
        ),
        shown=f"{response.status_code} {response.get('Location', '')}".strip(),
    )


def _prepared(world: World, name: str) -> tuple[Any, ...]:
    """Make the changes ``PREPARE`` names for the URL (in the test's transaction,
    rolled back after it) and return the state every case of the URL starts from."""
    if name not in PREPARE:
        return world.baseline
    PREPARE[name](world)
    return _db_state(world)


def _mismatch(
    policy: UrlPolicy, method: str, expected: Outcome, answer: Answer
) -> str | None:
    """How ``answer`` differs from ``expected``, or None when it does not."""
    must_change = expected is Outcome.ALLOWED and method == "POST" and policy.writes
    if (answer.observed, answer.changed) == (_expected(expected), must_change):
        return None
    return (
        f"expected {expected}{' and a change' if must_change else ''}, "
        f"got {answer.shown}{' and a change' if answer.changed else ''}"
    )


def _targets(policy: UrlPolicy, method: str) -> list[Target]:
    targets = [target for m, target in policy.rows if m == method]
    if Target.FOREIGN in targets:
        targets.append(Target.MISSING)
    return targets


def _matrix_items() -> Iterator[Any]:
    for name, policy in POLICY.items():
        for method in ("GET", "POST"):
            for query in policy.queries if method == "GET" else ("",):
                shown = f"{name}?{query}" if query else name
                yield pytest.param(name, query, method, id=f"{shown}-{method}")


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "query", "method"), list(_matrix_items()))
def test_authorization_matrix_response_matches_the_policy(world, name, query, method):
    """Every target x every actor for one URL and method, each case on its own.

    Besides each case's outcome: another organisation's ids answer exactly like ids
    that exist nowhere, and where the role is refused before the lookup (403 for a
    foreign id) this organisation's ids answer exactly like them too.
    """
    policy = POLICY[name]
    state = _prepared(world, name)
    answers = {
        (target, actor): _answer(world, name, query, method, target, actor, state)
        for target in _targets(policy, method)
        for actor in ACTORS
    }

    wrong = [
        f"{target} as {actor}: {mismatch}"
        for (target, actor), answer in answers.items()
        if (
            mismatch := _mismatch(
                policy, method, policy.expected(method, target, actor), answer
            )
        )
    ]
    for actor in ACTORS:
        foreign = answers.get((Target.FOREIGN, actor))
        if foreign is None:
            continue
        alike = [Target.MISSING]
        if policy.expected(method, Target.FOREIGN, actor) is Outcome.FORBIDDEN:
            alike += [t for t in HOME_TARGETS if (t, actor) in answers]
        for target in alike:
            if answers[(target, actor)].fingerprint != foreign.fingerprint:
                wrong.append(f"{target} as {actor}: answers unlike {Target.FOREIGN}")
    if wrong:
        pytest.fail("\n".join([f"{method} {name} {query}".strip(), *wrong]), False)


def _where_the_role_counts() -> Iterator[tuple[str, str, str, Target]]:
    """The cases in which the reviewer's answer is not a plain member's, and those in
    which the policy gives the other roles an answer of their own."""
    reviewer, member = ACTORS.index(Actor.REVIEWER), ACTORS.index(Actor.OTHER_EMPLOYEE)
    for name, policy in POLICY.items():
        for (method, target), row in policy.rows.items():
            own = any((method, target) in rows for rows in policy.roles.values())
            if row[reviewer] != row[member] or own:
                for query in policy.queries if method == "GET" else ("",):
                    yield name, query, method, target


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES_LIKE_THE_REVIEWER)
def test_other_engagement_roles_answer_like_the_reviewer(world, role):
    """Approvers and contributors of the engagement get the reviewer's answer wherever
    holding a role on it makes a difference (and a plain member's elsewhere, which
    the matrix shows for the reviewer), except where the policy's ``roles`` give
    them their own (approving evaluations, reading feedback and surveys)."""
    cases = list(_where_the_role_counts())
    wrong = []

    for name, query, method, target in cases:
        policy = POLICY[name]
        expected = policy.expected_for_role(method, target, role)
        with transaction.atomic():
            state = _prepared(world, name)
            answer = _answer(world, name, query, method, target, role, state)
            transaction.set_rollback(True)
        if mismatch := _mismatch(policy, method, expected, answer):
            wrong.append(f"{method} {name} {query} {target}: {mismatch}")

    assert len(cases) > 10
    if wrong:
        pytest.fail("\n".join([f"as {role}:", *wrong]), False)


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
        actor: {e.pk for e in _client(world, actor).get(url).context["engagements"]}
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
        actor: figures in _client(world, actor).get(url).content.decode()
        for actor in viewers
    }

    assert shown == {
        Actor.HR_ADMIN: True,
        Actor.PLANNER: True,
        Actor.REVIEWER: True,
        Actor.SELF: False,
        Actor.LINE_MANAGER: False,
    }


def _listed(world: World, actor: str, name: str, pk: int, key: str) -> set[int]:
    """The ids of the objects the page ``name`` of object ``pk`` lists to ``actor``
    (its context's ``key``)."""
    url = reverse(name, args=[world.org.slug, pk])
    return {row.pk for row in _client(world, actor).get(url).context[key]}


@pytest.mark.django_db
def test_the_feeds_show_each_member_only_the_feedback_they_may_read(world):
    """The engagement's feed and ``self``'s: shared feedback (``OWN``), managers-only
    feedback (``PRIVATE``) about ``self`` on the engagement and general feedback
    (``GENERAL_PLAN``); the subject never reads managers-only feedback, contributors
    read none they did not write."""
    shared, private, general = (
        world.objects[target]["feedback"]["pk"]
        for target in (Target.OWN, Target.PRIVATE, Target.GENERAL_PLAN)
    )
    engagement = world.objects[Target.OWN]["engagement"]["pk"]
    on_engagement = {
        actor: _listed(world, actor, "feedback:engagement_feed", engagement, "rows")
        for actor in (*ENGAGEMENT_ACTORS, *ROLES_LIKE_THE_REVIEWER)
    }
    about_self = {
        actor: _listed(world, actor, "feedback:employee_feed", world.subject.pk, "rows")
        for actor in (Actor.HR_ADMIN, Actor.LINE_MANAGER, Actor.SELF)
    }

    assert on_engagement == {
        Actor.HR_ADMIN: {shared, private},
        Actor.LINE_MANAGER: {shared, private},
        Actor.SELF: {shared},
        Actor.PLANNER: {shared, private},
        Actor.REVIEWER: {shared, private},
        EngagementRole.APPROVER: {shared, private},
        EngagementRole.CONTRIBUTOR: set(),
    }
    assert about_self == {
        Actor.HR_ADMIN: {shared, private, general},
        Actor.LINE_MANAGER: {shared, private, general},
        Actor.SELF: {shared, general},
    }


@pytest.mark.django_db
def test_the_plan_lists_each_member_only_the_evaluations_they_may_open(world):
    """The review cycle's plans of ``self``: the review to HR admins, the line
    manager, its reviewer and approvers; the self-assessment, a draft, to ``self``
    only, who sees no review before the appraisal is final."""
    found: dict[Target, dict[str, int]] = {}
    with tenant_context(world.org):
        for target in (Target.OWN, Target.GENERAL_PLAN):
            plan = world.objects[target]["review_plan"]["pk"]
            found[target] = dict(
                Evaluation.objects.filter(plan=plan).values_list("kind", "pk")
            )
    review, assessment = (found[Target.OWN][k] for k in ("review", "self"))
    general_review, general_assessment = (
        found[Target.GENERAL_PLAN][k] for k in ("review", "self")
    )

    listed = {
        (target, actor): _listed(
            world,
            actor,
            "appraisals:plan_evaluations",
            world.objects[target]["review_plan"]["pk"],
            "evaluations",
        )
        for target, actors in (
            (Target.OWN, (*ENGAGEMENT_ACTORS, *ROLES_LIKE_THE_REVIEWER)),
            (Target.GENERAL_PLAN, (Actor.HR_ADMIN, Actor.LINE_MANAGER, Actor.SELF)),
        )
        for actor in actors
    }

    assert listed == {
        (Target.OWN, Actor.HR_ADMIN): {review},
        (Target.OWN, Actor.LINE_MANAGER): {review},
        (Target.OWN, Actor.SELF): {assessment},
        (Target.OWN, Actor.PLANNER): set(),
        (Target.OWN, Actor.REVIEWER): {review},
        (Target.OWN, EngagementRole.APPROVER): {review},
        (Target.OWN, EngagementRole.CONTRIBUTOR): set(),
        (Target.GENERAL_PLAN, Actor.HR_ADMIN): {general_review},
        (Target.GENERAL_PLAN, Actor.LINE_MANAGER): {general_review},
        (Target.GENERAL_PLAN, Actor.SELF): {general_assessment},
    }


# A valid POST with one reference replaced by another organisation's object: forms
# offer this organisation's objects only, so the POST is refused (a form error, 400)
# and changes nothing. The matrix has the twin: the same POST with this
# organisation's objects, which the HR admin may make, goes through.
FOREIGN_REFERENCES: list[tuple[str, str, str]] = [
    # (URL name, field, target kind of the object it names)
    ("organizations:employee_edit", "line_manager", "employee"),
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
    ("competencies:competency_create", "category", "category"),
    ("competencies:competency_sets", "job_titles", "job_title"),
    ("competencies:competency_set_item_add", "competency", "competency"),
    ("feedback:give", "subject", "employee"),
    ("feedback:request_create", "subject", "employee"),
    ("feedback:request_create", "engagement", "engagement"),
    ("feedback:request_create", "requestees", "employee"),
    ("appraisals:evaluation_assign", "reviewer", "employee"),
    ("appraisals:bulk_finalise", "appraisals", "appraisal"),
    ("appraisals:bulk_remind", "evaluations", "evaluation"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "field", "kind"),
    FOREIGN_REFERENCES,
    ids=[f"{name}-{field}" for name, field, _ in FOREIGN_REFERENCES],
)
def test_a_post_naming_another_organisations_object_is_refused(
    world, name, field, kind
):
    policy = POLICY[name]
    target = Target.OWN if policy.target_kind else Target.NONE
    assert policy.expected("POST", target, Actor.HR_ADMIN) is Outcome.ALLOWED
    kwargs = _kwargs(world, name, policy, target)
    state = _prepared(world, name)
    data = POST_DATA[name](world, kwargs)
    assert field in data
    data[field] = world.objects[Target.FOREIGN][kind]["pk"]
    client = _client(world, Actor.HR_ADMIN)
    watch = WriteWatch()

    with connection.execute_wrapper(watch):
        response = client.post(reverse(name, kwargs=kwargs), data)

    changed = watch.wrote and _db_state(world) != state
    assert (response.status_code, changed) == (400, False)


@pytest.mark.django_db
@pytest.mark.parametrize("actor", [Actor.HR_ADMIN, Actor.OUTSIDER])
def test_unknown_organisation_slug_looks_like_one_the_caller_is_not_in(world, actor):
    client = _client(world, actor)
    unknown = reverse("organizations:home", args=["no-such-organisation"])
    not_mine = reverse("organizations:home", args=[world.org.slug])
    outsider = _client(world, Actor.OUTSIDER)

    response = client.get(unknown)

    assert response.status_code == outsider.get(not_mine).status_code == 404
