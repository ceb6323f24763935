"""The world every case of the authorisation matrix runs in: two organisations, the
actors of ``tests/authz/policy.py`` signed in as members of the first, and the objects
each URL's kwargs name (``World.objects``, by target and target kind).

Built once per test session (``tests/authz/conftest.py``) inside a transaction that
is rolled back at the end; every case runs in a savepoint of its own within it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engagements.enums import EngagementRole
from engagements.models import Engagement
from organizations.enums import NotificationKind, Role
from organizations.models import (
    Employee,
    Invitation,
    Membership,
    Notification,
    Organization,
)
from organizations.tenancy import tenant_context
from reporting.models import ReportJob
from tests.authz.policy import Actor, Target
from tests.authz.world_engagements import engagement_objects
from tests.authz.world_reviews import review_objects
from tests.factories import (
    BusinessUnitFactory,
    EmployeeFactory,
    InvitationFactory,
    JobTitleFactory,
    MembershipFactory,
    OrganizationFactory,
)
from tests.reporting_factories import (
    finished_report_job,
    sent_delivery,
    subscription_for,
)

# Engagement roles that give what the reviewer's gives on every URL; the matrix runs
# the reviewer only (see ``test_other_engagement_roles_answer_like_the_reviewer``).
ROLES_LIKE_THE_REVIEWER = (EngagementRole.APPROVER, EngagementRole.CONTRIBUTOR)
# The actors who see the engagement (and self's plans on it).
ENGAGEMENT_ACTORS = (
    Actor.HR_ADMIN,
    Actor.LINE_MANAGER,
    Actor.SELF,
    Actor.PLANNER,
    Actor.REVIEWER,
)


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
    # The URL kwargs of each target kind (``targets.TARGET_KINDS``) for each target.
    objects: dict[Target, dict[str, dict[str, Any]]]
    invitation: Invitation
    # Session keys of the signed-in members, made once: signing in per case would
    # double the matrix's run time. Each case sets its actor's key on the client.
    sessions: dict[str, str] = field(default_factory=dict)
    # Who each actor's session is signed in as (the session's SESSION_KEY).
    signed_in: dict[str, str] = field(default_factory=dict)
    # Every row the matrix watches, as the world was built (``changes.db_state``).
    baseline: tuple[Any, ...] = ()


def _member(organization: Organization, role: str, **employee: Any) -> Membership:
    entry = EmployeeFactory(
        organization=organization, job_title=None, business_unit=None, **employee
    )
    return MembershipFactory(organization=organization, role=role, employee=entry)


def _employee_of(membership: Membership) -> Employee:
    with tenant_context(membership.organization):
        return Employee.objects.get(user=membership.user)


def _report_job(requester: Membership) -> ReportJob:
    """A ready export of ``requester``'s (its file is stored by the download URL's
    ``PREPARE``, in the test's MEDIA_ROOT)."""
    organization = requester.organization
    return finished_report_job(
        requester, f"reports/{organization.pk}/matrix-report.csv"
    )


def _notification(member: Membership) -> Notification:
    """An unread notification of ``member``'s, linking to their home page."""
    with tenant_context(member.organization):
        return Notification.objects.create(
            organization=member.organization,
            recipient=member.user,
            kind=NotificationKind.REMINDER,
            key=f"matrix:{member.pk}",
            title="Matrix reminder",
            path=f"/o/{member.organization.slug}/",
        )


def _subscription_targets(creator: Membership) -> dict[str, dict[str, int]]:
    """A weekly cycle digest ``creator`` made for themselves, with one sent delivery
    whose e-mail carried a PDF (stored by the PDF URL's ``PREPARE``)."""
    subscription = subscription_for(creator)
    delivery, email = sent_delivery(
        subscription,
        creator,
        file=f"reports/{creator.organization_id}/matrix-email.pdf",
    )
    ids = {"pk": subscription.pk, "delivery_pk": delivery.pk}
    return {
        "report_subscription": {"pk": subscription.pk},
        "report_delivery": ids,
        "report_email": {**ids, "email_pk": email.pk},
    }


def build_world() -> World:
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
    home = engagement_objects(
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
    away = engagement_objects(
        other_org,
        employee=foreign_employee,
        peer=foreign_peer,
        roles={EngagementRole.CONTRIBUTOR: EmployeeFactory(organization=other_org)},
        other_roles={EngagementRole.PLANNER: foreign_employee},
    )
    reviewed, reviewed_refs = review_objects(
        org,
        engagement_pk=home[Target.OWN]["engagement"]["pk"],
        employee=subject,
        author=_employee_of(members[Actor.PLANNER]),
        requestee=peer,
        actor=hr_admin,
    )
    reviewed_away, _ = review_objects(
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
    home[Target.OWN]["report_job"] = {"pk": _report_job(line_manager).pk}
    away[Target.OWN]["report_job"] = {"pk": _report_job(members[Actor.OUTSIDER]).pk}
    home[Target.OWN].update(_subscription_targets(line_manager))
    away[Target.OWN].update(_subscription_targets(members[Actor.OUTSIDER]))
    job_title = JobTitleFactory(organization=org)
    with tenant_context(org):
        engagement = Engagement.objects.get(pk=home[Target.OWN]["engagement"]["pk"])
    home[Target.OWN].update(
        employee={"pk": subject.pk},
        invitation={"pk": invitation.pk},
        business_unit={"pk": BusinessUnitFactory(organization=org).pk},
        job_title={"pk": job_title.pk},
    )
    home[Target.OWN]["notification"] = {"pk": _notification(self_).pk}
    away[Target.OWN]["notification"] = {"pk": _notification(members[Actor.OUTSIDER]).pk}
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


# The body of a URL's POST, from the world and the URL's kwargs (``POST_DATA``).
PostBody = Callable[[World, dict[str, Any]], dict[str, Any]]
# Changes made before a URL's requests, for URLs that need another state (``PREPARE``).
Prepare = Callable[[World], None]
