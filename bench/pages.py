"""Every main page of every role at two sizes, measured against the floor page.

Seeds two organisations with ``seed_scale`` (1,000 and 10,000 employees, the whole
world: cycles, engagements, plans, evaluations, appraisals, feedback, surveys and the
logins hr@, manager@ and employee@<slug>.test) in a throwaway database, runs VACUUM
ANALYZE as the owner, then opens every page of ``page_table()`` below as its role with Django's
test client (signed in with ``force_login``), through the whole middleware stack, as
the application role under row-level security. Each (page, size) pair gets warm-up
requests and one request whose queries are counted, then ``--repeats`` rounds of one
request per pair, round-robin, so drift in machine load hits every pair alike. The
floor (bench/floor.py: one query, a twenty-row template) takes part in every round.

It prints one row per page: the queries at each size, the median milliseconds at each
size, the median as a multiple of the floor's, the growth from the small to the large
size and the response size at the large size; ``flag`` marks a page over the goals
(more than 30x the floor at the large size, or a growth above 1.5). The flags are
information. The exit status is 1 only for a broken invariant: a query count that
differs between the sizes, an answer other than 200, a page whose object the seeded
data does not have, or a URL of the project that is neither in the table nor in
``NOT_MEASURED`` with its reason.

Run it with ``make bench`` or ``make bench-pages`` (the environment of ``make test``;
see bench/README.md). ``--only REGEX`` measures the pages whose "role label url-name"
matches, for working on one page; ``--show-urls`` prints the URL of each page at the
large size; ``--keep`` reuses the seeded database of an earlier ``--keep`` run and
leaves it in place (seeding both sizes takes minutes). The machinery lives in
bench/page_runner.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import run_in_bench_database  # noqa: E402
from bench.page_runner import EMPLOYEE, HR, MANAGER, Page, World, run_pages  # noqa: E402
from bench.reporting_dashboards import dashboard_pages  # noqa: E402

DATABASE = "hrms_bench_pages"


def page_table() -> list[Page]:
    """The pages measured: for each role, every GET page its navigation and lists lead
    to, the sections those pages load with HTMX, the tabs, a search, and the forms that
    offer people, clients or engagements to choose from.

    Each finder picks the same kind of object at both sizes (its state, the way the
    role reaches it), so that a query count that differs says the page's cost depends
    on the organisation's size rather than that two different things were compared.
    """
    from django.db.models import Q

    from appraisals.enums import (
        FINAL_STATUSES,
        AppraisalStatus,
        EvaluationKind,
        EvaluationStatus,
    )
    from appraisals.models import Appraisal, Evaluation
    from competencies.models import Competency, CompetencySet
    from engagements.enums import CycleStatus, EngagementRole, PlanKind
    from engagements.models import Engagement, Goal, Plan, PlanTemplate, ReviewCycle
    from feedback.enums import AskStatus, Visibility
    from feedback.models import Feedback, FeedbackAsk, FeedbackRequest
    from organizations.models import Employee

    review = CycleStatus.REVIEW

    def cycle_in_review(w: World) -> Any:
        return ReviewCycle.objects.filter(status=review)

    # --- the employee's own work in the cycle in review (also what HR opens) ---------
    def own_plan(w: World) -> Any:
        return Plan.objects.filter(
            employee=w.employee, kind=PlanKind.ENGAGEMENT, cycle__status=review
        )

    def own_general_plan(w: World) -> Any:
        return Plan.objects.filter(
            employee=w.employee, kind=PlanKind.GENERAL, cycle__status=review
        )

    def own_engagement(w: World) -> Any:
        return Engagement.objects.filter(pk__in=own_plan(w).values("engagement"))

    def own_goal(w: World) -> Any:
        return Goal.objects.filter(plan__in=own_plan(w))

    def own_appraisal(w: World) -> Any:
        return Appraisal.objects.filter(employee=w.employee, cycle__status=review)

    def own_final_appraisal(w: World) -> Any:
        return Appraisal.objects.filter(employee=w.employee, status__in=FINAL_STATUSES)

    def own_review(w: World) -> Any:
        return Evaluation.objects.filter(
            employee=w.employee,
            kind=EvaluationKind.REVIEW,
            appraisal__cycle__status=review,
        )

    def own_self_assessment(w: World) -> Any:
        return Evaluation.objects.filter(
            employee=w.employee,
            kind=EvaluationKind.SELF,
            appraisal__cycle__status=review,
        )

    def shared_feedback_about_employee(w: World) -> Any:
        return Feedback.objects.filter(
            subject=w.employee, visibility=Visibility.SHARED, withdrawn_at=None
        )

    def request_by_employee(w: World) -> Any:
        return FeedbackRequest.objects.filter(requested_by=w.employee)

    def open_ask_of_employee(w: World) -> Any:
        return FeedbackAsk.objects.filter(requestee=w.employee, status=AskStatus.OPEN)

    # --- the manager's line and the reviews they write ----------------------------------
    def manager_report(w: World) -> Any:
        return Employee.objects.filter(line_manager=w.manager)

    def reviewed_engagement(w: World) -> Any:
        return Engagement.objects.filter(
            role_assignments__employee=w.manager,
            role_assignments__role=EngagementRole.REVIEWER,
        )

    def draft_review_to_write(w: World) -> Any:
        """As the engagement's reviewer, not as line manager: at every size the same
        way in (the line-manager path skips the guardian permission queries)."""
        return Evaluation.objects.filter(
            reviewer=w.manager,
            kind=EvaluationKind.REVIEW,
            status=EvaluationStatus.DRAFT,
            appraisal__cycle__status=review,
        ).exclude(employee__line_manager=w.manager)

    def reviewed_plan(w: World) -> Any:
        return Plan.objects.filter(pk__in=draft_review_to_write(w).values("plan"))

    def reviewed_goal(w: World) -> Any:
        return Goal.objects.filter(plan__in=reviewed_plan(w))

    def report_appraisal(w: World) -> Any:
        """Open, so its scores are computed for the page at every size."""
        return Appraisal.objects.filter(
            employee__line_manager=w.manager,
            cycle__status=review,
            status=AppraisalStatus.OPEN,
        )

    def feedback_by_manager(w: World) -> Any:
        return Feedback.objects.filter(author=w.manager, withdrawn_at=None)

    def request_manager_reads(w: World) -> Any:
        """Theirs, about them or a report, or on an engagement they review."""
        return FeedbackRequest.objects.filter(
            Q(requested_by=w.manager)
            | Q(subject=w.manager)
            | Q(subject__line_manager=w.manager)
            | Q(engagement__in=reviewed_engagement(w))
        )

    # --- people, the library, settings --------------------------------------------------
    def the_employee(w: World) -> Any:
        return Employee.objects.filter(pk=w.employee.pk)

    def feedback_about_employee(w: World) -> Any:
        return Feedback.objects.filter(subject=w.employee, withdrawn_at=None)

    def request_about_employee(w: World) -> Any:
        return FeedbackRequest.objects.filter(subject=w.employee)

    def competency(w: World) -> Any:
        return Competency.objects.all()

    def competency_set(w: World) -> Any:
        return CompetencySet.objects.all()

    def plan_template(w: World) -> Any:
        return PlanTemplate.objects.all()

    H = True  # an HTMX section of the page above it
    # fmt: off
    return [
        # role    label                                  url name                           object (first by pk)     query / htmx
        Page(HR, "home", "organizations:home"),
        Page(HR, "home: evaluations section", "appraisals:queue_summary", htmx=H),
        Page(HR, "home: appraisals section", "appraisals:home_appraisals", htmx=H),
        Page(HR, "home: feedback requests section", "feedback:home_requests", htmx=H),
        Page(HR, "people directory", "organizations:people"),
        Page(HR, "search", "organizations:search", query="q=an"),
        Page(MANAGER, "search", "organizations:search", query="q=an"),
        Page(HR, "people directory, search", "organizations:people", query="q=silva"),
        Page(HR, "people picker, search", "organizations:picker", query="q=silva", kwargs={"source": "people"}),
        Page(HR, "person (the employee)", "organizations:employee_detail", the_employee),
        Page(HR, "person: feedback", "feedback:employee_feed", the_employee, htmx=H),
        Page(HR, "person: client satisfaction", "feedback:employee_csat", the_employee, htmx=H),
        Page(HR, "person: plans", "engagements:employee_plans", the_employee, htmx=H),
        Page(HR, "person: engagements", "engagements:employee_engagements", the_employee, htmx=H),
        Page(HR, "person: appraisals", "appraisals:employee_appraisals", the_employee, htmx=H),
        Page(HR, "person: goals", "engagements:employee_goals", the_employee, htmx=H),
        Page(HR, "person: evaluations", "appraisals:employee_evaluations", the_employee, htmx=H),
        Page(HR, "person: feedback given", "feedback:employee_given", the_employee, htmx=H),
        Page(HR, "person: feedback requests", "feedback:employee_requests", the_employee, htmx=H),
        Page(HR, "person: edit (form)", "organizations:employee_edit", the_employee),
        Page(HR, "review cycles", "engagements:cycles"),
        Page(HR, "cycle in review", "engagements:cycle_detail", cycle_in_review),
        Page(HR, "cycle appraisal progress", "appraisals:cycle_progress", cycle_in_review),
        Page(HR, "cycle progress: open evaluations", "appraisals:cycle_progress_evaluations", cycle_in_review),
        Page(HR, "clients", "engagements:clients"),
        Page(HR, "engagements", "engagements:engagements"),
        Page(HR, "engagement: new (form)", "engagements:engagement_create"),
        Page(HR, "engagement", "engagements:engagement_detail", own_engagement),
        Page(HR, "engagement: activity", "engagements:engagement_detail", own_engagement, "section=activity", H),
        Page(HR, "engagement: history", "engagements:engagement_detail", own_engagement, "section=history", H),
        Page(HR, "engagement: feedback", "feedback:engagement_feed", own_engagement, htmx=H),
        Page(HR, "engagement: client satisfaction", "feedback:engagement_csat", own_engagement, htmx=H),
        Page(HR, "engagement: staffing (form)", "engagements:engagement_staff", own_engagement),
        Page(HR, "engagement surveys", "feedback:survey_list", own_engagement),
        Page(HR, "plan", "engagements:plan_detail", own_plan),
        Page(HR, "plan: history", "engagements:plan_history", own_plan, htmx=H),
        Page(HR, "plan: competencies", "engagements:plan_competencies", own_plan, htmx=H),
        Page(HR, "plan: feedback", "feedback:plan_feed", own_plan, htmx=H),
        Page(HR, "plan: evaluations", "appraisals:plan_evaluations", own_plan, htmx=H),
        Page(HR, "plan: edit (form)", "engagements:plan_edit", own_plan),
        Page(HR, "goal", "engagements:goal_detail", own_goal),
        Page(HR, "evaluation queue: to write", "appraisals:queue"),
        Page(HR, "evaluation queue: to approve", "appraisals:queue", query="tab=approve"),
        Page(HR, "evaluation (a review)", "appraisals:evaluation_detail", own_review),
        Page(HR, "evaluation: feedback", "appraisals:evaluation_feedback", own_review, htmx=H),
        Page(HR, "evaluation: history", "appraisals:evaluation_history", own_review, htmx=H),
        Page(HR, "appraisal", "appraisals:appraisal_detail", own_appraisal),
        Page(HR, "my appraisals", "appraisals:my_appraisals"),
        Page(HR, "feedback: about me", "feedback:my_feedback"),
        Page(HR, "feedback: written", "feedback:my_feedback", query="tab=written"),
        Page(HR, "feedback (one)", "feedback:detail", feedback_about_employee),
        Page(HR, "feedback requests: asked", "feedback:requests"),
        Page(HR, "feedback requests: mine", "feedback:requests", query="tab=mine"),
        Page(HR, "feedback request", "feedback:request_detail", request_about_employee),
        Page(HR, "competency library", "competencies:competencies"),
        Page(HR, "competency", "competencies:competency_detail", competency),
        Page(HR, "competency categories", "competencies:categories"),
        Page(HR, "competency sets", "competencies:competency_sets"),
        Page(HR, "competency set", "competencies:competency_set_detail", competency_set),
        Page(HR, "rating scales", "competencies:scales"),
        Page(HR, "plan templates", "engagements:templates"),
        Page(HR, "plan template", "engagements:template_detail", plan_template),
        Page(HR, "role rules", "engagements:role_rules"),
        Page(HR, "engagement types", "engagements:engagement_types"),
        Page(HR, "settings: organisation", "organizations:settings"),
        Page(HR, "settings: business units", "organizations:business_units"),
        Page(HR, "settings: job titles", "organizations:job_titles"),
        Page(HR, "settings: appraisals", "appraisals:settings"),
        Page(HR, "calibration sessions", "appraisals:calibration_sessions"),
        Page(MANAGER, "calibration sessions", "appraisals:calibration_sessions"),
        Page(HR, "calibration: open a session", "appraisals:calibration_session_new"),
        Page(HR, "background work", "organizations:background_work"),
        Page(HR, "invitations", "organizations:invitations"),

        Page(MANAGER, "home", "organizations:home"),
        Page(MANAGER, "home: evaluations section", "appraisals:queue_summary", htmx=H),
        Page(MANAGER, "home: appraisals section", "appraisals:home_appraisals", htmx=H),
        Page(MANAGER, "home: feedback requests section", "feedback:home_requests", htmx=H),
        Page(MANAGER, "person (a report)", "organizations:employee_detail", manager_report),
        Page(MANAGER, "person: feedback", "feedback:employee_feed", manager_report, htmx=H),
        Page(MANAGER, "person: client satisfaction", "feedback:employee_csat", manager_report, htmx=H),
        Page(MANAGER, "person: plans", "engagements:employee_plans", manager_report, htmx=H),
        Page(MANAGER, "person: engagements", "engagements:employee_engagements", manager_report, htmx=H),
        Page(MANAGER, "person: appraisals", "appraisals:employee_appraisals", manager_report, htmx=H),
        Page(MANAGER, "person: goals", "engagements:employee_goals", manager_report, htmx=H),
        Page(MANAGER, "person: evaluations", "appraisals:employee_evaluations", manager_report, htmx=H),
        Page(MANAGER, "person: feedback given", "feedback:employee_given", manager_report, htmx=H),
        Page(MANAGER, "person: feedback requests", "feedback:employee_requests", manager_report, htmx=H),
        Page(MANAGER, "engagements", "engagements:engagements"),
        Page(MANAGER, "engagement (as reviewer)", "engagements:engagement_detail", reviewed_engagement),
        Page(MANAGER, "engagement: activity", "engagements:engagement_detail", reviewed_engagement, "section=activity", H),
        Page(MANAGER, "engagement: history", "engagements:engagement_detail", reviewed_engagement, "section=history", H),
        Page(MANAGER, "engagement: feedback", "feedback:engagement_feed", reviewed_engagement, htmx=H),
        Page(MANAGER, "engagement: client satisfaction", "feedback:engagement_csat", reviewed_engagement, htmx=H),
        Page(MANAGER, "engagement surveys", "feedback:survey_list", reviewed_engagement),
        Page(MANAGER, "plan (reviewed)", "engagements:plan_detail", reviewed_plan),
        Page(MANAGER, "plan: competencies", "engagements:plan_competencies", reviewed_plan, htmx=H),
        Page(MANAGER, "plan: feedback", "feedback:plan_feed", reviewed_plan, htmx=H),
        Page(MANAGER, "plan: evaluations", "appraisals:plan_evaluations", reviewed_plan, htmx=H),
        Page(MANAGER, "goal", "engagements:goal_detail", reviewed_goal),
        Page(MANAGER, "evaluation queue: to write", "appraisals:queue"),
        Page(MANAGER, "evaluation queue: to approve", "appraisals:queue", query="tab=approve"),
        Page(MANAGER, "evaluation (draft review)", "appraisals:evaluation_detail", draft_review_to_write),
        Page(MANAGER, "evaluation: feedback", "appraisals:evaluation_feedback", draft_review_to_write, htmx=H),
        Page(MANAGER, "evaluation: history", "appraisals:evaluation_history", draft_review_to_write, htmx=H),
        Page(MANAGER, "appraisal (a report's)", "appraisals:appraisal_detail", report_appraisal),
        Page(MANAGER, "my appraisals", "appraisals:my_appraisals"),
        Page(MANAGER, "feedback: about me", "feedback:my_feedback"),
        Page(MANAGER, "feedback: written", "feedback:my_feedback", query="tab=written"),
        Page(MANAGER, "feedback: my team", "feedback:my_feedback", query="tab=team"),
        Page(MANAGER, "feedback (written)", "feedback:detail", feedback_by_manager),
        Page(MANAGER, "feedback requests: asked", "feedback:requests"),
        Page(MANAGER, "feedback requests: mine", "feedback:requests", query="tab=mine"),
        Page(MANAGER, "feedback requests: team", "feedback:requests", query="tab=team"),
        Page(MANAGER, "feedback request", "feedback:request_detail", request_manager_reads),
        Page(MANAGER, "feedback request: new (form)", "feedback:request_create"),
        Page(MANAGER, "competency library", "competencies:competencies"),

        Page(EMPLOYEE, "home", "organizations:home"),
        Page(EMPLOYEE, "home: evaluations section", "appraisals:queue_summary", htmx=H),
        Page(EMPLOYEE, "home: appraisals section", "appraisals:home_appraisals", htmx=H),
        Page(EMPLOYEE, "home: feedback requests section", "feedback:home_requests", htmx=H),
        Page(EMPLOYEE, "person (me)", "organizations:employee_detail", the_employee),
        Page(EMPLOYEE, "person: feedback", "feedback:employee_feed", the_employee, htmx=H),
        Page(EMPLOYEE, "person: client satisfaction", "feedback:employee_csat", the_employee, htmx=H),
        Page(EMPLOYEE, "person: plans", "engagements:employee_plans", the_employee, htmx=H),
        Page(EMPLOYEE, "person: engagements", "engagements:employee_engagements", the_employee, htmx=H),
        Page(EMPLOYEE, "person: appraisals", "appraisals:employee_appraisals", the_employee, htmx=H),
        Page(EMPLOYEE, "person: feedback given", "feedback:employee_given", the_employee, htmx=H),
        Page(EMPLOYEE, "person: feedback requests", "feedback:employee_requests", the_employee, htmx=H),
        Page(EMPLOYEE, "engagements", "engagements:engagements"),
        Page(EMPLOYEE, "engagement (staffed)", "engagements:engagement_detail", own_engagement),
        Page(EMPLOYEE, "engagement: activity", "engagements:engagement_detail", own_engagement, "section=activity", H),
        Page(EMPLOYEE, "engagement: history", "engagements:engagement_detail", own_engagement, "section=history", H),
        Page(EMPLOYEE, "engagement: feedback", "feedback:engagement_feed", own_engagement, htmx=H),
        Page(EMPLOYEE, "engagement: client satisfaction", "feedback:engagement_csat", own_engagement, htmx=H),
        Page(EMPLOYEE, "plan (engagement)", "engagements:plan_detail", own_plan),
        Page(EMPLOYEE, "plan: competencies", "engagements:plan_competencies", own_plan, htmx=H),
        Page(EMPLOYEE, "plan: feedback", "feedback:plan_feed", own_plan, htmx=H),
        Page(EMPLOYEE, "plan: evaluations", "appraisals:plan_evaluations", own_plan, htmx=H),
        Page(EMPLOYEE, "plan (general)", "engagements:plan_detail", own_general_plan),
        Page(EMPLOYEE, "goal", "engagements:goal_detail", own_goal),
        Page(EMPLOYEE, "evaluation queue", "appraisals:queue"),
        Page(EMPLOYEE, "evaluation (self-assessment)", "appraisals:evaluation_detail", own_self_assessment),
        Page(EMPLOYEE, "my appraisals", "appraisals:my_appraisals"),
        Page(EMPLOYEE, "appraisal (in review)", "appraisals:appraisal_detail", own_appraisal),
        Page(EMPLOYEE, "appraisal (final)", "appraisals:appraisal_detail", own_final_appraisal),
        Page(EMPLOYEE, "feedback: about me", "feedback:my_feedback"),
        Page(EMPLOYEE, "feedback: written", "feedback:my_feedback", query="tab=written"),
        Page(EMPLOYEE, "feedback (about me)", "feedback:detail", shared_feedback_about_employee),
        Page(EMPLOYEE, "feedback requests: asked", "feedback:requests"),
        Page(EMPLOYEE, "feedback requests: mine", "feedback:requests", query="tab=mine"),
        Page(EMPLOYEE, "feedback request", "feedback:request_detail", request_by_employee),
        Page(EMPLOYEE, "feedback request: new (form)", "feedback:request_create"),
        Page(EMPLOYEE, "feedback ask: answer", "feedback:ask_answer", open_ask_of_employee),
        Page(EMPLOYEE, "competency library", "competencies:competencies"),
        Page(EMPLOYEE, "e-mail preferences", "feedback:preferences"),
        Page(EMPLOYEE, "notifications", "organizations:notifications"),

        Page(HR, "reports: exports (form)", "reporting:exports"),
        Page(HR, "reports: report jobs", "reporting:jobs"),
        Page(MANAGER, "reports: report jobs", "reporting:jobs"),
        Page(HR, "my team", "appraisals:my_team"),
        Page(MANAGER, "my team", "appraisals:my_team"),
        Page(MANAGER, "my team: direct and indirect", "appraisals:my_team", query="scope=all"),
        Page(HR, "reports: scheduled e-mails", "reporting:subscriptions"),
        Page(HR, "reports: new scheduled e-mail (form)", "reporting:subscription_create"),
        Page(MANAGER, "reports: scheduled e-mails", "reporting:subscriptions"),
        # The dashboards without filters; bench/reporting.py adds filtered ones.
        *dashboard_pages(),
    ]
    # fmt: on


_OUTSIDE = "outside any organisation: account pages, the probe, signed links"
_ACTION = "an action: POST only"
_FORM = "a form page without long lists of choices"
# Every other named URL of the project, and why it is not measured. A URL in neither
# this nor the page table is an error, so a new page cannot be forgotten silently.
NOT_MEASURED: dict[str, str] = {
    "bench_floor": "the floor itself, measured in every round",
    **dict.fromkeys(
        (
            "home",
            "healthz",
            "login",
            "logout",
            "password_change",
            "password_change_done",
            "password_reset",
            "password_reset_done",
            "password_reset_confirm",
            "password_reset_complete",
            "invitation_accept",
            "survey:answer",
            "reporting_public:unsubscribe",
        ),
        _OUTSIDE,
    ),
    **dict.fromkeys(
        (
            "organizations:employee_create",
            "organizations:business_unit_edit",
            "organizations:job_title_edit",
            "competencies:scale_create",
            "competencies:scale_edit",
            "competencies:competency_create",
            "competencies:competency_edit",
            "engagements:cycle_create",
            "engagements:cycle_edit",
            "engagements:client_create",
            "engagements:client_edit",
            "engagements:engagement_edit",
            "engagements:goal_create",
            "engagements:goal_edit",
            "engagements:checkin_create",
            "engagements:engagement_type_edit",
            "feedback:edit",
            "feedback:survey_send",
        ),
        _FORM,
    ),
    **dict.fromkeys(
        (
            "organizations:employee_set_active",
            "organizations:invitation_revoke",
            "competencies:scale_set_default",
            "competencies:scale_copy",
            "competencies:competency_archive",
            "competencies:competency_delete",
            "competencies:competency_set_item_add",
            "competencies:competency_set_item_update",
            "competencies:competency_set_item_remove",
            "engagements:cycle_transition",
            "engagements:engagement_role_assign",
            "engagements:engagement_role_revoke",
            "engagements:engagement_apply_template",
            "engagements:role_rule_delete",
            "engagements:plan_activate",
            "engagements:plan_normalise",
            "engagements:plan_remove",
            "engagements:goal_delete",
            "engagements:activity_create",
            "engagements:activity_toggle",
            "engagements:plan_competency_add",
            "engagements:plan_competency_update",
            "engagements:plan_competency_remove",
            "engagements:template_goal_delete",
            "engagements:template_competency_add",
            "engagements:template_competency_remove",
            "feedback:withdraw",
            "feedback:give",
            "feedback:give_general",
            "feedback:request_cancel",
            "feedback:ask_decline",
            "appraisals:evaluation_approve",
            "appraisals:evaluation_return",
            "appraisals:evaluation_assign",
            "appraisals:appraisal_acknowledge",
            "appraisals:appraisal_finalise",
            "appraisals:appraisal_reopen",
            "appraisals:bulk_finalise",
            "appraisals:bulk_remind",
            "appraisals:cycle_recompute",
            "appraisals:open_early",
            "organizations:notification_read_all",
            "appraisals:calibration_close",
            "appraisals:calibration_accept",
            "appraisals:calibration_accept_all",
            "appraisals:calibration_remove",
        ),
        _ACTION,
    ),
    "appraisals:calibration_move": _FORM,
    "organizations:notification_open": (
        "marks a notification read and redirects to its target"
    ),
    "appraisals:calibration_session": (
        "a calibration session's page: seed_scale opens none; bench/calibration.py "
        "measures it at 100 and 10,000 people in scope"
    ),
    "appraisals:recompute_status": "polled by the progress page while a recompute runs",
    "reporting:export": _ACTION,
    **dict.fromkeys(
        (
            "reporting:subscription_send_now",
            "reporting:subscription_toggle",
            "reporting:subscription_delete",
            "reporting:subscription_unsubscribe",
        ),
        _ACTION,
    ),
    **dict.fromkeys(
        (
            "reporting:subscription_detail",
            "reporting:subscription_edit",
            "reporting:subscription_preview",
            "reporting:delivery_detail",
            "reporting:delivery_email_pdf",
        ),
        "a report subscription's page: the seeded data has none; "
        "tests/reporting/views/test_subscription_pages.py counts their queries",
    ),
    "reporting:appraisal_pdf": _ACTION,
    "reporting:engagement_pdf": _ACTION,
    "reporting:cycle_pdf": _ACTION,
    "reporting:appraisal_batch": _ACTION,
    "reporting:batch_retry": _ACTION,
    **dict.fromkeys(
        ("reporting:job_detail", "reporting:job_progress", "reporting:job_download"),
        "a report job's page: the seeded data has none; bench/reporting.py runs exports",
    ),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--small", type=int, default=1000, help="employees (1000)")
    parser.add_argument("--large", type=int, default=10000, help="employees (10000)")
    parser.add_argument("--repeats", type=int, default=15, help="timed rounds (15)")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up requests (1)")
    parser.add_argument("--only", help="regex over 'role label url-name'")
    parser.add_argument("--show-urls", action="store_true", help="print each URL")
    parser.add_argument(
        "--keep",
        action="store_true",
        help=f"reuse the seeded database {DATABASE} if it exists and keep it afterwards",
    )
    options = parser.parse_args()
    return run_in_bench_database(
        lambda owner: run_pages(owner, options, page_table(), NOT_MEASURED),
        database=DATABASE,
        settings_module="bench.settings",
        keep=options.keep,
    )


if __name__ == "__main__":
    sys.exit(main())
