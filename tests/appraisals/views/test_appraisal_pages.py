"""The appraisal pages: the member's list, the score explanation, acknowledgement,
finalisation and reopening, and the home section. Who may see what, what they see,
bad input refused with nothing changed, and flat query counts."""

from __future__ import annotations

import html
import re
from decimal import Decimal as D
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appraisals.enums import AppraisalStatus, EvaluationStatus
from appraisals.services import appraisals as finalisation
from competencies.models import RatingLevel, RatingScale
from engagements.enums import EngagementRole
from engagements.services.roles import assign_role
from organizations.enums import Role
from organizations.models import Employee
from organizations.tenancy import tenant_context
from tests.appraisals.test_finalisation_services import (
    Example,
    employee_of,
    ready_appraisal,
    review_cycle,
    stored,
    worked_example,
)
from tests.factories import EmployeeFactory, MembershipFactory

pytestmark = pytest.mark.django_db

QUERY_BUDGET = 15
PROVISIONAL = "Provisional — includes evaluations not yet approved"
# Test-only statements that a production request does not issue (see
# tests/organizations/views/test_query_counts.py).
BOOKKEEPING = re.compile(
    r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT|SELECT set_config\()"
)


def _url(name: str, org: Any, *args: Any) -> str:
    return reverse(f"appraisals:{name}", args=[org.slug, *args])


def _lookups(client: Any, url: str) -> tuple[Any, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    count = sum(1 for q in queries.captured_queries if not BOOKKEEPING.match(q["sql"]))
    return response, count


def _text(response: Any) -> str:
    """The page's text: tags dropped, entities decoded, whitespace collapsed."""
    text = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", html.unescape(text))


def _field_error(response: Any, name: str) -> str | None:
    match = re.search(
        rf'<div class="invalid-feedback d-block" id="id_{name}-error">(.*?)</div>',
        response.content.decode(),
        re.S,
    )
    return html.unescape(match.group(1)) if match else None


@pytest.fixture
def people(org, make_member):
    """The employee (with a login), their line manager, another manager, a peer."""
    subject = make_member(org)
    line_manager = make_member(org, Role.MANAGER)
    with tenant_context(org):
        Employee.objects.filter(user=subject.user).update(
            line_manager=employee_of(line_manager)
        )
    return {
        "subject": subject,
        "line_manager": line_manager,
        "other_manager": make_member(org, Role.MANAGER),
        "peer": make_member(org),
    }


@pytest.fixture
def example(org, people) -> Example:
    return worked_example(org, employee_of(people["subject"]))


def _finalise(org, hr_admin, appraisal):
    with tenant_context(org):
        return finalisation.finalise_appraisal(actor=hr_admin, appraisal=appraisal)


# --- Who sees an appraisal ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "status"),
    [
        ("hr_admin", 200),
        ("subject", 200),
        ("line_manager", 200),
        ("other_manager", 404),
        ("peer", 404),
    ],
)
def test_appraisal_detail_is_visible_to_hr_the_employee_and_their_line_manager(
    client_as, org, hr_admin, people, example, actor, status
):
    member = hr_admin if actor == "hr_admin" else people[actor]

    response = client_as(member).get(
        _url("appraisal_detail", org, example.appraisal.pk)
    )

    assert response.status_code == status


@pytest.mark.parametrize(
    ("actor", "links"),
    [
        ("hr_admin", ["All appraisals of {name}", "All appraisals of the cycle"]),
        ("subject", ["All my appraisals"]),
        ("line_manager", ["All appraisals of {name}", "My team's appraisals"]),
    ],
)
def test_appraisal_detail_back_link_fits_the_viewer(
    client_as, org, hr_admin, people, example, actor, links
):
    member = hr_admin if actor == "hr_admin" else people[actor]
    name = employee_of(people["subject"]).full_name

    response = client_as(member).get(
        _url("appraisal_detail", org, example.appraisal.pk)
    )

    header = response.content.decode().split('<div class="page-header">')[1]
    found = re.findall(
        r'<a class="btn btn-outline-secondary" href="[^"]*">([^<]+)</a>',
        html.unescape(header.split("</div>\n</div>")[0]),
    )
    assert found == [link.format(name=name) for link in links]


def test_appraisal_detail_is_404_for_an_engagement_reviewer_who_is_not_the_line_manager(
    client_as, org, make_member, example
):
    reviewer = make_member(org, Role.MANAGER)
    with tenant_context(org):
        engagement = example.engagement_a.plan.engagement
        assign_role(
            actor=None,
            engagement=engagement,
            employee=employee_of(reviewer),
            role=EngagementRole.REVIEWER,
        )

    response = client_as(reviewer).get(
        _url("appraisal_detail", org, example.appraisal.pk)
    )

    assert response.status_code == 404


