"""Evaluation pages: who may see and do what (other tenants 404), the form (save,
submit, conflicts, incomplete submits), decisions, reviewer assignment, settings,
early evaluation, queues, the plan card, the home section and query budgets."""

from __future__ import annotations

import html
import re
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appraisals.enums import AppraisalStatus, EvaluationKind, EvaluationStatus
from appraisals.models import Appraisal, AttainmentBand, Evaluation, GoalRating
from engagements.enums import EngagementRole
from engagements.models import Goal, PlanCompetency, ReviewCycle, RoleAssignment
from organizations.tenancy import tenant_context
from tests.appraisals.test_workflow_opening import (
    World,
    build_world,
    evaluation,
    start_review,
)
from tests.appraisals.test_workflow_transitions import approve, submit
from tests.engagement_factories import GoalFactory, PlanFactory
from tests.feedback_factories import FeedbackFactory

pytestmark = pytest.mark.django_db

QUERY_BUDGET = 15
BOOKKEEPING = re.compile(
    r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT|SELECT set_config\()"
)


@pytest.fixture
def world(org, other_org, make_member) -> World:
    return build_world(org, other_org, make_member)


def url(name: str, world: World, *args: Any) -> str:
    return reverse(f"appraisals:{name}", args=[world.org.slug, *args])


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


def lookups(client: Any, path: str) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    return response, [
        q["sql"] for q in captured.captured_queries if not BOOKKEEPING.match(q["sql"])
    ]


def field_error(page: str, name: str) -> str | None:
    match = re.search(
        rf'<div class="invalid-feedback d-block" id="id_{name}-error">(.*?)</div>',
        page,
        re.S,
    )
    return html.unescape(match.group(1)).strip() if match else None


def items(world: World) -> tuple[Goal, Goal, PlanCompetency]:
    with tenant_context(world.org):
        revenue = world.plan.goals.get(title="Revenue")
        quality = world.plan.goals.get(title="Quality")
        competency = world.plan.competencies.get()
    return revenue, quality, competency


def form_data(world: World, ev: Evaluation, action: str = "save", **extra: str):
    revenue, quality, competency = items(world)
    with tenant_context(world.org):
        version = Evaluation.objects.get(pk=ev.pk).version
    data = {
        "version": str(version),
        "comments": "Strong quarter",
        f"goal_{revenue.pk}_value": "3",
        f"goal_{quality.pk}_value": "4",
        f"competency_{competency.pk}_value": "na",
        "action": action,
    }
    data.update(extra)
    return data


# --- who sees an evaluation --------------------------------------------------------------------

REVIEW_VIEWERS = {
    "hr": 200,
    "reviewer": 200,
    "approver": 200,
    "manager": 200,
    "owner": 404,
    "stranger": 404,
    "planner": 404,
    "grand": 404,
    "outsider": 404,
}


@pytest.mark.parametrize(("who", "status"), REVIEW_VIEWERS.items())
def test_review_is_visible_to_its_people_only(world, client_as, who, status):
    review = evaluation(world, world.plan)

    response = client_as(getattr(world, who)).get(
        url("evaluation_detail", world, review.pk)
    )

    assert response.status_code == status


def test_employee_reads_the_review_once_finalised(world, client_as):
    review = evaluation(world, world.plan)
    with tenant_context(world.org):
        Appraisal.objects.update(status=AppraisalStatus.FINALIZED)

    response = client_as(world.owner).get(url("evaluation_detail", world, review.pk))

    assert response.status_code == 200
    assert "Save draft" not in text(response)


def test_another_organisations_evaluation_is_404_for_its_hr(world, client_as):
    review = evaluation(world, world.plan)
    foreign = reverse(
        "appraisals:evaluation_detail", args=[world.other_org.slug, review.pk]
    )

    assert client_as(world.outsider).get(foreign).status_code == 404


@pytest.mark.parametrize(("shared", "status"), [(False, 404), (True, 200)])
def test_self_assessment_is_private_until_shared(world, client_as, shared, status):
    own = evaluation(world, world.plan, EvaluationKind.SELF)
    if shared:
        submit(world, world.owner, own)

    owner_view = client_as(world.owner).get(url("evaluation_detail", world, own.pk))
    reviewer_view = client_as(world.reviewer).get(
        url("evaluation_detail", world, own.pk)
    )

    assert owner_view.status_code == 200
    assert reviewer_view.status_code == status


