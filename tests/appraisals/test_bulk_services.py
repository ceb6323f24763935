"""The cycle progress page's bulk services: finalising every ready appraisal and
reminding about every evaluation that the page's filters select (``services.bulk``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from appraisals.enums import AppraisalStatus, EvaluationStatus
from appraisals.models import Appraisal, Evaluation
from appraisals.selectors.progress import cycle_appraisals, open_evaluations, ready
from appraisals.services import bulk
from engagements.models import ReviewCycle
from organizations.enums import Role
from organizations.errors import DomainError
from organizations.models import Employee, Membership, Organization
from organizations.tenancy import tenant_context
from tests.appraisal_factories import AppraisalFactory, EvaluationFactory
from tests.appraisals.test_finalisation_services import (
    employee_of,
    review_cycle,
    stored,
)
from tests.engagement_factories import PlanFactory

pytestmark = pytest.mark.django_db

OWN = "your own appraisal (another HR admin must finalise it)"


def _ready_in(cycle: ReviewCycle, employee: Employee | None = None) -> Appraisal:
    """An open appraisal in ``cycle`` whose one review evaluation is approved."""
    org = cycle.organization
    plan = PlanFactory(organization=org, cycle=cycle, **_of(employee))
    return EvaluationFactory(plan=plan, status=EvaluationStatus.APPROVED).appraisal


def _of(employee: Employee | None) -> dict[str, Any]:
    return {"employee": employee} if employee is not None else {}


def _finalise(org: Organization, actor: Membership, cycle: ReviewCycle, **kw: Any):
    """``finalise_matching`` over the cycle's ready appraisals (the page's selection
    without filters), or over ``appraisals`` (a function of the cycle) if given."""
    select = kw.pop("appraisals", lambda c: ready(cycle_appraisals(c)))
    with tenant_context(org):
        return bulk.finalise_matching(
            actor=actor, cycle=cycle, appraisals=select(cycle), **kw
        )


# --- Finalisation -----------------------------------------------------------------------


def test_finalise_matching_finalises_the_ready_ones_and_reports_the_others(
    org, hr_admin
):
    cycle = review_cycle(org)
    ready_ones = [_ready_in(cycle), _ready_in(cycle)]
    own = _ready_in(cycle, employee_of(hr_admin))
    returned = EvaluationFactory(
        plan=PlanFactory(organization=org, cycle=cycle),
        status=EvaluationStatus.RETURNED,
    ).appraisal
    without_reviews = AppraisalFactory(organization=org, cycle=cycle)
    final = _ready_in(cycle)
    with tenant_context(org):
        Appraisal.objects.filter(pk=final.pk).update(
            status=AppraisalStatus.FINALIZED, finalized_at=timezone.now()
        )
    skipped = [own, returned, without_reviews, final]
    before = [stored(a) for a in skipped]

    outcome = _finalise(
        org,
        hr_admin,
        cycle,
        appraisals=lambda c: Appraisal.objects.filter(cycle=c),
        expected=6,
    )

    assert outcome.done == 2
    assert outcome.skipped == [
        (OWN, 1),
        ("finalised already", 1),
        ("no review evaluation", 1),
        ("not all evaluations approved", 1),
    ]
    assert outcome.skipped_text() == (
        f"4 skipped: {OWN} (1), finalised already (1), no review evaluation (1), "
        "not all evaluations approved (1)."
    )
    assert [stored(a)["status"] for a in ready_ones] == [AppraisalStatus.FINALIZED] * 2
    assert [stored(a) for a in skipped] == before


def test_finalise_matching_records_who_in_the_history(org, hr_admin):
    cycle = review_cycle(org)
    appraisal = _ready_in(cycle)

    _finalise(org, hr_admin, cycle, expected=1)

    row = stored(appraisal)
    with tenant_context(org):
        latest = appraisal.history.order_by("-history_date", "-history_id").first()
    assert row["finalized_by_id"] == hr_admin.user_id
    assert row["version"] == appraisal.version + 1
    assert latest.history_user_id == hr_admin.user_id


@pytest.mark.parametrize("expected", [1, 3])
def test_finalise_matching_with_a_stale_count_changes_nothing(org, hr_admin, expected):
    cycle = review_cycle(org)
    appraisals = [_ready_in(cycle), _ready_in(cycle)]

    with pytest.raises(DomainError) as error:
        _finalise(org, hr_admin, cycle, expected=expected)

    assert error.value.field == "expected"
    assert "matched when you loaded the page; 2 match now" in error.value.message
    assert {stored(a)["status"] for a in appraisals} == {AppraisalStatus.OPEN}


def test_finalise_matching_acts_on_the_cycle_only(org, hr_admin):
    cycle = review_cycle(org)
    mine = _ready_in(cycle)
    elsewhere = _ready_in(review_cycle(org))

    outcome = _finalise(
        org, hr_admin, cycle, appraisals=lambda c: Appraisal.objects.all(), expected=1
    )

    assert outcome.done == 1
    assert stored(mine)["status"] == AppraisalStatus.FINALIZED
    assert stored(elsewhere)["status"] == AppraisalStatus.OPEN


def test_finalise_matching_works_through_every_batch(org, hr_admin):
    cycle = review_cycle(org)
    appraisals = [_ready_in(cycle) for _ in range(5)]

    outcome = _finalise(org, hr_admin, cycle, expected=5, batch_size=2)

    assert (outcome.done, outcome.skipped) == (5, [])
    assert {stored(a)["status"] for a in appraisals} == {AppraisalStatus.FINALIZED}


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EMPLOYEE])
def test_only_hr_admins_finalise_matching(org, make_member, role):
    cycle = review_cycle(org)
    appraisal = _ready_in(cycle)

    with pytest.raises(PermissionDenied):
        _finalise(org, make_member(org, role), cycle, expected=1)

    assert stored(appraisal)["status"] == AppraisalStatus.OPEN


def test_finalise_matching_emails_each_employee_once(
    org, hr_admin, make_member, mailoutbox, django_capture_on_commit_callbacks
):
    cycle = review_cycle(org)
    members = [make_member(org), make_member(org)]
    for member in members:
        _ready_in(cycle, employee_of(member))

    with django_capture_on_commit_callbacks(execute=True):
        _finalise(org, hr_admin, cycle, expected=2)

    assert sorted(m.to[0] for m in mailoutbox) == sorted(m.user.email for m in members)


def _finalise_queries(org: Organization, hr: Membership, count: int) -> int:
    cycle = review_cycle(org)
    for _ in range(count):
        _ready_in(cycle)
    with CaptureQueriesContext(connection) as queries:
        _finalise(org, hr, cycle, expected=count)
    return len(queries)


def test_finalise_matching_query_count_does_not_grow_with_the_batch(org, hr_admin):
    small = _finalise_queries(org, hr_admin, 5)
    large = _finalise_queries(org, hr_admin, 25)

    assert small == large


# --- Reminders ------------------------------------------------------------------------------


def _reminder_setup(org: Organization, make_member: Any) -> dict[str, Any]:
    cycle = review_cycle(org)
    reviewer = make_member(org, Role.MANAGER)
    approver = make_member(org, Role.MANAGER)
    draft = EvaluationFactory(
        plan=PlanFactory(organization=org, cycle=cycle),
        reviewer=employee_of(reviewer),
        status=EvaluationStatus.DRAFT,
    )
    submitted = EvaluationFactory(
        plan=PlanFactory(organization=org, cycle=cycle, approver=employee_of(approver)),
        reviewer=employee_of(reviewer),
        status=EvaluationStatus.SUBMITTED,
        submission=1,
    )
    return {
        "cycle": cycle,
        "reviewer": reviewer,
        "approver": approver,
        "draft": draft,
        "submitted": submitted,
    }


def _remind(org, actor, cycle, expected, capture, *, today=date(2026, 7, 10), **kw):
    """``remind_matching`` over the cycle's evaluations not approved yet (the page's
    selection without filters), or over ``evaluations`` (a function of the cycle)."""
    select = kw.pop("evaluations", open_evaluations)
    with capture(execute=True), tenant_context(org):
        return bulk.remind_matching(
            actor=actor,
            cycle=cycle,
            evaluations=select(cycle),
            expected=expected,
            today=today,
            **kw,
        )


def test_reminders_go_to_reviewers_of_drafts_and_approvers_of_submissions(
    org, hr_admin, make_member, mailoutbox, django_capture_on_commit_callbacks
):
    s = _reminder_setup(org, make_member)

    outcome = _remind(org, hr_admin, s["cycle"], 2, django_capture_on_commit_callbacks)

    assert (outcome.done, outcome.sent, outcome.skipped) == (2, 2, [])
    by_recipient = {m.to[0]: m for m in mailoutbox}
    assert set(by_recipient) == {s["reviewer"].user.email, s["approver"].user.email}
    assert "to write" in by_recipient[s["reviewer"].user.email].subject
    assert "to approve" in by_recipient[s["approver"].user.email].subject


def test_reminders_are_sent_once_per_evaluation_per_day(
    org, hr_admin, make_member, mailoutbox, django_capture_on_commit_callbacks
):
    s = _reminder_setup(org, make_member)
    capture = django_capture_on_commit_callbacks

    def drafts(cycle):
        return open_evaluations(cycle).filter(status=EvaluationStatus.DRAFT)

    _remind(org, hr_admin, s["cycle"], 1, capture, evaluations=drafts)
    _remind(org, hr_admin, s["cycle"], 1, capture, evaluations=drafts)
    first_day = len(mailoutbox)
    _remind(
        org,
        hr_admin,
        s["cycle"],
        1,
        capture,
        evaluations=drafts,
        today=date(2026, 7, 11),
    )

    assert first_day == 1
    assert len(mailoutbox) == 2


def test_reminders_skip_what_they_may_not_remind_about_and_say_why(
    org, hr_admin, make_member, mailoutbox, django_capture_on_commit_callbacks
):
    s = _reminder_setup(org, make_member)
    cycle = s["cycle"]
    EvaluationFactory(
        plan=PlanFactory(organization=org, cycle=cycle),
        status=EvaluationStatus.APPROVED,
    )
    EvaluationFactory(plan=PlanFactory(organization=org, cycle=cycle), reviewer=None)
    # The reviewer is a directory entry without a login.
    EvaluationFactory(plan=PlanFactory(organization=org, cycle=cycle))

    outcome = _remind(
        org,
        hr_admin,
        cycle,
        5,
        django_capture_on_commit_callbacks,
        evaluations=lambda c: Evaluation.objects.filter(appraisal__cycle=c),
    )

    assert (outcome.done, outcome.sent) == (2, 2)
    assert outcome.skipped == [
        ("approved already", 1),
        ("no reviewer assigned", 1),
        ("nobody to remind has a login", 1),
    ]
    assert len(mailoutbox) == 2


def test_reminders_about_another_cycles_evaluations_are_not_sent(
    org, hr_admin, make_member, mailoutbox, django_capture_on_commit_callbacks
):
    s = _reminder_setup(org, make_member)
    elsewhere = make_member(org, Role.MANAGER)
    EvaluationFactory(
        plan=PlanFactory(organization=org), reviewer=employee_of(elsewhere)
    )

    outcome = _remind(
        org,
        hr_admin,
        s["cycle"],
        2,
        django_capture_on_commit_callbacks,
        evaluations=lambda c: Evaluation.objects.all(),
    )

    assert outcome.done == 2
    assert elsewhere.user.email not in {m.to[0] for m in mailoutbox}


@pytest.mark.parametrize("expected", [1, 3])
def test_reminders_with_a_stale_count_send_nothing(
    org, hr_admin, make_member, mailoutbox, django_capture_on_commit_callbacks, expected
):
    s = _reminder_setup(org, make_member)

    with pytest.raises(DomainError) as error:
        _remind(org, hr_admin, s["cycle"], expected, django_capture_on_commit_callbacks)

    assert error.value.field == "expected"
    assert "No reminder was sent" in error.value.message
    assert mailoutbox == []


def test_reminders_are_for_hr_admins_only(
    org, manager, make_member, mailoutbox, django_capture_on_commit_callbacks
):
    s = _reminder_setup(org, make_member)

    with pytest.raises(PermissionDenied):
        _remind(org, manager, s["cycle"], 2, django_capture_on_commit_callbacks)

    assert mailoutbox == []


def test_a_reminder_delivered_twice_sends_once(
    org, hr_admin, make_member, mailoutbox, django_capture_on_commit_callbacks
):
    s = _reminder_setup(org, make_member)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        tenant_context(org),
    ):
        bulk.remind_matching(
            actor=hr_admin,
            cycle=s["cycle"],
            evaluations=open_evaluations(s["cycle"]).filter(
                status=EvaluationStatus.DRAFT
            ),
            expected=1,
        )

    for callback in callbacks:
        callback()

    assert len(mailoutbox) == 1


def _remind_queries(org: Organization, hr: Membership, count: int, capture) -> int:
    cycle = review_cycle(org)
    for _ in range(count):
        # Reviewers without a login: nothing is queued, so only the fixed cost shows.
        EvaluationFactory(plan=PlanFactory(organization=org, cycle=cycle))
        EvaluationFactory(
            plan=PlanFactory(organization=org, cycle=cycle),
            status=EvaluationStatus.SUBMITTED,
            submission=1,
        )
    with CaptureQueriesContext(connection) as queries:
        _remind(org, hr, cycle, 2 * count, capture)
    return len(queries)


def test_reminder_query_count_does_not_grow_with_the_batch(
    org, hr_admin, django_capture_on_commit_callbacks
):
    small = _remind_queries(org, hr_admin, 3, django_capture_on_commit_callbacks)
    large = _remind_queries(org, hr_admin, 12, django_capture_on_commit_callbacks)

    assert small == large
