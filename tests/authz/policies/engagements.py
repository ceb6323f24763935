"""The engagements part of the authorisation policy: what each of its named URLs
answers to whom (``POLICY``), the body of each URL's POST (``POST_DATA``) and the state a
URL needs before its request (``PREPARE``). Its URLs: cycles, clients, engagements,
staffing and engagement roles, role rules, templates, plans with their goals, key
activities, check-ins and competencies, and engagement types. The language of the
table is ``tests/authz/policy.py``."""

from __future__ import annotations

from datetime import date

from django.db.models import F

from engagements.enums import CycleStatus, EngagementRole, GoalStatus
from engagements.models import Goal
from organizations.tenancy import tenant_context
from tests.authz.policy import (
    E403,
    EMPLOYEE_VISIBLE,
    ENGAGEMENT_PLAN_CHECK_IN,
    ENGAGEMENT_PLANNERS,
    ENGAGEMENT_VISIBLE,
    FOREIGN,
    GENERAL_PLAN,
    GENERAL_PLAN_CHECK_IN,
    GENERAL_PLAN_EDITORS,
    GENERAL_PLAN_VISIBLE,
    GET,
    GET_ONLY,
    HR_ONLY,
    HR_ONLY_GET,
    MEMBERS,
    NOBODY_FINDS_IT,
    NONE,
    OWN,
    POST,
    POST_ONLY,
    UNCHANGED,
    UrlPolicy,
    get_only,
    hr_only_object,
    plan_rows,
    tenant_row,
)
from tests.authz.world import PostBody, Prepare, World

START, END = date(2025, 1, 1).isoformat(), date(2025, 12, 31).isoformat()