def test_review_page_shows_the_shared_self_assessment_beside_the_form(world, client_as):
    own = evaluation(world, world.plan, EvaluationKind.SELF)
    submit(world, world.owner, own)
    review = evaluation(world, world.plan)

    page = text(
        client_as(world.reviewer).get(url("evaluation_detail", world, review.pk))
    )

    assert page.count("Self-assessment") >= 3
    assert "Solid work" in page


def test_form_shows_targets_attainment_suggestion_and_descriptors(world, client_as):
    review = evaluation(world, world.plan)
    revenue, _quality, _competency = items(world)

    page = text(
        client_as(world.reviewer).get(url("evaluation_detail", world, review.pk))
    )

    assert "Target: 100" in page
    assert "Attainment: 95 %" in page
    assert (
        f'data-testid="suggested-{revenue.pk}" data-value="3">3 · Meets expectations<'
        in page
    )
    assert "Meets expectations" in page
    assert "N/A (does not apply)" in page


def test_approver_sees_each_rating_with_its_scale_label(world, client_as):
    review = evaluation(world, world.plan)
    submit(world, world.reviewer, review)
    revenue, quality, competency = items(world)

    page = text(
        client_as(world.approver).get(url("evaluation_detail", world, review.pk))
    )

    ratings = re.findall(
        r'id="(goal|competency)-(\d+)">.*?<strong>([^<]*)</strong>', page, re.S
    )
    assert ratings == [
        ("goal", str(revenue.pk), "3 · Meets expectations"),
        ("goal", str(quality.pk), "4 · Exceeds"),
        ("competency", str(competency.pk), "4 · Exceeds"),
    ]


# --- the form ---------------------------------------------------------------------------------


def test_reviewer_saves_a_draft(world, client_as):
    review = evaluation(world, world.plan)

    response = client_as(world.reviewer).post(
        url("evaluation_detail", world, review.pk), form_data(world, review)
    )

    assert response.status_code == 302
    with tenant_context(world.org):
        saved = Evaluation.objects.get(pk=review.pk)
        assert GoalRating.objects.filter(evaluation=review).count() == 2
    assert (saved.status, saved.comments) == (EvaluationStatus.DRAFT, "Strong quarter")


def test_submit_with_an_unrated_goal_shows_the_message_beside_it(world, client_as):
    review = evaluation(world, world.plan)
    _revenue, quality, _competency = items(world)
    data = form_data(world, review, "submit", **{f"goal_{quality.pk}_value": ""})

    response = client_as(world.reviewer).post(
        url("evaluation_detail", world, review.pk), data
    )

    assert response.status_code == 400
    page = text(response)
    assert (
        field_error(page, f"goal_{quality.pk}_value")
        == "Rate this goal, or mark it N/A."
    )
    assert "The evaluation was not submitted" in page
    with tenant_context(world.org):
        assert Evaluation.objects.get(pk=review.pk).status == EvaluationStatus.DRAFT
        assert not GoalRating.objects.filter(evaluation=review).exists()


def test_submit_with_every_item_rated(world, client_as):
    review = evaluation(world, world.plan)

    response = client_as(world.reviewer).post(
        url("evaluation_detail", world, review.pk), form_data(world, review, "submit")
    )

    assert response.status_code == 302
    with tenant_context(world.org):
        assert Evaluation.objects.get(pk=review.pk).status == EvaluationStatus.SUBMITTED


def test_override_without_reason_is_refused_beside_the_reason(world, client_as):
    review = evaluation(world, world.plan)
    revenue, _q, _c = items(world)
    data = form_data(world, review, "submit", **{f"goal_{revenue.pk}_value": "5"})

    response = client_as(world.reviewer).post(
        url("evaluation_detail", world, review.pk), data
    )

    assert response.status_code == 400
    assert field_error(text(response), f"goal_{revenue.pk}_reason").startswith(
        "Your rating differs from the suggested 3"
    )


