"""The dashboard pages: who may open each, what they show, bad filters, and query
counts that do not grow with the organisation (``tests/reporting/worlds.py``)."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appraisals.enums import EvaluationKind, EvaluationStatus
from appraisals.models import Evaluation
from engagements.enums import CycleStatus, EngagementRole
from engagements.services.roles import assign_role
from organizations.enums import Role
from organizations.models import BusinessUnit, Employee
from organizations.tenancy import tenant_context
from reporting.models import ReportJob
from tests.appraisal_factories import AppraisalFactory
from tests.engagement_factories import ReviewCycleFactory
from tests.factories import (
    BusinessUnitFactory,
    EmployeeFactory,
    OrganizationFactory,
)
from tests.reporting.worlds import build_world

QUERY_BUDGET = 15
DASHBOARDS = [
    "home",
    "overview",
    "scores",
    "competencies",
    "engagements",
    "reviewers",
    "trends",
]
LINE = {"home", "overview", "scores", "competencies", "engagements", "trends"}


@pytest.fixture
def world(db):
    rival = build_world(OrganizationFactory(slug="rival", name="Rival"))
    home = build_world(OrganizationFactory(slug="home", name="Home"))
    home.rival = rival
    return home


def url(world, name, *args, query=""):
    path = reverse(f"reporting:{name}", args=[world.org.slug, *args])
    return f"{path}?{query}" if query else path


@pytest.mark.parametrize("name", DASHBOARDS)
def test_each_dashboard_by_role(world, client_as, name):
    outcomes = {
        role: client_as(getattr(world, role)).get(url(world, name)).status_code
        for role in ("hr", "manager", "reviewer", "employee")
    }

    assert outcomes == {
        "hr": 200,
        "manager": 200 if name in LINE else 403,
        "reviewer": 200 if name in ("home", "engagements") else 403,
        "employee": 200 if name == "home" else 403,
    }


def test_the_score_page_shows_the_figures_and_their_table(world, client_as):
    response = client_as(world.hr).get(url(world, "scores"))

    page = response.content.decode()
    assert 'data-figure="mean">3.17<' in page
    assert 'data-figure="provisional">1<' in page
    assert "Show the figures as a table" in page
    assert 'id="chart-histogram" type="application/json"' in page


@pytest.mark.parametrize("name", ["scores", "trends"])
def test_business_units_come_twelve_to_a_page(world, client_as, name):
    # Fourteen units with a scored appraisal each, besides Audit and Tax: sixteen.
    with tenant_context(world.org):
        for n in range(14):
            AppraisalFactory(
                organization=world.org,
                cycle=world.cycle,
                employee=EmployeeFactory(
                    organization=world.org,
                    business_unit=BusinessUnitFactory(
                        organization=world.org, name=f"Unit {n:02}"
                    ),
                ),
                final_score=Decimal("3.00"),
                percent=Decimal(50),
            )
    client = client_as(world.hr)

    first = client.get(url(world, name)).content.decode()
    second = client.get(url(world, name, query="page=2")).content.decode()

    assert "16 business units, twelve to a page" in first
    assert "page 1 of 2" in first
    assert "page 2 of 2" in second
    assert "<td>Audit</td>" in first
    assert "<td>Unit 09</td>" in first
    assert "<td>Unit 10</td>" not in first
    assert "<td>Unit 13</td>" in second
    assert "<td>Audit</td>" not in second


def test_a_filter_narrows_the_figures(world, client_as):
    with_tax = client_as(world.hr).get(
        url(world, "scores", query=f"business_unit={_unit(world, 'Tax')}")
    )

    assert 'data-figure="mean">2.50<' in with_tax.content.decode()


def test_the_filter_bar_picks_a_unit_by_search_and_renders_only_the_chosen_one(
    world, client_as
):
    tax = _unit(world, "Tax")
    client = client_as(world.hr)
    page = client.get(
        url(world, "scores", query=f"business_unit={tax}")
    ).content.decode()

    select = re.search(r'<select name="business_unit".*?</select>', page, re.S)
    assert select is not None
    options = re.findall(
        r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select[0]
    )
    # A searchable picker: the page holds the chosen unit alone; the rest come from
    # the picker's endpoint, this organisation's units by name.
    assert options == [("", "", "All units"), (str(tax), " selected", "Tax")]
    listed = client.get(
        reverse("organizations:picker", args=[world.org.slug, "business_units"])
    ).json()
    names = [row["text"] for row in listed["results"]]
    with tenant_context(world.org):
        units = list(
            BusinessUnit.objects.order_by("name").values_list("name", flat=True)
        )
    assert names == units[: len(names)]
    assert "Tax" in names
    assert str(_unit(world.rival, "Tax")) not in {
        str(r["value"]) for r in listed["results"]
    }


def test_a_filter_naming_another_organisations_unit_is_refused_beside_the_field(
    world, client_as
):
    response = client_as(world.hr).get(
        url(world, "scores", query=f"business_unit={_unit(world.rival, 'Tax')}")
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert "invalid-feedback" in page
    assert 'data-figure="mean"' not in page


def test_the_overview_links_late_reviewers_and_approvers_to_their_queues(
    world, client_as
):
    late = timezone.localdate() - timedelta(days=2)
    with tenant_context(world.org):
        rolf = Employee.objects.get(full_name="Rolf Reviewer")
        assign_role(
            actor=None,
            engagement=world.engagement,
            employee=rolf,
            role=EngagementRole.APPROVER,
        )
        cleo = Evaluation.objects.get(
            plan__employee=world.people["Cleo"], kind=EvaluationKind.REVIEW
        )
        Evaluation.objects.filter(pk=cleo.pk).update(
            status=EvaluationStatus.SUBMITTED, due_date=late, approved_at=None
        )
        Evaluation.objects.filter(plan__employee=world.people["Ben"]).update(
            status=EvaluationStatus.RETURNED, due_date=late, approved_at=None
        )
        rita = Employee.objects.get(full_name="Rita Reviewer")
    queue = reverse(
        "appraisals:cycle_progress_evaluations", args=[world.org.slug, world.cycle.pk]
    )

    page = client_as(world.hr).get(url(world, "overview")).content.decode()

    assert (
        f'<a href="{queue}?reviewer={rita.pk}&amp;state=overdue">Rita Reviewer</a>'
        in page
    )
    approver_link = f"{queue}?approver={rolf.pk}&state=overdue"
    assert f'<a href="{approver_link.replace("&", "&amp;")}">Rolf Reviewer</a>' in page
    listed = client_as(world.hr).get(approver_link).context["rows"]
    assert [row.pk for row in listed] == [cleo.pk]


def test_the_engagement_report_of_another_organisation_is_404(world, client_as):
    response = client_as(world.hr).get(
        url(world, "engagement", world.rival.engagement.pk)
    )

    assert response.status_code == 404


def test_the_engagement_report_is_404_for_a_manager_outside_it(
    world, client_as, make_member
):
    stranger = make_member(world.org, Role.MANAGER)

    response = client_as(stranger).get(url(world, "engagement", world.engagement.pk))

    assert response.status_code == 403  # no line, no role: no dashboard at all


def test_the_engagement_report_for_its_reviewer(world, client_as):
    response = client_as(world.reviewer).get(
        url(world, "engagement", world.engagement.pk)
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "Cleo" in page
    assert "Ledger" in page


def test_the_home_page_shows_the_headlines_to_hr(world, client_as):
    response = client_as(world.hr).get(
        reverse("organizations:home", args=[world.org.slug])
    )

    page = response.content.decode()
    assert "at a glance" in page
    assert 'data-figure="approved">100 %<' in page


def _unit(world, name):
    with tenant_context(world.org):
        return BusinessUnit.objects.get(name=name).pk


# Test-only bookkeeping a production request does not run: the test transaction's
# savepoints and the row-security reset after the view (as in the pages' budget test,
# tests/organizations/views/test_query_counts.py).
BOOKKEEPING = re.compile(
    r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT|SELECT set_config\()"
)


def _count(client, path):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, path
    return len([q for q in queries if not BOOKKEEPING.match(q["sql"])])


@pytest.mark.parametrize(
    ("role", "name"),
    [
        *[("hr", name) for name in [*DASHBOARDS, "engagement"]],
        # Reviewer consistency is HR's only (403 for a manager, checked above).
        *[
            ("manager", name)
            for name in [*DASHBOARDS, "engagement"]
            if name != "reviewers"
        ],
    ],
)
def test_query_count_does_not_grow_with_the_organisation(db, client_as, name, role):
    small = build_world(OrganizationFactory(slug="small", name="Small"))
    large = build_world(OrganizationFactory(slug="large", name="Large"), extra_people=6)

    counts = [
        _count(
            client_as(getattr(w, role)),
            url(w, name, *([w.engagement.pk] if name == "engagement" else [])),
        )
        for w in (small, large)
    ]

    assert counts[0] == counts[1] <= QUERY_BUDGET


# --- The appraisal page's trend ----------------------------------------------------


@pytest.fixture
def second_cycle(world):
    """Ada and Ben in a later cycle, both still open (Ada at 3.00, Ben at 2.00)."""
    later = ReviewCycleFactory(
        organization=world.org,
        name="Later",
        status=CycleStatus.REVIEW,
        start_date=date(2026, 1, 1),
        end_date=date(2026, 12, 31),
    )
    for name, score in (("Ada", "3.00"), ("Ben", "2.00")):
        AppraisalFactory(
            organization=world.org,
            cycle=later,
            employee=world.people[name],
            final_score=Decimal(score),
            percent=Decimal(50),
        )
    return later


def test_the_employee_sees_their_finalised_scores_across_cycles(
    world, second_cycle, client_as
):
    appraisal = world.appraisals["Ada"]

    response = client_as(world.employee).get(
        url(world, "appraisal_trend", appraisal.pk)
    )

    assert response.status_code == 200
    assert [(p.cycle, p.mean) for p in response.context["points"]] == [
        ("Review", Decimal("4.00"))
    ]


def test_the_line_manager_sees_provisional_scores_in_the_trend_labelled(
    world, second_cycle, client_as
):
    appraisal = world.appraisals["Ada"]

    response = client_as(world.manager).get(url(world, "appraisal_trend", appraisal.pk))

    assert [(p.cycle, p.mean, p.provisional) for p in response.context["points"]] == [
        ("Review", Decimal("4.00"), 0),
        ("Later", Decimal("3.00"), 1),
    ]
    assert "provisional" in response.content.decode()


def test_the_trend_of_someone_elses_appraisal_is_404(world, client_as):
    response = client_as(world.employee).get(
        url(world, "appraisal_trend", world.appraisals["Ben"].pk)
    )

    assert response.status_code == 404


def test_the_appraisal_page_loads_the_trend_lazily(world, client_as):
    appraisal = world.appraisals["Ada"]

    page = client_as(world.employee).get(appraisal.get_absolute_url()).content.decode()

    assert url(world, "appraisal_trend", appraisal.pk) in page


# --- Exports of what a dashboard shows ---------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _jobs(world):
    with tenant_context(world.org):
        return list(ReportJob.objects.values_list("kind", "parameters", "status"))


def test_a_dashboard_export_holds_what_the_page_shows_with_its_filters(
    world, client_as, media, django_capture_on_commit_callbacks
):
    client = client_as(world.hr)
    tax = _unit(world, "Tax")

    # The outbox publishes the job on commit; Celery runs it eagerly.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url(world, "export"),
            {"dashboard": "scores", "business_unit": tax, "file_format": "csv"},
        )

    assert response.status_code == 302
    with tenant_context(world.org):
        job = ReportJob.objects.get()
    assert (job.kind, job.status) == ("dashboard-scores", "done")
    assert job.parameters == {"business_unit": str(tax), "cycle": str(world.cycle.pk)}
    download = client.get(url(world, "job_download", job.pk))
    text = b"".join(download.streaming_content).decode("utf-8-sig")  # Excel's BOM
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["Grouping", "Group", "Appraisals scored", "Mean"]
    assert rows[1][:4] == ["Everyone counted", "", "1", "2.50"]


def test_exporting_a_dashboard_one_may_not_open_is_refused(world, client_as, media):
    response = client_as(world.manager).post(
        url(world, "export"), {"dashboard": "reviewers", "file_format": "csv"}
    )

    assert response.status_code == 403
    assert _jobs(world) == []


def test_exporting_with_a_filter_of_another_organisation_exports_nothing(
    world, client_as, media
):
    response = client_as(world.hr).post(
        url(world, "export"),
        {
            "dashboard": "scores",
            "business_unit": _unit(world.rival, "Tax"),
            "file_format": "csv",
        },
        follow=True,
    )

    assert "nothing was exported" in response.content.decode()
    assert _jobs(world) == []


def test_exporting_an_unknown_dashboard_is_a_bad_request(world, client_as, media):
    response = client_as(world.hr).post(
        url(world, "export"), {"dashboard": "salaries", "file_format": "csv"}
    )

    assert response.status_code == 400
    assert _jobs(world) == []
