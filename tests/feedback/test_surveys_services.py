"""Client survey services: who may send, the e-mail, the signed link's lifecycle, one
answer per link (also under concurrency), what may be rated, the CSAT figures and the
demo data."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core import signing
from django.db import connection
from django.utils import timezone

from demo import surveys as demo
from engagements.enums import EngagementRole, PlanKind
from engagements.models import Engagement
from engagements.services.roles import assign_role
from feedback.models import ClientSurvey, ClientSurveyRating
from feedback.selectors.surveys import (
    ANSWERED,
    EXPIRED,
    MAX_DAYS_VALID,
    SURVEY_SALT,
    TAMPERED,
    VALID,
    employee_csat,
    employee_csat_by_engagement,
    engagement_csat,
    staffed_employees,
    survey_from_token,
    survey_status,
    survey_token,
)
from feedback.services.surveys import SurveyClosed, answer_survey, send_survey
from organizations.enums import Role
from organizations.errors import DomainError
from organizations.models import Employee, Membership, Organization, SentEmail
from organizations.tenancy import tenant_context
from tests.engagement_factories import (
    ClientFactory,
    EngagementFactory,
    PlanFactory,
    ReviewCycleFactory,
)
from tests.factories import EmployeeFactory
from tests.feedback_factories import ClientSurveyFactory, ClientSurveyRatingFactory

pytestmark = pytest.mark.django_db

MakeMember = Callable[..., Membership]


@pytest.fixture
def engagement(org: Organization) -> Engagement:
    client = ClientFactory(organization=org, contact_email="buyer@client.test")
    return EngagementFactory(organization=org, client=client, name="Data platform")


def _staff(engagement: Engagement, *employees: Employee) -> None:
    cycle = ReviewCycleFactory(organization=engagement.organization)
    for employee in employees:
        PlanFactory(
            organization=engagement.organization,
            cycle=cycle,
            employee=employee,
            engagement=engagement,
        )


@pytest.fixture
def team(engagement: Engagement) -> list[Employee]:
    people = [
        EmployeeFactory(organization=engagement.organization, full_name=name)
        for name in ("Ada Brook", "Ben Carver")
    ]
    _staff(engagement, *people)
    return people


def _employee(member: Membership) -> Employee:
    with tenant_context(member.organization):
        return Employee.objects.get(user=member.user)


def _role(member: Membership, engagement: Engagement, role: str) -> Membership:
    with tenant_context(engagement.organization):
        assign_role(
            actor=None, engagement=engagement, employee=_employee(member), role=role
        )
    return member


def _send(actor: Membership, engagement: Engagement, **kwargs: Any) -> ClientSurvey:
    with tenant_context(actor.organization):
        return send_survey(actor=actor, engagement=engagement, **kwargs)


def _surveys(org: Organization) -> list[tuple[str, Any]]:
    with tenant_context(org):
        return list(ClientSurvey.objects.values_list("contact_email", "answered_at"))


def _answer(survey: ClientSurvey, **kwargs: Any) -> ClientSurvey:
    with tenant_context(survey.organization):
        return answer_survey(survey, **kwargs)


def _signed(payload: dict[str, Any], age: timedelta = timedelta(0)) -> str:
    """A correctly signed survey token, its signature ``age`` old."""
    signer = signing.TimestampSigner(salt=SURVEY_SALT)
    stamp = int((timezone.now() - age).timestamp())
    signer.timestamp = lambda: signing.b62_encode(stamp)  # type: ignore[method-assign]  # freeze the signer clock
    return signer.sign_object(payload)


# --- Sending -------------------------------------------------------------------------


def test_send_survey_by_hr_admin_emails_the_link_once(
    hr_admin, engagement, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        survey = _send(hr_admin, engagement, contact_name="Dana Buyer")

    assert survey.contact_email == "buyer@client.test"  # the client's contact
    assert survey.expires_at - survey.sent_at == timedelta(days=14)
    assert [m.to for m in mailoutbox] == [["buyer@client.test"]]
    assert "Data platform" in mailoutbox[0].subject
    token = re.search(r"/survey/([^/\s]+)/", mailoutbox[0].body)
    assert token is not None
    status, linked = survey_from_token(token.group(1))
    assert status == VALID
    assert linked == survey
    assert "Hello Dana Buyer," in mailoutbox[0].body


def test_send_survey_email_is_not_sent_twice_when_delivered_again(
    hr_admin, engagement, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        survey = _send(hr_admin, engagement)

    callbacks[0]()  # Celery delivers at least once: the same task again

    assert len(mailoutbox) == 1
    with tenant_context(hr_admin.organization):
        assert list(SentEmail.objects.values_list("key", flat=True)) == [
            f"survey.sent:{survey.pk}"
        ]


def test_send_survey_by_reviewer_is_allowed(
    make_member: MakeMember, org, engagement, mailoutbox
):
    reviewer = _role(make_member(org), engagement, EngagementRole.REVIEWER)

    survey = _send(reviewer, engagement, contact_email="other@client.test")

    assert survey.contact_email == "other@client.test"
    assert survey.sent_by == _employee(reviewer)


@pytest.mark.parametrize(
    "role",
    [EngagementRole.APPROVER, EngagementRole.PLANNER, EngagementRole.CONTRIBUTOR],
)
def test_send_survey_by_other_engagement_roles_is_refused(
    make_member: MakeMember, org, engagement, role
):
    member = _role(make_member(org, Role.MANAGER), engagement, role)

    with pytest.raises(DomainError, match="reviewers can send"):
        _send(member, engagement)

    assert _surveys(org) == []


def test_send_survey_of_another_organisations_engagement_is_refused(
    hr_admin, other_org
):
    foreign = EngagementFactory(organization=other_org)

    with pytest.raises(DomainError, match="another organisation"):
        _send(hr_admin, foreign, contact_email="x@client.test")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"contact_email": "not-an-address"}, "contact_email"),
        ({"days_valid": 0}, "days_valid"),
        ({"days_valid": MAX_DAYS_VALID + 1}, "days_valid"),
    ],
)
def test_send_survey_bad_input_is_refused_and_saves_nothing(
    hr_admin, engagement, mailoutbox, django_capture_on_commit_callbacks, kwargs, field
):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(DomainError) as error,
    ):
        _send(hr_admin, engagement, **kwargs)

    assert error.value.field == field
    assert _surveys(hr_admin.organization) == []
    assert mailoutbox == []


def test_send_survey_without_any_address_asks_for_one(hr_admin, org):
    engagement = EngagementFactory(
        organization=org, client=ClientFactory(organization=org, contact_email="")
    )

    with pytest.raises(DomainError, match="Enter the client contact") as error:
        _send(hr_admin, engagement)

    assert error.value.field == "contact_email"


def test_send_survey_twice_to_an_open_address_is_refused(hr_admin, engagement):
    _send(hr_admin, engagement)

    with pytest.raises(DomainError, match="already has an open survey"):
        _send(hr_admin, engagement, contact_email="BUYER@client.test")

    assert len(_surveys(hr_admin.organization)) == 1


def test_send_survey_again_after_the_first_expired_is_allowed(hr_admin, engagement):
    first = _send(hr_admin, engagement)
    with tenant_context(hr_admin.organization):
        ClientSurvey.objects.filter(pk=first.pk).update(expires_at=timezone.now())

    second = _send(hr_admin, engagement)

    assert second.pk != first.pk


# --- The link -----------------------------------------------------------------------


def test_survey_token_of_a_fresh_survey_is_valid(engagement):
    survey = ClientSurveyFactory(
        organization=engagement.organization, engagement=engagement
    )

    status, found = survey_from_token(survey_token(survey))

    assert status == VALID
    assert found is not None
    assert found.pk == survey.pk
    assert found.organization == engagement.organization


def test_survey_token_altered_is_tampered(engagement):
    survey = ClientSurveyFactory(
        organization=engagement.organization, engagement=engagement
    )
    token = survey_token(survey)

    altered = token[:-1] + ("A" if token[-1] != "A" else "B")

    assert survey_from_token(altered) == (TAMPERED, None)
    assert survey_from_token("not-a-token") == (TAMPERED, None)


def test_survey_token_after_expiry_is_expired(engagement):
    survey = ClientSurveyFactory(
        organization=engagement.organization,
        engagement=engagement,
        expires_at=timezone.now() - timedelta(minutes=1),
    )

    status, _survey = survey_from_token(survey_token(survey))

    assert status == EXPIRED


def test_survey_token_signed_too_long_ago_is_expired(engagement):
    survey = ClientSurveyFactory(
        organization=engagement.organization, engagement=engagement
    )
    payload = {"o": survey.organization_id, "s": survey.pk, "n": survey.nonce.hex}

    token = _signed(payload, age=timedelta(days=MAX_DAYS_VALID + 1))

    assert survey_from_token(token) == (EXPIRED, None)


def test_survey_token_once_answered_is_answered(engagement, team):
    survey = ClientSurveyFactory(
        organization=engagement.organization, engagement=engagement
    )
    _answer(survey, overall=4)

    status, _survey = survey_from_token(survey_token(survey))

    assert status == ANSWERED


def test_survey_token_naming_another_organisations_survey_is_tampered(org, other_org):
    theirs = ClientSurveyFactory(organization=other_org)
    # Correctly signed, but names this organisation with the other one's survey.
    token = _signed({"o": org.pk, "s": theirs.pk, "n": theirs.nonce.hex})

    assert survey_from_token(token) == (TAMPERED, None)
    # Their own link still works for them.
    assert survey_from_token(survey_token(theirs))[0] == VALID


@pytest.mark.parametrize("which", ["survey", "organisation", "nonce"])
def test_survey_token_with_unknown_ids_is_tampered(engagement, which):
    survey = ClientSurveyFactory(
        organization=engagement.organization, engagement=engagement
    )
    payload: dict[str, Any] = {
        "o": survey.organization_id,
        "s": survey.pk,
        "n": survey.nonce.hex,
    }
    key = {"survey": "s", "organisation": "o", "nonce": "n"}[which]
    payload[key] = uuid.uuid4().hex if key == "n" else 987_654_321

    assert survey_from_token(_signed(payload)) == (TAMPERED, None)


# --- Answering ----------------------------------------------------------------------


def _ratings(survey: ClientSurvey) -> dict[int, int]:
    with tenant_context(survey.organization):
        return dict(
            ClientSurveyRating.objects.filter(survey=survey).values_list(
                "employee_id", "rating"
            )
        )


def test_answer_survey_records_overall_ratings_and_comment(engagement, team):
    survey = ClientSurveyFactory(
        organization=engagement.organization, engagement=engagement
    )

    answered = _answer(
        survey, overall=5, ratings={team[0].pk: 4}, comment="  Great work.  "
    )

    assert (answered.overall, answered.comment) == (5, "Great work.")
    assert answered.answered_at is not None
    assert _ratings(survey) == {team[0].pk: 4}


def test_answer_survey_a_second_time_is_refused_and_changes_nothing(engagement, team):
    survey = ClientSurveyFactory(
        organization=engagement.organization, engagement=engagement
    )
    _answer(survey, overall=5, ratings={team[0].pk: 5})

    with pytest.raises(SurveyClosed) as error:
        _answer(survey, overall=1, ratings={team[1].pk: 1}, comment="Changed my mind")

    assert error.value.reason == ANSWERED
    with tenant_context(engagement.organization):
        survey.refresh_from_db()
    assert (survey.overall, survey.comment) == (5, "")
    assert _ratings(survey) == {team[0].pk: 5}


def test_answer_survey_after_expiry_is_refused(engagement, team):
    survey = ClientSurveyFactory(
        organization=engagement.organization,
        engagement=engagement,
        expires_at=timezone.now() - timedelta(seconds=1),
    )

    with pytest.raises(SurveyClosed) as error:
        _answer(survey, overall=3)

    assert error.value.reason == EXPIRED


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"overall": None}, "overall"),
        ({"overall": 0}, "overall"),
        ({"overall": 6}, "overall"),
        ({"overall": "5"}, "overall"),
        ({"overall": 4, "ratings": {"team0": 6}}, "ratings"),
        ({"overall": 4, "ratings": {"team0": 0}}, "ratings"),
        ({"overall": 4, "ratings": {"outsider": 4}}, "ratings"),
        ({"overall": 4, "comment": "x" * 4001}, "comment"),
    ],
)
def test_answer_survey_bad_input_is_refused_and_saves_nothing(
    engagement, team, kwargs, field
):
    outsider = EmployeeFactory(organization=engagement.organization)  # not staffed
    ids = {"team0": team[0].pk, "outsider": outsider.pk}
    if "ratings" in kwargs:
        kwargs["ratings"] = {ids[k]: v for k, v in kwargs["ratings"].items()}
    survey = ClientSurveyFactory(
        organization=engagement.organization, engagement=engagement
    )

    with pytest.raises(DomainError) as error:
        _answer(survey, **kwargs)

    assert error.value.field == field
    assert _surveys(engagement.organization) == [(survey.contact_email, None)]
    assert _ratings(survey) == {}


def test_staffed_employees_are_active_people_with_an_engagement_plan(
    org, engagement, team
):
    left = EmployeeFactory(organization=org, is_active=False)
    _staff(engagement, left)
    elsewhere = EmployeeFactory(organization=org)
    _staff(EngagementFactory(organization=org), elsewhere)
    PlanFactory(  # a general plan does not staff anyone
        organization=org,
        employee=EmployeeFactory(organization=org),
        kind=PlanKind.GENERAL,
        engagement=None,
        allocation=None,
    )

    with tenant_context(org):
        staffed = list(staffed_employees(engagement))

    assert staffed == team


# --- Figures ------------------------------------------------------------------------


def test_engagement_csat_averages_answered_surveys_and_counts_open_ones(
    engagement, team
):
    org = engagement.organization
    for overall in (5, 4, 4):
        _answer(
            ClientSurveyFactory(organization=org, engagement=engagement),
            overall=overall,
        )
    ClientSurveyFactory(organization=org, engagement=engagement)  # open
    ClientSurveyFactory(  # expired: neither answered nor pending
        organization=org,
        engagement=engagement,
        expires_at=timezone.now() - timedelta(days=1),
    )
    _answer(  # another engagement's answer does not count
        ClientSurveyFactory(
            organization=org, engagement=EngagementFactory(organization=org)
        ),
        overall=1,
    )

    with tenant_context(org):
        csat = engagement_csat(engagement)

    assert csat == (Decimal("4.33"), 3, 1)


def test_engagement_csat_without_answers_is_empty(engagement):
    with tenant_context(engagement.organization):
        assert engagement_csat(engagement) == (None, 0, 0)


def test_employee_csat_overall_and_per_engagement(org, engagement, team):
    ada = team[0]
    second = EngagementFactory(organization=org, name="Analytics uplift")
    _staff(second, ada)
    _answer(
        ClientSurveyFactory(organization=org, engagement=engagement),
        overall=5,
        ratings={ada.pk: 5},
    )
    _answer(
        ClientSurveyFactory(organization=org, engagement=engagement),
        overall=4,
        ratings={ada.pk: 4, team[1].pk: 1},
    )
    _answer(
        ClientSurveyFactory(organization=org, engagement=second),
        overall=3,
        ratings={ada.pk: 2},
    )

    with tenant_context(org):
        overall = employee_csat(ada)
        rows = employee_csat_by_engagement(ada)

    assert overall == (Decimal("3.67"), 3)
    assert rows == [
        (second.pk, "Analytics uplift", Decimal("2.00"), 1),
        (engagement.pk, "Data platform", Decimal("4.50"), 2),
    ]


def test_figures_round_half_up(engagement, team):
    org = engagement.organization
    for rating in (1, 2, 2, 2, 2, 2, 2, 2):  # 15 / 8 = 1.875
        survey = ClientSurveyFactory(organization=org, engagement=engagement)
        ClientSurveyRatingFactory(
            organization=org, survey=survey, employee=team[0], rating=rating
        )

    with tenant_context(org):
        assert employee_csat(team[0]).average == Decimal("1.88")


# --- Concurrency --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_answer_survey_concurrent_second_submit_waits_and_is_refused(
    org, engagement, team
):
    survey = ClientSurveyFactory(organization=org, engagement=engagement)
    outcome: dict[str, str] = {}

    def second_submit() -> None:
        try:
            with tenant_context(org):
                answer_survey(survey, overall=1, ratings={team[1].pk: 1})
            outcome["second"] = "answered"
        except SurveyClosed as exc:
            outcome["second"] = exc.reason
        finally:
            connection.close()

    with tenant_context(org):  # the first submit's transaction, holding the row
        ClientSurvey.objects.select_for_update().get(pk=survey.pk)
        thread = threading.Thread(target=second_submit)
        thread.start()
        thread.join(timeout=1.0)
        blocked = thread.is_alive()
        answer_survey(survey, overall=5, ratings={team[0].pk: 5})
    thread.join(timeout=30)

    assert blocked  # the second submit waited for the first to commit
    assert outcome == {"second": ANSWERED}
    with tenant_context(org):
        survey.refresh_from_db()
    assert survey.overall == 5
    assert _ratings(survey) == {team[0].pk: 5}


# --- Demo ---------------------------------------------------------------------------


def test_demo_seeds_answered_and_pending_surveys_once(
    make_member: MakeMember, org, engagement, team, mailoutbox
):
    hr = make_member(org, Role.HR_ADMIN)
    demo_employee = make_member(org, user__email=demo.DEMO_EMPLOYEE)
    _staff(engagement, _employee(demo_employee))
    _staff(EngagementFactory(organization=org), EmployeeFactory(organization=org))

    with tenant_context(org):
        demo.seed(org)
        demo.seed(org)
        rows = list(ClientSurvey.objects.all())
        rated = set(ClientSurveyRating.objects.values_list("employee_id", flat=True))
        senders = {s.sent_by_id for s in rows}
        now = timezone.now()
        states = sorted(survey_status(s, now) for s in rows)

    assert states == ["answered", "answered", "answered", "expired", "sent"]
    assert _employee(demo_employee).pk in rated
    assert senders == {_employee(hr).pk}
    assert mailoutbox == []


def test_demo_without_engagement_plans_seeds_nothing(org):
    with tenant_context(org):
        demo.seed(org)

        assert not ClientSurvey.objects.exists()