def test_stale_post_names_who_and_shows_their_values(world, client_as):
    review = evaluation(world, world.plan)
    revenue, _q, _c = items(world)
    stale = form_data(world, review, comments="Mine")
    client_as(world.reviewer).post(
        url("evaluation_detail", world, review.pk),
        form_data(
            world, review, comments="Theirs", **{f"goal_{revenue.pk}_value": "2"}
        ),
    )

    response = client_as(world.reviewer).post(
        url("evaluation_detail", world, review.pk), stale
    )

    assert response.status_code == 400
    page = text(response)
    assert re.search(
        r"Changed by Rita Reviewer at \d\d:\d\d — review their changes", page
    )
    saved = re.search(rf'data-testid="saved-goal-{revenue.pk}">(.*?)</div>', page, re.S)
    assert saved is not None
    assert "<strong>2 · Partly meets</strong>" in saved.group(1)
    assert "Theirs" in page
    with tenant_context(world.org):
        assert Evaluation.objects.get(pk=review.pk).comments == "Theirs"


@pytest.mark.parametrize("who", ["approver", "manager", "hr"])
def test_others_posting_ratings_get_403_and_change_nothing(world, client_as, who):
    review = evaluation(world, world.plan)

    response = client_as(getattr(world, who)).post(
        url("evaluation_detail", world, review.pk), form_data(world, review)
    )

    assert response.status_code == 403
    with tenant_context(world.org):
        assert not GoalRating.objects.filter(evaluation=review).exists()


# --- decisions --------------------------------------------------------------------------------


def test_approver_posting_ratings_with_the_approval_changes_only_the_status(
    world, client_as
):
    review = evaluation(world, world.plan)
    submit(world, world.reviewer, review)
    revenue, _q, _c = items(world)
    data = {
        f"goal_{revenue.pk}_value": "1",
        "comments": "Hacked",
        "approve-comment": "OK",
    }

    response = client_as(world.approver).post(
        url("evaluation_approve", world, review.pk), data
    )

    assert response.status_code == 302
    with tenant_context(world.org):
        after = Evaluation.objects.get(pk=review.pk)
        value = GoalRating.objects.get(evaluation=review, goal=revenue).value
    assert (after.status, after.comments, value) == (
        EvaluationStatus.APPROVED,
        "Solid work",
        Decimal(3),
    )


def test_return_without_comment_is_400_beside_the_field(world, client_as):
    review = evaluation(world, world.plan)
    submit(world, world.reviewer, review)

    response = client_as(world.approver).post(
        url("evaluation_return", world, review.pk), {"return-comment": ""}
    )

    assert response.status_code == 400
    assert field_error(text(response), "return-comment").startswith(
        "Say what the reviewer"
    )
    with tenant_context(world.org):
        assert Evaluation.objects.get(pk=review.pk).status == EvaluationStatus.SUBMITTED


def test_return_with_comment(world, client_as):
    review = evaluation(world, world.plan)
    submit(world, world.reviewer, review)

    response = client_as(world.approver).post(
        url("evaluation_return", world, review.pk), {"return-comment": "Add detail"}
    )

    assert response.status_code == 302
    with tenant_context(world.org):
        assert Evaluation.objects.get(pk=review.pk).status == EvaluationStatus.RETURNED


@pytest.mark.parametrize(
    ("who", "status"),
    [("reviewer", 403), ("manager", 403), ("owner", 404), ("stranger", 404)],
)
def test_decisions_by_others_are_refused(world, client_as, who, status):
    review = evaluation(world, world.plan)
    submit(world, world.reviewer, review)
    client = client_as(getattr(world, who))

    approve_response = client.post(url("evaluation_approve", world, review.pk))
    return_response = client.post(
        url("evaluation_return", world, review.pk), {"return-comment": "No"}
    )

    assert (approve_response.status_code, return_response.status_code) == (
        status,
        status,
    )
    with tenant_context(world.org):
        assert Evaluation.objects.get(pk=review.pk).status == EvaluationStatus.SUBMITTED


# --- assigning a reviewer -----------------------------------------------------------------------


def test_hr_assigns_a_reviewer(world, client_as):
    review = evaluation(world, world.plan)
    stranger = world.employee("stranger")

    response = client_as(world.hr).post(
        url("evaluation_assign", world, review.pk), {"reviewer": stranger.pk}
    )

    assert response.status_code == 302
    with tenant_context(world.org):
        assert Evaluation.objects.get(pk=review.pk).reviewer_id == stranger.pk


