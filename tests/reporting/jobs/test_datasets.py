"""What each export holds, against a small hand-made world of two organisations: the
rows of each dataset for HR admins and line managers, and nothing of the other
organisation's."""

from __future__ import annotations

from decimal import Decimal

import pytest

from appraisals.enums import ApprovalCapacity, ApprovalDecision
from appraisals.models import EvaluationApproval
from organizations.enums import Role
from organizations.tenancy import tenant_context
from reporting.exports.registry import available_datasets, listed_datasets
from reporting.scope import ReportScope
from tests.factories import EmployeeFactory, MembershipFactory
from tests.reporting.jobs.conftest import (
    HOSTILE_CLIENT,
    HOSTILE_EMPLOYEE,
    HOSTILE_GOAL,
    HOSTILE_MANAGER,
)
from tests.reporting.jobs.helpers import dataset_rows

pytestmark = pytest.mark.django_db


def _params(tenant):
    return {"cycle": tenant.cycle.pk}


def test_appraisals_dataset_gives_hr_every_appraisal_of_the_cycle(both):
    home, _away = both

    rows = dataset_rows(home.hr_admin, "appraisals", _params(home))

    assert rows == [
        (
            HOSTILE_EMPLOYEE,
            home.report.code,
            home.report.business_unit.name,
            home.report.job_title.name,
            HOSTILE_MANAGER,
            "Open",
            Decimal("3.25"),
            Decimal("4.10"),
            Decimal("3.75"),
            Decimal("75.00"),
            None,
            None,
            None,
            "Yes",
        ),
        (
            "Otto Outside",
            home.outsider_of_line.code,
            home.outsider_of_line.business_unit.name,
            home.outsider_of_line.job_title.name,
            None,
            "Finalised",
            None,
            None,
            Decimal("2.50"),
            None,
            None,
            None,
            None,
            "No",
        ),
    ]


def test_appraisals_dataset_gives_the_calibration_beside_the_computed_final(both):
    """An adjustment in force: δ to two places, the calibrated final and percent
    after the computed ones."""
    home, _away = both
    with tenant_context(home.org):
        type(home.appraisal).objects.filter(pk=home.appraisal.pk).update(
            calibration_delta=Decimal("-0.125000000000000000000001"),
            calibrated_score=Decimal("3.63"),
            calibrated_percent=Decimal("65.62"),
        )

    rows = dataset_rows(home.hr_admin, "appraisals", _params(home))

    assert rows[0][6:14] == (
        Decimal("3.25"),
        Decimal("4.10"),
        Decimal("3.75"),
        Decimal("75.00"),
        Decimal("-0.13"),
        Decimal("3.63"),
        Decimal("65.62"),
        "Yes",
    )


def test_appraisals_dataset_gives_a_line_manager_their_line_only(both):
    home, _away = both

    rows = dataset_rows(home.manager, "appraisals", _params(home))

    assert [row[0] for row in rows] == [HOSTILE_EMPLOYEE]


def test_appraisals_dataset_of_another_organisations_cycle_is_empty(both):
    home, away = both

    rows = dataset_rows(home.hr_admin, "appraisals", _params(away))

    assert rows == []


def test_evaluations_dataset_lists_reviews_with_scores_and_dates(both):
    home, _away = both

    rows = dataset_rows(home.hr_admin, "evaluations", _params(home))

    assert len(rows) == 1
    plan, engagement, employee, reviewer, approved_by, status, *rest = rows[0]
    goal_score, competency_score, score, submitted_at, approved_at = rest
    assert (plan, engagement, employee, reviewer, approved_by, status) == (
        "Engagement",
        "ENG-A · Audit",
        HOSTILE_EMPLOYEE,
        "Rob Reviewer",
        None,
        "Submitted",
    )
    assert (goal_score, competency_score, score) == (
        Decimal("3.50"),
        Decimal("4.00"),
        Decimal("3.80"),
    )
    assert submitted_at == home.review.submitted_at
    assert approved_at is None