def test_appraisal_of_another_organisation_is_404(
    client_as, org, other_org, hr_admin, make_member
):
    foreign = ready_appraisal(other_org)

    response = client_as(hr_admin).get(_url("appraisal_detail", org, foreign.pk))

    assert response.status_code == 404


# --- The score explanation ------------------------------------------------------------


def test_explanation_shows_the_worked_example(client_as, org, hr_admin, example):
    response = client_as(hr_admin).get(
        _url("appraisal_detail", org, example.appraisal.pk)
    )

    page = _text(response)
    assert response.status_code == 200
    rows = re.findall(
        r"<tr>\s*<th scope=\"row\".*?</tr>", response.content.decode(), re.S
    )
    cells = [
        [
            html.unescape(c.strip())
            for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)
        ]
        for r in rows
    ]
    assert cells[0][:4] == ["General plan", "3.50", "4.50", "3.80"]
    assert cells[0][4:] == ["β = 40 %", "40.00 %", "1.52"]
    assert cells[1][:5] == ["Alpha rollout", "4.40", "3.50", "4.13", "60 % × 181 days"]
    assert cells[2][:5] == ["Beta migration", "3.00", "—", "3.00", "40 % × 91 days"]
    for label, figure in [
        ("General score G", "3.80"),
        ("Engagement composite EC", "3.85"),
        ("Final score", "3.83"),
        ("Percent of the scale", "70.69 %"),
    ]:
        assert f"{label} {figure}" in page
    assert "Final score = 40 % × G + 60 % × EC" in page
    assert PROVISIONAL not in page


def test_shares_and_contributions_add_up_to_the_final_score(
    client_as, org, hr_admin, example
):
    response = client_as(hr_admin).get(
        _url("appraisal_detail", org, example.appraisal.pk)
    )

    explanation = response.context["explanation"]
    shares = sum(row.share for row in explanation.components)
    contributions = sum(row.contribution for row in explanation.components)
    assert abs(shares - 100) <= 0.02
    assert abs(contributions - explanation.final) <= 0.02


def test_provisional_figures_are_labelled_and_shown_to_hr_and_the_line_manager(
    client_as, org, hr_admin, people
):
    example = worked_example(
        org,
        employee_of(people["subject"]),
        b_status=EvaluationStatus.SUBMITTED,
    )
    url = _url("appraisal_detail", org, example.appraisal.pk)

    hr_page = _text(client_as(hr_admin).get(url))
    manager_page = _text(client_as(people["line_manager"]).get(url))
    employee_page = _text(client_as(people["subject"]).get(url))

    assert PROVISIONAL in hr_page
    assert PROVISIONAL in manager_page
    # Without B the composite is A alone: 0.4 × 3.80 + 0.6 × 4.13 = 3.998 → 4.00.
    assert "So far: approved evaluations only" in hr_page
    assert "Final score 4.00" in hr_page
    assert "Final score 3.83" in hr_page  # the provisional figure, B included
    assert PROVISIONAL not in employee_page
    assert "Final score" not in employee_page
    assert "shown here once HR has finalised" in employee_page


def test_the_employee_sees_scores_only_once_finalised(
    client_as, org, hr_admin, people, example
):
    url = _url("appraisal_detail", org, example.appraisal.pk)
    before = _text(client_as(people["subject"]).get(url))
    _finalise(org, hr_admin, example.appraisal)

    after = _text(client_as(people["subject"]).get(url))

    assert "3.83" not in before
    assert "Final score 3.83" in after
    assert "Acknowledge your appraisal" in after


def test_history_hides_score_changes_from_the_employee_until_finalised(
    client_as, org, people, example
):
    response = client_as(people["subject"]).get(
        _url("appraisal_detail", org, example.appraisal.pk)
    )

    assert all(
        change["field"] != "final score"
        for entry in response.context["timeline"]
        for change in entry["changes"]
    )


def test_appraisal_detail_stays_within_the_query_budget(
    client_as, org, hr_admin, people
):
    example = worked_example(
        org, employee_of(people["subject"]), b_status=EvaluationStatus.SUBMITTED
    )

    response, count = _lookups(
        client_as(hr_admin), _url("appraisal_detail", org, example.appraisal.pk)
    )

    assert response.status_code == 200
    assert response.context["provisional"] is not None
    assert count <= QUERY_BUDGET