def test_assigning_the_employee_is_refused_beside_the_field(world, client_as):
    review = evaluation(world, world.plan)

    response = client_as(world.hr).post(
        url("evaluation_assign", world, review.pk),
        {"reviewer": world.employee("owner").pk},
    )

    assert response.status_code == 400
    assert field_error(text(response), "reviewer").startswith("Choose an active person")
    with tenant_context(world.org):
        assert Evaluation.objects.get(pk=review.pk).reviewer == world.employee(
            "reviewer"
        )


@pytest.mark.parametrize("target", ["mine", "unknown"])
def test_assign_is_403_for_non_hr_whatever_the_id(world, client_as, target):
    review = evaluation(world, world.plan)
    pk = review.pk if target == "mine" else 999999

    response = client_as(world.manager).post(
        url("evaluation_assign", world, pk), {"reviewer": world.employee("stranger").pk}
    )

    assert response.status_code == 403


# --- settings and early evaluation -------------------------------------------------------------


def _settings_data(**bands: str) -> dict[str, str]:
    data = {
        "evaluation_days": "10",
        "dual_approval": "on",
        "calibration_shrinkage": "10",
        "calibration_guideline": "10,20,40,20,10",
        "calibration_tolerance": "5",
        "bands-TOTAL_FORMS": "3",
        "bands-INITIAL_FORMS": "0",
        "bands-MIN_NUM_FORMS": "0",
        "bands-MAX_NUM_FORMS": "20",
        "bands-0-min_attainment": "0",
        "bands-0-rating": "1",
        "bands-1-min_attainment": "80",
        "bands-1-rating": "3",
        "bands-2-min_attainment": "110",
        "bands-2-rating": "5",
    }
    data.update(bands)
    return data


def test_hr_saves_settings_and_bands(world, client_as):
    response = client_as(world.hr).post(url("settings", world), _settings_data())

    assert response.status_code == 302
    with tenant_context(world.org):
        bands = list(AttainmentBand.objects.values_list("min_attainment", "rating"))
    assert bands == [(0, 1), (80, 3), (110, 5)]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"bands-2-rating": "7"}, "Use a point of the rating scale"),
        ({"bands-2-min_attainment": "50"}, "from the lowest start"),
        ({"bands-2-min_attainment": "80"}, "Two bands start at the same"),
    ],
)
def test_bad_bands_are_refused_and_nothing_changes(world, client_as, bad, message):
    response = client_as(world.hr).post(url("settings", world), _settings_data(**bad))

    assert response.status_code == 400
    assert message in text(response)
    with tenant_context(world.org):
        assert not AttainmentBand.objects.exists()


def test_settings_bands_table_has_one_header_row_and_hidden_row_labels(
    world, client_as
):
    with tenant_context(world.org):
        AttainmentBand.objects.create(
            organization=world.org, min_attainment=Decimal(80), rating=Decimal(3)
        )

    page = text(client_as(world.hr).get(url("settings", world)))

    assert "%%" not in page
    assert page.count("<thead>") == 1
    assert page.count('<th scope="col">From attainment (%)</th>') == 1
    assert ">From attainment (%)</label>" not in page
    assert re.findall(
        r'<label class="visually-hidden" for="id_bands-0-(\w+)">(.*?)</label>', page
    ) == [
        ("min_attainment", "Band 1: From attainment (%)"),
        ("rating", "Band 1: Suggested rating"),
    ]


@pytest.mark.parametrize(
    ("who", "status"), [("hr", 200), ("manager", 403), ("owner", 403)]
)
def test_settings_page_is_for_hr(world, client_as, who, status):
    assert (
        client_as(getattr(world, who)).get(url("settings", world)).status_code == status
    )


def test_open_early_button(org, other_org, make_member, client_as):
    world = build_world(org, other_org, make_member, open_review=False)
    with tenant_context(org):
        ReviewCycle.objects.filter(pk=world.cycle.pk).update(
            allow_early_evaluation=True
        )

    refused = client_as(world.manager).post(url("open_early", world, world.cycle.pk))
    response = client_as(world.hr).post(url("open_early", world, world.cycle.pk))

    assert (refused.status_code, response.status_code) == (403, 302)
    with tenant_context(org):
        # The factory plans ended in 2025: all of them are evaluated early.
        assert Evaluation.objects.count() == 4


