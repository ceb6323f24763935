"""HR's cycle progress page, its list of the review evaluations not approved yet:
the order (overdue first) and each filter (status, engagement, reviewer, business
unit, the approver a review waits for). The page's access, counts, appraisal list
and cost are test_appraisal_cycle_progress.py's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from engagements.enums import EngagementRole
from engagements.services.roles import assign_role
from organizations.tenancy import tenant_context
from tests.appraisal_factories import EvaluationFactory
from tests.appraisals.views.test_appraisal_cycle_progress import (
    _cycle_with_work,
    _listed,
    _url,
)
from tests.appraisals.views.test_appraisal_pages import _text
from tests.engagement_factories import PlanFactory
from tests.factories import EmployeeFactory

pytestmark = pytest.mark.django_db


def test_evaluation_list_puts_overdue_first_and_leaves_approved_out(
    client_as, org, hr_admin
):
    work = _cycle_with_work(org)
    later = EvaluationFactory(
        plan=PlanFactory(organization=org, cycle=work["cycle"]),
        due_date=timezone.localdate() + timedelta(days=3),
    )
    undated = EvaluationFactory(plan=PlanFactory(organization=org, cycle=work["cycle"]))

    response = client_as(hr_admin).get(
        _url("cycle_progress_evaluations", org, work["cycle"].pk)
    )

    # Due the same day: in the order they were assigned.
    assert _listed(response) == [
        work["overdue"].pk,
        work["submitted"].pk,
        later.pk,
        undated.pk,
    ]
    assert "(overdue)" in _text(response)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("state=overdue", ("overdue", "submitted")),
        ("state=draft", ("overdue", "extra")),
        ("state=submitted", ("submitted",)),
        ("engagement={alpha}", ("extra",)),
        ("reviewer={rita}", ("extra",)),
        ("business_unit={south}", ("overdue", "submitted")),
        # Gamma's approver owes its submitted review, not its draft.
        ("approver={ann}", ("submitted",)),
        ("approver={ann}&state=overdue", ("submitted",)),
        # Rita approves nothing.
        ("approver={rita}", ()),
    ],
)
def test_each_evaluation_filter_narrows_the_list(
    client_as, org, hr_admin, query, expected
):
    work = _cycle_with_work(org)
    work["extra"] = EvaluationFactory(
        plan=PlanFactory(
            organization=org, cycle=work["cycle"], engagement=work["alpha"]
        ),
        reviewer=work["rita"],
    )
    ann = EmployeeFactory(organization=org, full_name="Ann Approver", job_title=None)
    with tenant_context(org):
        assign_role(
            actor=None,
            engagement=work["gamma"],
            employee=ann,
            role=EngagementRole.APPROVER,
        )
    query = query.format(
        alpha=work["alpha"].pk,
        rita=work["rita"].pk,
        south=work["south"].pk,
        ann=ann.pk,
    )

    response = client_as(hr_admin).get(
        _url("cycle_progress_evaluations", org, work["cycle"].pk, query=query)
    )

    assert sorted(_listed(response)) == sorted(work[key].pk for key in expected)
    assert response.context["bulk_count"] == len(expected)