def test_finalised_appraisal_detail_stays_within_the_query_budget(
    client_as, org, hr_admin, people, example
):
    _finalise(org, hr_admin, example.appraisal)

    response, count = _lookups(
        client_as(people["subject"]),
        _url("appraisal_detail", org, example.appraisal.pk),
    )

    assert response.status_code == 200
    assert count <= QUERY_BUDGET


# --- Finalise, reopen, acknowledge ------------------------------------------------------


def test_hr_finalises_from_the_appraisal_page(client_as, org, hr_admin, example):
    response = client_as(hr_admin).post(
        _url("appraisal_finalise", org, example.appraisal.pk)
    )

    assert response.status_code == 302
    assert stored(example.appraisal)["status"] == AppraisalStatus.FINALIZED


def test_finalise_of_an_unready_appraisal_says_why_and_changes_nothing(
    client_as, org, hr_admin, people
):
    example = worked_example(
        org, employee_of(people["subject"]), b_status=EvaluationStatus.SUBMITTED
    )

    response = client_as(hr_admin).post(
        _url("appraisal_finalise", org, example.appraisal.pk), follow=True
    )

    assert "Not ready" in _text(response)
    assert stored(example.appraisal)["status"] == AppraisalStatus.OPEN


@pytest.mark.parametrize("actor", ["subject", "line_manager", "peer"])
@pytest.mark.parametrize("action", ["appraisal_finalise", "appraisal_reopen"])
def test_hr_actions_are_403_for_everyone_else(
    client_as, org, people, example, actor, action
):
    response = client_as(people[actor]).post(
        _url(action, org, example.appraisal.pk), {"reason": "x", "version": 1}
    )

    assert response.status_code == 403
    assert stored(example.appraisal)["status"] == AppraisalStatus.OPEN


def test_hr_actions_on_another_organisations_appraisal_are_404(
    client_as, org, other_org, hr_admin
):
    foreign = ready_appraisal(other_org)

    response = client_as(hr_admin).post(_url("appraisal_finalise", org, foreign.pk))

    assert response.status_code == 404
    assert stored(foreign)["status"] == AppraisalStatus.OPEN


def test_hr_cannot_finalise_their_own_appraisal_from_the_page(client_as, org, hr_admin):
    own = ready_appraisal(org, employee_of(hr_admin))

    response = client_as(hr_admin).post(_url("appraisal_finalise", org, own.pk))

    assert response.status_code == 403
    assert stored(own)["status"] == AppraisalStatus.OPEN


def test_reopen_without_a_reason_shows_the_error_and_changes_nothing(
    client_as, org, hr_admin, example
):
    appraisal = _finalise(org, hr_admin, example.appraisal)
    before = stored(appraisal)

    response = client_as(hr_admin).post(
        _url("appraisal_reopen", org, appraisal.pk),
        {"reason": "", "version": appraisal.version},
    )

    assert response.status_code == 400
    assert _field_error(response, "reason") == "Say why the appraisal is reopened."
    assert stored(appraisal) == before


def test_reopen_with_a_reason_reopens_and_shows_it(client_as, org, hr_admin, example):
    appraisal = _finalise(org, hr_admin, example.appraisal)

    response = client_as(hr_admin).post(
        _url("appraisal_reopen", org, appraisal.pk),
        {"reason": "Beta rating <corrected>", "version": appraisal.version},
        follow=True,
    )

    assert stored(appraisal)["status"] == AppraisalStatus.OPEN
    assert "Reopened by HR: Beta rating <corrected>" in _text(response)
    assert "Beta rating &lt;corrected&gt;" in response.content.decode()


def test_employee_acknowledges_with_a_comment(
    client_as, org, hr_admin, people, example
):
    appraisal = _finalise(org, hr_admin, example.appraisal)

    response = client_as(people["subject"]).post(
        _url("appraisal_acknowledge", org, appraisal.pk),
        {"comment": "Fair summary.", "version": appraisal.version},
        follow=True,
    )

    row = stored(appraisal)
    assert row["status"] == AppraisalStatus.ACKNOWLEDGED
    assert row["acknowledgement"] == "Fair summary."
    assert "Acknowledged by the employee" in _text(response)


def test_acknowledgement_comment_too_long_is_refused_and_nothing_changes(
    client_as, org, hr_admin, people, example
):
    appraisal = _finalise(org, hr_admin, example.appraisal)
    before = stored(appraisal)

    response = client_as(people["subject"]).post(
        _url("appraisal_acknowledge", org, appraisal.pk),
        {"comment": "x" * 4001, "version": appraisal.version},
    )

    assert response.status_code == 400
    assert "at most 4000 characters" in _field_error(response, "comment")
    assert stored(appraisal) == before