# --- queues, plan card, partials, home ---------------------------------------------------------


def test_queue_tabs(world, client_as):
    review = evaluation(world, world.plan)

    to_write = text(client_as(world.reviewer).get(url("queue", world)))
    submit(world, world.reviewer, review)
    to_approve = text(
        client_as(world.approver).get(url("queue", world) + "?tab=approve")
    )
    reviewer_after = text(client_as(world.reviewer).get(url("queue", world)))

    detail = url("evaluation_detail", world, review.pk)
    assert detail in to_write
    assert detail in to_approve
    assert detail not in reviewer_after


def test_queue_shows_hr_evaluations_needing_a_reviewer(world, client_as):
    with tenant_context(world.org):
        Evaluation.objects.filter(kind=EvaluationKind.REVIEW, plan=world.plan).update(
            reviewer=None
        )

    page = text(client_as(world.hr).get(url("queue", world)))

    assert "1 evaluation needs a reviewer" in page


@pytest.mark.parametrize("extra", [0, 4])
def test_queue_query_count_is_flat(org, other_org, make_member, client_as, extra):
    world = build_world(org, other_org, make_member, open_review=False)
    for n in range(extra):
        GoalFactory(plan=world.plan, title=f"Extra {n}", weight=Decimal(1))
        PlanFactory(
            organization=org,
            cycle=world.cycle,
            engagement=world.engagement,
            reviewer=world.employee("reviewer"),
        )
    start_review(world)
    with tenant_context(org):
        for ev in Evaluation.objects.filter(
            kind=EvaluationKind.REVIEW, reviewer=world.employee("reviewer")
        ):
            Evaluation.objects.filter(pk=ev.pk).update(
                status=EvaluationStatus.SUBMITTED, submission=1
            )

    write, write_sql = lookups(client_as(world.reviewer), url("queue", world))
    approve_page, approve_sql = lookups(
        client_as(world.approver), url("queue", world) + "?tab=approve"
    )
    summary, summary_sql = lookups(
        client_as(world.approver), url("queue_summary", world)
    )

    assert (write.status_code, approve_page.status_code, summary.status_code) == (
        200,
        200,
        200,
    )
    test_queue_query_count_is_flat.counts.add(  # type: ignore[attr-defined]  # counts shared across parametrised runs
        (len(write_sql), len(approve_sql), len(summary_sql))
    )
    assert len(test_queue_query_count_is_flat.counts) == 1  # type: ignore[attr-defined]  # counts shared across parametrised runs
    assert max(len(write_sql), len(approve_sql)) <= QUERY_BUDGET


test_queue_query_count_is_flat.counts = set()  # type: ignore[attr-defined]  # counts shared across parametrised runs


@pytest.mark.parametrize("who", ["reviewer", "hr", "approver"])
def test_evaluation_page_within_budget(world, client_as, who):
    own = evaluation(world, world.plan, EvaluationKind.SELF)
    submit(world, world.owner, own)
    review = evaluation(world, world.plan)
    submit(world, world.reviewer, review)

    response, sql = lookups(
        client_as(getattr(world, who)), url("evaluation_detail", world, review.pk)
    )

    assert response.status_code == 200
    assert len(sql) <= QUERY_BUDGET


def test_plan_card_lists_what_the_viewer_may_see(world, client_as):
    review = evaluation(world, world.plan)
    own = evaluation(world, world.plan, EvaluationKind.SELF)
    path = url("plan_evaluations", world, world.plan.pk)

    as_owner = text(client_as(world.owner).get(path))
    as_reviewer = text(client_as(world.reviewer).get(path))

    review_url = url("evaluation_detail", world, review.pk)
    own_url = url("evaluation_detail", world, own.pk)
    assert (review_url in as_owner, own_url in as_owner) == (False, True)
    assert (review_url in as_reviewer, own_url in as_reviewer) == (True, False)
    assert client_as(world.stranger).get(path).status_code == 404


def test_plan_page_slot_costs_no_query_and_links_the_card(world, client_as):
    page = text(
        client_as(world.owner).get(
            reverse("engagements:plan_detail", args=[world.org.slug, world.plan.pk])
        )
    )

    assert url("plan_evaluations", world, world.plan.pk) in page