def test_goals_dataset_has_target_actual_and_attainment(both):
    home, _away = both

    rows = dataset_rows(home.manager, "goals", _params(home))

    assert [(r[0], r[1], r[2], r[6], r[7], r[8]) for r in rows] == [
        (
            HOSTILE_EMPLOYEE,
            "ENG-A · Audit",
            HOSTILE_GOAL,
            Decimal("200.00"),
            Decimal("150.00"),
            Decimal("75.00"),
        )
    ]


def test_competency_ratings_dataset_has_expected_level_and_rating(both):
    home, _away = both

    rows = dataset_rows(home.hr_admin, "competency_ratings", _params(home))

    assert [row[1:] for row in rows] == [
        (
            "ENG-A · Audit",
            HOSTILE_EMPLOYEE,
            rows[0][3],
            Decimal("3.00"),
            Decimal("4.50"),
        )
    ]
    assert rows[0][0] == home.review.pk


def test_feedback_counts_count_by_kind_and_anonymous_answers_from_three(both):
    home, _away = both

    rows = dataset_rows(home.manager, "feedback_counts", _params(home))

    # Two anonymous requests about the report: one with three answers (counted),
    # one with two (never counted). Otto is not in the manager's line.
    assert rows == [
        (HOSTILE_EMPLOYEE, "Improvement", 1),
        (HOSTILE_EMPLOYEE, "Praise", 2),
        (HOSTILE_EMPLOYEE, "Answers to anonymous requests", 3),
    ]


def test_feedback_counts_for_hr_cover_everyone(both):
    home, _away = both

    rows = dataset_rows(home.hr_admin, "feedback_counts", _params(home))

    assert ("Otto Outside", "Praise", 1) in rows
    assert all(row[0] in (HOSTILE_EMPLOYEE, "Otto Outside") for row in rows)


def test_client_surveys_dataset_for_hr(both):
    home, _away = both

    rows = dataset_rows(home.hr_admin, "client_surveys", _params(home))

    assert rows == [
        (
            "ENG-A · Audit",
            HOSTILE_CLIENT,
            home.survey.sent_at,
            home.survey.answered_at,
            4,
        )
    ]


def test_client_surveys_dataset_is_empty_for_a_line_manager_without_a_role(both):
    home, _away = both

    rows = dataset_rows(home.manager, "client_surveys", _params(home))

    assert rows == []


@pytest.mark.parametrize(
    "kind",
    [
        "appraisals",
        "evaluations",
        "goals",
        "competency_ratings",
        "feedback_counts",
        "client_surveys",
    ],
)
def test_no_dataset_shows_the_other_organisations_rows(both, kind):
    home, away = both

    home_rows = repr(dataset_rows(home.hr_admin, kind, _params(home)))
    away_rows = repr(dataset_rows(away.hr_admin, kind, _params(away)))

    assert "Rita Report" not in home_rows
    assert "Calm Client" not in home_rows
    assert HOSTILE_EMPLOYEE not in away_rows
    assert HOSTILE_CLIENT not in away_rows


def test_available_datasets_hr_all_manager_line_employee_none(both):
    home, _away = both
    employee = MembershipFactory(organization=home.org, role=Role.EMPLOYEE)

    with tenant_context(home.org):
        offered = {
            who: [d.kind for d in available_datasets(ReportScope(member))]
            for who, member in (
                ("hr", home.hr_admin),
                ("manager", home.manager),
                ("employee", employee),
            )
        }

    assert offered == {
        "hr": [d.kind for d in listed_datasets()],
        "manager": [
            "appraisals",
            "evaluations",
            "goals",
            "competency_ratings",
            "feedback_counts",
        ],
        "employee": [],
    }


def test_evaluations_dataset_names_who_approved_the_current_submission(home):
    approver = EmployeeFactory(organization=home.org, full_name="Ada Approver")
    with tenant_context(home.org):
        for submission, name in ((0, "Old Approver"), (1, "Ada Approver")):
            EvaluationApproval.objects.create(
                organization=home.org,
                evaluation=home.review,
                submission=submission,
                approver=approver
                if name == "Ada Approver"
                else EmployeeFactory(organization=home.org, full_name=name),
                capacity=ApprovalCapacity.APPROVER,
                decision=ApprovalDecision.APPROVED,
            )

    rows = dataset_rows(home.hr_admin, "evaluations", _params(home))

    assert rows[0][4] == "Ada Approver"