def test_acknowledging_twice_is_refused_with_a_message(
    client_as, org, hr_admin, people, example
):
    appraisal = _finalise(org, hr_admin, example.appraisal)
    client = client_as(people["subject"])
    url = _url("appraisal_acknowledge", org, appraisal.pk)
    client.post(url, {"comment": "First", "version": appraisal.version})

    response = client.post(url, {"comment": "Second", "version": appraisal.version + 1})

    assert response.status_code == 400
    assert "acknowledged this appraisal already" in _text(response)
    assert stored(appraisal)["acknowledgement"] == "First"


def test_acknowledging_an_open_appraisal_is_refused(client_as, org, people, example):
    response = client_as(people["subject"]).post(
        _url("appraisal_acknowledge", org, example.appraisal.pk),
        {"comment": "", "version": example.appraisal.version},
    )

    assert response.status_code == 400
    assert "once HR has finalised it" in _text(response)
    assert stored(example.appraisal)["status"] == AppraisalStatus.OPEN


@pytest.mark.parametrize(
    ("actor", "status"),
    [("hr_admin", 403), ("line_manager", 403), ("peer", 404), ("other_manager", 404)],
)
def test_only_the_employee_acknowledges(
    client_as, org, hr_admin, people, example, actor, status
):
    appraisal = _finalise(org, hr_admin, example.appraisal)
    member = hr_admin if actor == "hr_admin" else people[actor]

    response = client_as(member).post(
        _url("appraisal_acknowledge", org, appraisal.pk),
        {"comment": "Not mine", "version": appraisal.version},
    )

    assert response.status_code == status
    assert stored(appraisal)["status"] == AppraisalStatus.FINALIZED


# --- The member's appraisals -------------------------------------------------------------


def test_my_appraisals_lists_own_and_direct_reports(
    client_as, org, hr_admin, people, example
):
    _finalise(org, hr_admin, example.appraisal)
    stranger = ready_appraisal(org)

    own = _text(client_as(people["subject"]).get(_url("my_appraisals", org)))
    manager = client_as(people["line_manager"]).get(_url("my_appraisals", org))

    assert "3.83" in own
    assert "70.69 %" in own
    assert [row.appraisal.pk for row in manager.context["reports"]] == [
        example.appraisal.pk
    ]
    assert manager.context["own"] == []
    assert stranger.employee.full_name not in _text(manager)


def test_my_appraisals_hides_the_employees_open_score(client_as, org, people, example):
    page = _text(client_as(people["subject"]).get(_url("my_appraisals", org)))

    assert "shown once finalised" in page
    assert "3.83" not in page


def _reports_page_queries(client_as, org, manager, count: int) -> int:
    manager_employee = employee_of(manager)
    for _ in range(count):
        employee = EmployeeFactory(organization=org, line_manager=manager_employee)
        ready_appraisal(org, employee)
    response, queries = _lookups(client_as(manager), _url("my_appraisals", org))
    assert len(response.context["reports"]) == count
    return queries


def test_my_appraisals_query_count_is_flat(client_as, org, make_member):
    small = _reports_page_queries(client_as, org, make_member(org, Role.MANAGER), 5)
    large = _reports_page_queries(client_as, org, make_member(org, Role.MANAGER), 25)

    assert small == large
    assert large <= QUERY_BUDGET


# --- Home section ------------------------------------------------------------------------


def test_home_page_loads_the_appraisal_section_lazily(client_as, org, people):
    response = client_as(people["subject"]).get(
        reverse("organizations:home", args=[org.slug])
    )

    page = response.content.decode()
    assert f'hx-get="{_url("home_appraisals", org)}"' in page
    assert f'href="{_url("my_appraisals", org)}"' in page


def test_home_section_announces_a_finalised_appraisal(
    client_as, org, hr_admin, people, example
):
    client = client_as(people["subject"])
    url = _url("home_appraisals", org)
    before = _text(client.get(url, headers={"HX-Request": "true"}))
    _finalise(org, hr_admin, example.appraisal)

    after = client.get(url, headers={"HX-Request": "true"})

    assert "Your appraisal is ready" not in before
    assert "Your appraisal is ready" in _text(after)
    assert [a.pk for a in after.context["to_acknowledge"]] == [example.appraisal.pk]


def test_home_section_without_htmx_leads_to_the_list(client_as, org, people):
    response = client_as(people["subject"]).get(_url("home_appraisals", org))

    assert response.status_code == 302
    assert response["Location"] == _url("my_appraisals", org)