POLICY: dict[str, UrlPolicy] = {
    # --- /o/<org_slug>/ engagements: cycles, clients, engagements -----------------------
    "engagements:cycles": UrlPolicy(
        rows={(GET, NONE): HR_ONLY, (POST, NONE): HR_ONLY_GET},
    ),
    "engagements:cycle_create": UrlPolicy(
        rows={(GET, NONE): HR_ONLY, (POST, NONE): HR_ONLY},
        writes=True,
    ),
    "engagements:cycle_detail": UrlPolicy(
        # The view ignores the method; a POST renders the page and changes nothing.
        target_kind="cycle",
        rows=hr_only_object(),
    ),
    "engagements:cycle_edit": UrlPolicy(
        target_kind="cycle", rows=hr_only_object(), writes=True
    ),
    "engagements:cycle_transition": UrlPolicy(
        target_kind="cycle", rows=hr_only_object(post_only=True), writes=True
    ),
    "engagements:clients": UrlPolicy(
        rows={(GET, NONE): HR_ONLY, (POST, NONE): HR_ONLY_GET},
    ),
    "engagements:client_create": UrlPolicy(
        rows={(GET, NONE): HR_ONLY, (POST, NONE): HR_ONLY},
        writes=True,
    ),
    "engagements:client_edit": UrlPolicy(
        target_kind="client", rows=hr_only_object(), writes=True
    ),
    "engagements:engagements": UrlPolicy(
        # Every member; each sees only the engagements visible to them.
        rows={(GET, NONE): MEMBERS, (POST, NONE): POST_ONLY},
    ),
    "engagements:engagement_create": UrlPolicy(
        rows={(GET, NONE): HR_ONLY, (POST, NONE): HR_ONLY},
        writes=True,
    ),
    "engagements:engagement_detail": UrlPolicy(
        # The view ignores the method; a POST renders the page and changes nothing.
        target_kind="engagement",
        rows={
            (GET, OWN): ENGAGEMENT_VISIBLE,
            (GET, FOREIGN): NOBODY_FINDS_IT,
            (POST, OWN): ENGAGEMENT_VISIBLE,
            (POST, FOREIGN): NOBODY_FINDS_IT,
        },
        queries=("", "section=activity", "section=history"),
    ),
    "engagements:engagement_edit": UrlPolicy(
        target_kind="engagement", rows=hr_only_object(), writes=True
    ),
    # --- Staffing, engagement roles, role rules, templates --------------------------------
    "engagements:engagement_staff": UrlPolicy(
        target_kind="engagement", rows=hr_only_object(), writes=True
    ),
    "engagements:engagement_role_assign": UrlPolicy(
        target_kind="engagement", rows=hr_only_object(post_only=True), writes=True
    ),
    "engagements:engagement_role_revoke": UrlPolicy(
        # OTHER_PARENT: a role assignment of the other engagement, under this one.
        target_kind="role_assignment",
        rows=hr_only_object(post_only=True, other_parent=True),
        writes=True,
    ),
    "engagements:engagement_apply_template": UrlPolicy(
        target_kind="engagement",
        rows={
            (GET, OWN): POST_ONLY,
            (GET, FOREIGN): POST_ONLY,
            (POST, OWN): ENGAGEMENT_PLANNERS,
            (POST, FOREIGN): NOBODY_FINDS_IT,
        },
        writes=True,
    ),
    "engagements:role_rules": UrlPolicy(
        rows={(GET, NONE): HR_ONLY, (POST, NONE): HR_ONLY},
        writes=True,
    ),
    "engagements:role_rule_delete": UrlPolicy(
        target_kind="role_rule", rows=hr_only_object(post_only=True), writes=True
    ),
    "engagements:templates": UrlPolicy(
        rows={(GET, NONE): HR_ONLY, (POST, NONE): HR_ONLY},
        writes=True,
    ),
    "engagements:template_detail": UrlPolicy(
        target_kind="template", rows=hr_only_object(), writes=True
    ),
    "engagements:template_goal_delete": UrlPolicy(
        # OTHER_PARENT: a goal of another template, under this one.
        target_kind="template_goal",
        rows=hr_only_object(post_only=True, other_parent=True),
        writes=True,
    ),
    # --- Plans, goals, key activities, check-ins --------------------------------------
    # A person's page sections: whoever sees the person (HR, the line manager,
    # themselves); the rows then follow the viewer's own visibility.
    "engagements:employee_plans": UrlPolicy(
        target_kind="employee",
        rows=get_only({(GET, OWN): EMPLOYEE_VISIBLE, (GET, FOREIGN): NOBODY_FINDS_IT}),
    ),
    "engagements:employee_goals": UrlPolicy(
        target_kind="employee",
        rows=get_only({(GET, OWN): EMPLOYEE_VISIBLE, (GET, FOREIGN): NOBODY_FINDS_IT}),
    ),
    "engagements:employee_engagements": UrlPolicy(
        target_kind="employee",
        rows=get_only({(GET, OWN): EMPLOYEE_VISIBLE, (GET, FOREIGN): NOBODY_FINDS_IT}),
    ),
    "engagements:plan_detail": UrlPolicy(
        target_kind="plan",
        rows=plan_rows(ENGAGEMENT_VISIBLE, GENERAL_PLAN_VISIBLE, post=GET_ONLY),
    ),
    "engagements:plan_history": UrlPolicy(
        target_kind="plan",
        rows=plan_rows(ENGAGEMENT_VISIBLE, GENERAL_PLAN_VISIBLE, post=GET_ONLY),
    ),
    "engagements:plan_edit": UrlPolicy(
        target_kind="plan",
        rows=plan_rows(ENGAGEMENT_PLANNERS, GENERAL_PLAN_EDITORS),
        writes=True,
    ),
    "engagements:plan_activate": UrlPolicy(
        target_kind="plan",
        rows=plan_rows(ENGAGEMENT_PLANNERS, GENERAL_PLAN_EDITORS, get=POST_ONLY),
        writes=True,
    ),
    "engagements:plan_normalise": UrlPolicy(
        target_kind="plan",
        rows=plan_rows(ENGAGEMENT_PLANNERS, GENERAL_PLAN_EDITORS, get=POST_ONLY),
        writes=True,
    ),
    "engagements:plan_remove": UrlPolicy(
        # HR only, the role checked first. A general plan cannot be taken off an
        # engagement: HR admins are told so and nothing changes.
        target_kind="plan",
        rows={
            **hr_only_object(post_only=True),
            (GET, GENERAL_PLAN): POST_ONLY,
            (POST, GENERAL_PLAN): tenant_row(E403, hr_admin=UNCHANGED),
        },
        writes=True,
    ),
    "engagements:goal_create": UrlPolicy(
        target_kind="plan",
        rows=plan_rows(ENGAGEMENT_PLANNERS, GENERAL_PLAN_EDITORS),
        writes=True,
    ),
    "engagements:goal_detail": UrlPolicy(
        target_kind="goal",
        rows=plan_rows(ENGAGEMENT_VISIBLE, GENERAL_PLAN_VISIBLE, post=GET_ONLY),
    ),
    "engagements:goal_edit": UrlPolicy(
        target_kind="goal",
        rows=plan_rows(ENGAGEMENT_PLANNERS, GENERAL_PLAN_EDITORS),
        writes=True,
    ),
    "engagements:goal_delete": UrlPolicy(
        target_kind="goal",
        rows=plan_rows(ENGAGEMENT_PLANNERS, GENERAL_PLAN_EDITORS, get=POST_ONLY),
        writes=True,
    ),
    "engagements:activity_create": UrlPolicy(
        target_kind="goal",
        rows=plan_rows(ENGAGEMENT_PLANNERS, GENERAL_PLAN_EDITORS, get=POST_ONLY),
        writes=True,
    ),
    "engagements:activity_toggle": UrlPolicy(
        target_kind="activity",
        rows=plan_rows(ENGAGEMENT_PLAN_CHECK_IN, GENERAL_PLAN_CHECK_IN, get=POST_ONLY),
        writes=True,
    ),
    "engagements:checkin_create": UrlPolicy(
        target_kind="goal",
        rows=plan_rows(ENGAGEMENT_PLAN_CHECK_IN, GENERAL_PLAN_CHECK_IN),
        writes=True,
    ),
    # --- Competencies on plans and templates, engagement types --------------------------
    "engagements:plan_competencies": UrlPolicy(
        # The plan page's competency section (a page of its own without HTMX).
        target_kind="plan",
        rows=plan_rows(ENGAGEMENT_VISIBLE, GENERAL_PLAN_VISIBLE, post=GET_ONLY),
    ),
    "engagements:plan_competency_add": UrlPolicy(
        target_kind="plan",
        rows=plan_rows(ENGAGEMENT_PLANNERS, GENERAL_PLAN_EDITORS, get=POST_ONLY),
        writes=True,
    ),
    "engagements:plan_competency_update": UrlPolicy(
        target_kind="plan_competency",
        rows=plan_rows(ENGAGEMENT_PLANNERS, GENERAL_PLAN_EDITORS, get=POST_ONLY),
        writes=True,
    ),
    "engagements:plan_competency_remove": UrlPolicy(
        target_kind="plan_competency",
        rows=plan_rows(ENGAGEMENT_PLANNERS, GENERAL_PLAN_EDITORS, get=POST_ONLY),
        writes=True,
    ),
    "engagements:template_competency_add": UrlPolicy(
        target_kind="template", rows=hr_only_object(post_only=True), writes=True
    ),
    "engagements:template_competency_remove": UrlPolicy(
        # OTHER_PARENT: a competency of another template, under this one.
        target_kind="template_competency",
        rows=hr_only_object(post_only=True, other_parent=True),
        writes=True,
    ),
    "engagements:engagement_types": UrlPolicy(
        rows={(GET, NONE): HR_ONLY, (POST, NONE): HR_ONLY},
        writes=True,
    ),
    "engagements:engagement_type_edit": UrlPolicy(
        target_kind="engagement_type", rows=hr_only_object(), writes=True
    ),
}