def test_feedback_and_history_partials(world, client_as):
    review = evaluation(world, world.plan)
    submit(world, world.reviewer, review)
    FeedbackFactory(
        organization=world.org,
        author=world.employee("reviewer"),
        subject=world.employee("owner"),
        engagement=world.engagement,
        body="Great demo to the client",
    )

    feedback = client_as(world.reviewer).get(
        url("evaluation_feedback", world, review.pk)
    )
    history = client_as(world.reviewer).get(url("evaluation_history", world, review.pk))
    hidden = client_as(world.stranger).get(url("evaluation_history", world, review.pk))

    assert "Great demo to the client" in text(feedback)
    assert "Submitted" in text(history)
    assert hidden.status_code == 404


def test_detail_page_has_a_table_of_contents_and_loads_history_on_demand(
    world, client_as
):
    review = evaluation(world, world.plan)
    history_url = url("evaluation_history", world, review.pk)

    page = text(
        client_as(world.reviewer).get(url("evaluation_detail", world, review.pk))
    )

    assert 'data-testid="page-toc"' in page
    for anchor in (
        "goals-title",
        "competencies-title",
        "comments-title",
        "history-title",
    ):
        assert f'href="#{anchor}"' in page
    assert f'href="{history_url}" hx-get="{history_url}"' in page
    assert 'hx-trigger="load" hx-swap="innerHTML"><a href="' + history_url not in page


def test_detail_page_folds_empty_comments_and_opens_filled_ones(world, client_as):
    review = evaluation(world, world.plan)
    revenue, quality, _competency = items(world)
    client_as(world.reviewer).post(
        url("evaluation_detail", world, review.pk),
        form_data(world, review, **{f"goal_{revenue.pk}_comment": "Well done"}),
    )

    page = text(
        client_as(world.reviewer).get(url("evaluation_detail", world, review.pk))
    )

    assert f'id="id_goal_{quality.pk}_comment-fold"' in page
    assert f'id="id_goal_{revenue.pk}_comment-fold"' not in page
    assert "Well done</textarea>" in page


def test_detail_page_opens_a_comment_holding_an_error(world, client_as):
    review = evaluation(world, world.plan)
    _revenue, _quality, competency = items(world)
    data = form_data(
        world, review, **{f"competency_{competency.pk}_comment": "x" * 4001}
    )

    response = client_as(world.reviewer).post(
        url("evaluation_detail", world, review.pk), data
    )

    page = text(response)
    assert response.status_code == 400
    assert field_error(page, f"competency_{competency.pk}_comment") is not None
    assert f'id="id_competency_{competency.pk}_comment-fold"' not in page


def test_history_without_javascript_is_a_page_of_its_own(world, client_as):
    review = evaluation(world, world.plan)
    submit(world, world.reviewer, review)

    page = client_as(world.reviewer).get(url("evaluation_history", world, review.pk))
    partial = client_as(world.reviewer).get(
        url("evaluation_history", world, review.pk), headers={"HX-Request": "true"}
    )

    assert "<html" in text(page)
    assert "Submitted" in text(page)
    assert "<html" not in text(partial)


def test_home_page_loads_the_section_lazily(world, client_as):
    page = text(
        client_as(world.reviewer).get(
            reverse("organizations:home", args=[world.org.slug])
        )
    )

    assert url("queue_summary", world) in page


def test_approved_evaluation_shows_who_approved(world, client_as):
    review = evaluation(world, world.plan)
    submit(world, world.reviewer, review)
    approve(world, world.approver, review)

    page = text(
        client_as(world.manager).get(url("evaluation_detail", world, review.pk))
    )

    assert "approved by Abe Approver" in page


def test_hr_approves_for_lack_of_approvers_within_budget(world, client_as):
    with tenant_context(world.org):
        RoleAssignment.objects.filter(role=EngagementRole.APPROVER).delete()
    review = evaluation(world, world.plan)
    submit(world, world.reviewer, review)

    response, sql = lookups(
        client_as(world.hr), url("evaluation_detail", world, review.pk)
    )

    assert response.status_code == 200
    assert "an HR admin (nobody else qualifies)" in text(response)
    assert len(sql) <= QUERY_BUDGET
    assert approve(world, world.hr, review).status == EvaluationStatus.APPROVED