def test_home_section_shows_nothing_of_someone_elses_appraisal(
    client_as, org, hr_admin, people, example
):
    _finalise(org, hr_admin, example.appraisal)

    response = client_as(people["line_manager"]).get(
        _url("home_appraisals", org), headers={"HX-Request": "true"}
    )

    assert response.context["to_acknowledge"] == []


def test_my_appraisals_of_another_organisation_is_404(client_as, org, other_org):
    outsider = MembershipFactory(organization=other_org)
    review_cycle(org)

    response = client_as(outsider).get(_url("my_appraisals", org))

    assert response.status_code == 404


def test_hr_admin_reads_their_own_open_appraisal_as_its_employee(
    client_as, org, hr_admin
):
    example = worked_example(
        org, employee_of(hr_admin), b_status=EvaluationStatus.SUBMITTED
    )

    page = _text(
        client_as(hr_admin).get(_url("appraisal_detail", org, example.appraisal.pk))
    )

    assert PROVISIONAL not in page
    assert "Final score" not in page
    assert "Finalise" not in page


def test_acknowledgement_without_a_version_says_to_reload(
    client_as, org, hr_admin, people, example
):
    appraisal = _finalise(org, hr_admin, example.appraisal)
    before = stored(appraisal)

    response = client_as(people["subject"]).post(
        _url("appraisal_acknowledge", org, appraisal.pk), {"comment": "Hi"}
    )

    assert response.status_code == 400
    assert "reload the page and try again" in _text(response)
    assert stored(appraisal) == before


def test_stale_acknowledgement_names_who_changed_the_appraisal(
    client_as, org, hr_admin, people, example
):
    appraisal = _finalise(org, hr_admin, example.appraisal)

    response = client_as(people["subject"]).post(
        _url("appraisal_acknowledge", org, appraisal.pk),
        {"comment": "Hi", "version": appraisal.version - 1},
    )

    assert response.status_code == 400
    assert f"Changed by {hr_admin.user}" in _text(response)
    assert stored(appraisal)["status"] == AppraisalStatus.FINALIZED


def _label_the_scale(org: Any, appraisal: Any) -> None:
    with tenant_context(org):
        scale = RatingScale.objects.get(is_default=True)
        for value, label in ((D(3), "Meets"), (D(4), "Exceeds")):
            RatingLevel.objects.update_or_create(
                organization=org, scale=scale, value=value, defaults={"label": label}
            )


def test_final_score_shows_its_band_name_wherever_it_is_shown(
    client_as, org, hr_admin, people, example
):
    _label_the_scale(org, example.appraisal)
    _finalise(org, hr_admin, example.appraisal)
    subject = people["subject"]
    person_url = _url("employee_appraisals", org, employee_of(subject).pk)

    detail = _text(
        client_as(hr_admin).get(_url("appraisal_detail", org, example.appraisal.pk))
    )
    own_list = _text(client_as(subject).get(_url("my_appraisals", org)))
    team_list = _text(client_as(people["line_manager"]).get(_url("my_appraisals", org)))
    person = _text(client_as(hr_admin).get(person_url))

    assert "Final score 3.83 · 4 · Exceeds" in detail
    assert "3.83 · 4 · Exceeds" in own_list
    assert "3.83 · 4 · Exceeds" in team_list
    assert "3.83 · 4 · Exceeds" in person


def test_acknowledgement_comment_is_your_comment_only_to_its_author(
    client_as, org, hr_admin, people, example
):
    subject = people["subject"]
    appraisal = _finalise(org, hr_admin, example.appraisal)
    with tenant_context(org):
        finalisation.acknowledge_appraisal(
            actor=subject, appraisal=appraisal, comment="Fair enough."
        )
    url = _url("appraisal_detail", org, example.appraisal.pk)
    name = employee_of(subject).full_name

    own = _text(client_as(subject).get(url))
    hr = _text(client_as(hr_admin).get(url))
    manager = _text(client_as(people["line_manager"]).get(url))

    assert "Your comment : — → Fair enough." in own
    assert "Your comment" not in hr
    assert "Your comment" not in manager
    assert f"{name}'s comment : — → Fair enough." in hr
    assert f"{name}'s comment : — → Fair enough." in manager


def test_appraisal_history_says_finalised_the_british_way(
    client_as, org, hr_admin, people, example
):
    _finalise(org, hr_admin, example.appraisal)

    page = _text(
        client_as(hr_admin).get(_url("appraisal_detail", org, example.appraisal.pk))
    )

    history = page.split("History", 1)[1]
    assert "Finalised at" in history
    assert "Open → Finalised" in history
    assert "inalized" not in page
