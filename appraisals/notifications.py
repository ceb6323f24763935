"""The e-mails of the appraisal workflow: who is told what, with which idempotency key.

Every one goes through ``organizations.notifications.queue_email`` (after commit, once
per key): reviewers when an evaluation is assigned or returned to them, approvers when
one is submitted, the employee when their appraisal is finalised, and reminders.
"""

from __future__ import annotations

from datetime import date

from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from appraisals.models import Appraisal, Evaluation
from appraisals.selectors.approvals import authorities_for
from engagements.enums import PlanKind
from organizations.enums import Role
from organizations.models import Employee, Membership, Organization, User
from organizations.notifications import queue_email


def _plan_label(evaluation: Evaluation) -> str:
    plan = evaluation.plan
    if plan.kind == PlanKind.GENERAL:
        return str(_("General plan"))
    return str(plan.engagement.name) if plan.engagement else ""


def _context(evaluation: Evaluation, organization_slug: str) -> dict[str, object]:
    return {
        "employee": evaluation.employee.full_name,
        "plan": _plan_label(evaluation),
        "cycle": evaluation.plan.cycle.name,
        "due": date_format(evaluation.due_date, "DATE_FORMAT")
        if evaluation.due_date
        else "",
        "path": reverse(
            "appraisals:evaluation_detail", args=[organization_slug, evaluation.pk]
        ),
    }


def mail_assigned(
    organization: Organization, evaluation: Evaluation, reviewer: Employee
) -> None:
    """Tell ``reviewer`` (when they have a login) they write ``evaluation``."""
    if reviewer.user is None:
        return
    queue_email(
        organization=organization,
        key=f"evaluation.assigned:{evaluation.pk}:{reviewer.pk}:{evaluation.submission}",
        template="appraisals/email/evaluation_assigned.txt",
        context=_context(evaluation, organization.slug),
        user=reviewer.user,
        essential=True,
    )


def _hr_users() -> list[User]:
    return [
        m.user
        for m in Membership.objects.filter(
            role=Role.HR_ADMIN, is_active=True
        ).select_related("user")
    ]


def mail_submitted(evaluation: Evaluation) -> None:
    """E-mail everyone who must act on this submission (each approver candidate, the
    line manager under dual approval, HR when HR approves for lack of anyone else)."""
    authority = authorities_for([evaluation])[evaluation.pk]
    excluded = {
        evaluation.employee.user_id,
        getattr(evaluation.reviewer, "user_id", None),
    }
    users: dict[int, User] = {}
    for person in authority.people():
        if person.user is not None:
            users[person.user.pk] = person.user
    if authority.hr_fallback:
        users.update({u.pk: u for u in _hr_users()})
    organization = Organization.objects.get(pk=evaluation.organization_id)
    context = _context(evaluation, organization.slug)
    context["reviewer"] = evaluation.reviewer.full_name if evaluation.reviewer else ""
    for user in users.values():
        if user.pk in excluded:
            continue
        queue_email(
            organization=organization,
            key=f"evaluation.submitted:{evaluation.pk}:{evaluation.submission}:{user.pk}",
            template="appraisals/email/evaluation_submitted.txt",
            context=context,
            user=user,
            essential=True,
        )


def mail_returned(evaluation: Evaluation, comment: str) -> None:
    """Tell the reviewer their evaluation came back, with the approver's comment."""
    reviewer = evaluation.reviewer
    if reviewer is None or reviewer.user is None:
        return
    organization = Organization.objects.get(pk=evaluation.organization_id)
    context = _context(evaluation, organization.slug)
    context["comment"] = comment
    queue_email(
        organization=organization,
        key=f"evaluation.returned:{evaluation.pk}:{evaluation.submission}:{reviewer.user.pk}",
        template="appraisals/email/evaluation_returned.txt",
        context=context,
        user=reviewer.user,
        essential=True,
    )


def mail_finalised(actor: Membership, appraisal: Appraisal) -> None:
    """Tell the employee (essential: they must read and acknowledge it). The key holds
    the version, so a reopened and finalised-again appraisal is announced again."""
    user: User | None = appraisal.employee.user
    if user is None:
        return
    queue_email(
        organization=actor.organization,
        key=f"appraisal.finalised:{appraisal.pk}:{appraisal.version}:{user.pk}",
        template="appraisals/email/appraisal_finalised.txt",
        context={
            "name": appraisal.employee.full_name,
            "cycle": appraisal.cycle.name,
            "path": appraisal.get_absolute_url(),
        },
        user=user,
        essential=True,
    )


def mail_reminder(
    actor: Membership,
    evaluation: Evaluation,
    person: Employee,
    template: str,
    today: date,
) -> int:
    """Remind ``person`` about ``evaluation`` with ``template`` (an optional e-mail; at
    most once a day each). Returns 1 when queued, 0 for someone without a login."""
    user = person.user
    if user is None:
        return 0
    subject = evaluation.employee.full_name
    engagement = evaluation.plan.engagement
    queue_email(
        organization=actor.organization,
        key=f"appraisal.reminder:{evaluation.pk}:{today.isoformat()}:{user.pk}",
        template=template,
        context={
            "employee": subject,
            "plan": engagement.name if engagement else str(_("General plan")),
            "due": evaluation.due_date.isoformat() if evaluation.due_date else "",
            "path": evaluation.get_absolute_url(),
        },
        user=user,
    )
    return 1