# The body of each URL's POST: valid input, so that an allowed POST goes through.
# Each takes the world and the URL's kwargs.
POST_DATA: dict[str, PostBody] = {
    "engagements:cycle_create": lambda w, k: {
        "name": "New Cycle",
        "start_date": "2026-01-01",
        "end_date": "2026-12-31",
        "general_weight": "40",
        "engagement_weighting": "effort",
    },
    "engagements:cycle_edit": lambda w, k: {
        "name": "Renamed Cycle",
        "start_date": START,
        "end_date": END,
        "general_weight": "35",
        "engagement_weighting": "effort",
    },
    "engagements:cycle_transition": lambda w, k: {"to": CycleStatus.PLANNING},
    "engagements:client_create": lambda w, k: {"name": "New Client"},
    "engagements:client_edit": lambda w, k: {"name": "Renamed Client"},
    "engagements:engagement_create": lambda w, k: {
        "client": w.refs["client"],
        "code": "NEW-ENG",
        "name": "New Engagement",
        "start_date": START,
        "end_date": END,
        "status": "active",
    },
    "engagements:engagement_edit": lambda w, k: {
        "client": w.refs["client"],
        "code": w.refs["engagement_code"],
        "name": "Renamed Engagement",
        "start_date": START,
        "end_date": END,
        "status": "active",
    },
    "engagements:engagement_staff": lambda w, k: {
        "cycle": w.refs["cycle"],
        "employees": [w.peer.pk],
        "allocation": "20",
    },
    "engagements:engagement_role_assign": lambda w, k: {
        "employee": w.peer.pk,
        "role": EngagementRole.REVIEWER,
    },
    "engagements:engagement_apply_template": lambda w, k: {
        "template": w.refs["template"],
        "cycle": w.refs["cycle"],
    },
    "engagements:role_rules": lambda w, k: {
        "job_title": w.refs["job_title"],
        "role": EngagementRole.APPROVER,
    },
    "engagements:templates": lambda w, k: {"name": "New Template", "goal_weight": "50"},
    "engagements:template_detail": lambda w, k: {
        "action": "update",
        "template-name": "Renamed Template",
        "template-goal_weight": "55",
    },
    "engagements:plan_edit": lambda w, k: {
        "start_date": START,
        "end_date": END,
        "allocation": "50",
        "responsibilities": "Lead the data work.",
        "goal_weight": "70",
        "reviewer": w.line_manager.pk,
        "approver": w.line_manager.pk,
        "version": "1",
    },
    "engagements:goal_create": lambda w, k: {
        "title": "New Goal",
        "direction": "higher",
        "weight": "10",
    },
    "engagements:goal_edit": lambda w, k: {
        "title": "Renamed Goal",
        "direction": "higher",
        "weight": "60",
        "version": "1",
    },
    "engagements:activity_create": lambda w, k: {
        f"activity-{k['pk']}-title": "New activity"
    },
    "engagements:checkin_create": lambda w, k: {
        f"checkin-{k['pk']}-progress": "40",
        f"checkin-{k['pk']}-status": GoalStatus.ON_TRACK,
    },
    "engagements:plan_competency_add": lambda w, k: {
        "competency": w.refs["competency"],
        "expected_level": "4",
        "weight": "2",
    },
    "engagements:plan_competency_update": lambda w, k: {
        f"pc{k['pk']}-expected_level": "5",
        f"pc{k['pk']}-weight": "3",
    },
    "engagements:template_competency_add": lambda w, k: {
        "competency": w.refs["competency"],
        "expected_level": "4",
        "weight": "2",
    },
    "engagements:engagement_types": lambda w, k: {
        "name": "New Type",
        "competency_set": w.refs["competency_set"],
    },
    "engagements:engagement_type_edit": lambda w, k: {
        "name": "Renamed Type",
        "competency_set": w.refs["competency_set"],
    },
}


def _halve_goal_weights(world: World) -> None:
    """Goal weights that no longer total 100, so that normalising changes them."""
    with tenant_context(world.org):
        Goal.objects.filter(plan__in=world.refs["plans"]).update(weight=F("weight") / 2)


# Changes made before the request (inside the case's savepoint) for URLs that need
# another state than the world's to do their work.
PREPARE: dict[str, Prepare] = {
    "engagements:plan_normalise": _halve_goal_weights,
}
