"""The appraisals part of the authorisation policy: what each of its named URLs
answers to whom (``POLICY``), the body of each URL's POST (``POST_DATA``) and the state a
URL needs before its request (``PREPARE``). Its URLs: the evaluation queues and
evaluations, appraisal settings, appraisals, cycle progress (two lists), bulk actions,
score recomputation and calibration sessions. The language of the table is ``tests/authz/policy.py``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from django.utils import timezone
from django_filters import FilterSet

from appraisals.enums import AppraisalStatus, CalibrationScope, EvaluationStatus
from appraisals.filters import AppraisalProgressFilter, EvaluationProgressFilter
from appraisals.models import Appraisal, CalibrationSession, Evaluation, GoalRating
from appraisals.scores import recompute_appraisals
from appraisals.selectors import progress
from appraisals.services.calibration import set_adjustment
from engagements.enums import CycleStatus
from engagements.models import Goal, Plan, ReviewCycle
from organizations.tenancy import tenant_context
from tests.authz.policy import (
    ACTORS,
    ALLOWED,
    APPROVER,
    CONTRIBUTOR,
    E403,
    E404,
    EMPLOYEE_VISIBLE,
    ENGAGEMENT_VISIBLE,
    FOREIGN,
    GENERAL_PLAN,
    GENERAL_PLAN_VISIBLE,
    GET,
    GET_ONLY,
    HR_ONLY,
    HR_ONLY_NOT_FOUND,
    MEMBERS,
    NOBODY_FINDS_IT,
    NONE,
    OWN,
    POST,
    POST_ONLY,
    PRIVATE,
    REFUSED,
    UNCHANGED,
    A,
    Actor,
    Row,
    Target,
    UrlPolicy,
    gated,
    get_only,
    hr_only_object,
    hr_only_page,
    object_rows,
    plan_rows,
    tenant_row,
    unlike_the_reviewer,
)
from tests.authz.world import PostBody, Prepare, World

# The review cycle's evaluations of ``self``: OWN the review of the engagement plan
# (written by the reviewer; approved by the engagement's approver), GENERAL_PLAN the
# review of the general plan (written by the line manager; approved, for lack of a
# line manager above theirs, by HR admins), PRIVATE the self-assessment of the
# engagement plan, a draft only ``self`` sees. ``self`` sees no review before the
# appraisal is final.
EVALUATION_VIEWERS: dict[Target, tuple[Actor, ...]] = {
    OWN: (A.HR_ADMIN, A.LINE_MANAGER, A.REVIEWER),
    GENERAL_PLAN: (A.HR_ADMIN, A.LINE_MANAGER),
    PRIVATE: (A.SELF,),
}
EVALUATION_WRITERS: dict[Target, tuple[Actor, ...]] = {
    OWN: (A.REVIEWER,),
    GENERAL_PLAN: (A.LINE_MANAGER,),
    PRIVATE: (A.SELF,),
}
EVALUATION_APPROVERS: dict[Target, tuple[Actor, ...]] = {
    OWN: (),  # the engagement's approver: see ``roles``
    GENERAL_PLAN: (A.HR_ADMIN,),
    PRIVATE: (),
}


def _evaluation(get: str, post: str) -> UrlPolicy:
    """A URL on one evaluation: per method "view", "write" (its writer), "approve"
    (approve or return a submitted review: its approvers; the ``PREPARE`` of the
    URL submits the reviews) or ``REFUSED``. The engagement's approver sees the
    engagement plan's review and approves it; contributors see none of it."""
    modes: dict[str, Mapping[Target, tuple[Actor, ...]]] = {
        "view": EVALUATION_VIEWERS,
        "write": EVALUATION_WRITERS,
        "approve": EVALUATION_APPROVERS,
    }
    allowed = {GET: modes.get(get, REFUSED), POST: modes.get(post, REFUSED)}
    rows = object_rows(EVALUATION_VIEWERS, allowed)
    approver = {
        (method, OWN): ALLOWED if mode in ("view", "approve") else E403
        for method, mode in ((GET, get), (POST, post))
        if mode != REFUSED
    }
    reviewer = ACTORS.index(A.REVIEWER)
    return UrlPolicy(
        target_kind="evaluation",
        rows=rows,
        writes=post in ("write", "approve"),
        roles={
            APPROVER: {k: o for k, o in approver.items() if rows[k][reviewer] != o},
            CONTRIBUTOR: unlike_the_reviewer(rows, (OWN,), E404),
        },
    )


# A calibration session of the world: HR admins and its participant, ``self``'s line
# manager, open it and adjust ``self``'s score; every other member gets 404.
CALIBRATORS = (A.HR_ADMIN, A.LINE_MANAGER)
SESSION_VISIBLE = gated(CALIBRATORS, allowed=CALIBRATORS)
ADJUSTERS_DECLINED = tenant_row(E404, hr_admin=UNCHANGED, line_manager=UNCHANGED)


def _calibration_action(own: Row) -> dict[tuple[str, Target], Row]:
    """Rows of a POST action in a calibration session: ``own`` on the world's
    session, 404 for everyone on another organisation's."""
    return {
        (GET, OWN): POST_ONLY,
        (GET, FOREIGN): POST_ONLY,
        (POST, OWN): own,
        (POST, FOREIGN): NOBODY_FINDS_IT,
    }


POLICY: dict[str, UrlPolicy] = {
    # --- /o/<org_slug>/ appraisals: evaluations -----------------------------------------
    "appraisals:queue": UrlPolicy(
        # Every member; each queue holds only the member's own work.
        rows={(GET, NONE): MEMBERS, (POST, NONE): POST_ONLY},
        queries=("", "tab=approve"),
    ),
    "appraisals:queue_summary": UrlPolicy(
        rows={(GET, NONE): MEMBERS, (POST, NONE): POST_ONLY},
    ),
    "appraisals:evaluation_detail": _evaluation(get="view", post="write"),
    "appraisals:evaluation_feedback": _evaluation(get="view", post=REFUSED),
    "appraisals:evaluation_history": _evaluation(get="view", post=REFUSED),
    "appraisals:evaluation_approve": _evaluation(get=REFUSED, post="approve"),
    "appraisals:evaluation_return": _evaluation(get=REFUSED, post="approve"),
    "appraisals:evaluation_assign": UrlPolicy(
        # HR only, the role checked first; HR admins cannot see a draft
        # self-assessment (404), and only reviews take a reviewer.
        target_kind="evaluation",
        rows={
            **hr_only_object(post_only=True),
            (GET, GENERAL_PLAN): POST_ONLY,
            (POST, GENERAL_PLAN): HR_ONLY,
            (GET, PRIVATE): POST_ONLY,
            (POST, PRIVATE): HR_ONLY_NOT_FOUND,
        },
        writes=True,
    ),
    "appraisals:settings": UrlPolicy(
        rows={(GET, NONE): HR_ONLY, (POST, NONE): HR_ONLY},
        writes=True,
    ),
    "appraisals:open_early": UrlPolicy(
        # The ``PREPARE`` of the URL lets the world's cycle evaluate early.
        target_kind="cycle",
        rows=hr_only_object(post_only=True),
        writes=True,
    ),
    "appraisals:plan_evaluations": UrlPolicy(
        # The review cycle's plans of ``self``; each viewer of the plan lists the
        # evaluations they may open.
        target_kind="review_plan",
        rows=plan_rows(ENGAGEMENT_VISIBLE, GENERAL_PLAN_VISIBLE, post=GET_ONLY),
    ),
    # --- Appraisals ----------------------------------------------------------------------
    "appraisals:my_appraisals": UrlPolicy(
        rows={(GET, NONE): MEMBERS, (POST, NONE): POST_ONLY},
    ),
    "appraisals:my_team": UrlPolicy(
        # Every member: their own team (an empty state without reports); HR's
        # ``manager=`` is tested in tests/appraisals/views/test_my_team.py.
        rows={(GET, NONE): MEMBERS, (POST, NONE): POST_ONLY},
        queries=("", "scope=all", "order=-score&appraisal=open"),
    ),
    "appraisals:home_appraisals": UrlPolicy(
        # Without HTMX it redirects to the member's appraisals.
        rows={(GET, NONE): MEMBERS, (POST, NONE): POST_ONLY},
    ),
    "appraisals:employee_appraisals": UrlPolicy(
        # A person's page section: whoever sees the person; rows and scores then
        # follow ``appraisals_visible_to`` and ``sees_scores``.
        target_kind="employee",
        rows=get_only({(GET, OWN): EMPLOYEE_VISIBLE, (GET, FOREIGN): NOBODY_FINDS_IT}),
    ),
    "appraisals:employee_evaluations": UrlPolicy(
        # A person's page section: whoever sees the person; each evaluation then as
        # its own page decides (``person_evaluations``).
        target_kind="employee",
        rows=get_only({(GET, OWN): EMPLOYEE_VISIBLE, (GET, FOREIGN): NOBODY_FINDS_IT}),
    ),
    "appraisals:appraisal_detail": UrlPolicy(
        # ``self``'s appraisal: HR admins, ``self`` and their line manager; nobody
        # else, engagement roles included.
        target_kind="appraisal",
        rows=get_only({(GET, OWN): EMPLOYEE_VISIBLE, (GET, FOREIGN): NOBODY_FINDS_IT}),
    ),
    "appraisals:appraisal_acknowledge": UrlPolicy(
        # Only its employee, once final (the URL's ``PREPARE`` finalises it).
        target_kind="appraisal",
        rows={
            (GET, OWN): POST_ONLY,
            (GET, FOREIGN): POST_ONLY,
            (POST, OWN): gated((A.HR_ADMIN, A.LINE_MANAGER, A.SELF), allowed=(A.SELF,)),
            (POST, FOREIGN): NOBODY_FINDS_IT,
        },
        writes=True,
    ),
    "appraisals:appraisal_finalise": UrlPolicy(
        # HR only, the role checked first (``PREPARE``: every review approved).
        target_kind="appraisal",
        rows=hr_only_object(post_only=True),
        writes=True,
    ),
    "appraisals:appraisal_reopen": UrlPolicy(
        # HR only, the role checked first (``PREPARE``: the appraisal is final).
        target_kind="appraisal",
        rows=hr_only_object(post_only=True),
        writes=True,
    ),
    "appraisals:cycle_progress": UrlPolicy(
        target_kind="review_cycle",
        rows=hr_only_page(),
        queries=("", "status=ready"),
    ),
    "appraisals:cycle_progress_evaluations": UrlPolicy(
        target_kind="review_cycle",
        rows=hr_only_page(),
        queries=("", "state=overdue"),
    ),
    "appraisals:bulk_finalise": UrlPolicy(
        # ``PREPARE``: every review approved, so the appraisal is ready. The POST
        # names the engagement filter and the number of ready appraisals it selects.
        target_kind="review_cycle",
        rows=hr_only_object(post_only=True),
        writes=True,
    ),
    "appraisals:bulk_remind": UrlPolicy(
        target_kind="review_cycle",
        rows=hr_only_object(post_only=True),
        writes=True,
    ),
    "appraisals:cycle_recompute": UrlPolicy(
        target_kind="review_cycle",
        rows=hr_only_object(post_only=True),
        writes=True,
    ),
    "appraisals:recompute_status": UrlPolicy(
        target_kind="recompute_run", rows=hr_only_page()
    ),
    # --- Calibration ---------------------------------------------------------------------
    "appraisals:calibration_sessions": UrlPolicy(
        # Every member: HR admins all sessions, others those they take part in (an
        # empty list for most).
        rows={(GET, NONE): MEMBERS, (POST, NONE): POST_ONLY},
    ),
    "appraisals:calibration_session_new": UrlPolicy(
        rows={(GET, NONE): HR_ONLY, (POST, NONE): HR_ONLY},
        writes=True,
    ),
    "appraisals:calibration_session": UrlPolicy(
        # HR admins and the participants (``self``'s line manager); 404 for the
        # rest, the reviewer and the other manager included.
        target_kind="calibration_session",
        rows=get_only({(GET, OWN): SESSION_VISIBLE, (GET, FOREIGN): NOBODY_FINDS_IT}),
        queries=("", "reviewers=all", "page=2"),
    ),
    "appraisals:calibration_close": UrlPolicy(
        target_kind="calibration_session",
        rows=hr_only_object(post_only=True),
        writes=True,
    ),
    "appraisals:calibration_accept_all": UrlPolicy(
        # Allowed to whoever adjusts in the session; the world has no suggestion
        # (no reviewer rates enough to be measured), so nothing is accepted and the
        # page says so. Accepting is tested in
        # tests/appraisals/views/test_calibration_pages.py.
        target_kind="calibration_session",
        rows=_calibration_action(ADJUSTERS_DECLINED),
    ),
    "appraisals:calibration_accept": UrlPolicy(
        # As "accept all", for ``self``'s appraisal: below the line manager.
        target_kind="calibration_entry",
        rows=_calibration_action(ADJUSTERS_DECLINED),
    ),
    "appraisals:calibration_move": UrlPolicy(
        # ``PREPARE``: ``self``'s appraisal has a score to calibrate.
        target_kind="calibration_entry",
        rows={
            **_calibration_action(SESSION_VISIBLE),
            (GET, OWN): SESSION_VISIBLE,
            (GET, FOREIGN): NOBODY_FINDS_IT,
        },
        writes=True,
    ),
    "appraisals:calibration_remove": UrlPolicy(
        # ``PREPARE``: ``self``'s appraisal carries an adjustment to remove.
        target_kind="calibration_entry",
        rows=_calibration_action(SESSION_VISIBLE),
        writes=True,
    ),
}


# The body of each URL's POST: valid input, so that an allowed POST goes through.
# Each takes the world and the URL's kwargs.
POST_DATA: dict[str, PostBody] = {
    "appraisals:evaluation_detail": lambda w, k: {
        "version": _version(w, Evaluation, k["pk"]),
        "comments": "A solid half-year.",
    },
    "appraisals:evaluation_approve": lambda w, k: {"approve-comment": "Agreed."},
    "appraisals:evaluation_return": lambda w, k: {
        "return-comment": "Rate the second goal against its target."
    },
    "appraisals:evaluation_assign": lambda w, k: {"reviewer": w.peer.pk},
    "appraisals:settings": lambda w, k: {
        "dual_approval": "on",
        "evaluation_days": "10",
        "calibration_shrinkage": "10",
        "calibration_guideline": "10,20,40,20,10",
        "calibration_tolerance": "5",
        "bands-TOTAL_FORMS": "1",
        "bands-INITIAL_FORMS": "0",
        "bands-MIN_NUM_FORMS": "0",
        "bands-MAX_NUM_FORMS": "20",
        "bands-0-min_attainment": "0",
        "bands-0-rating": "3",
    },
    "appraisals:appraisal_acknowledge": lambda w, k: {
        "version": _version(w, Appraisal, k["pk"]),
        "comment": "Read it, thank you.",
    },
    "appraisals:appraisal_reopen": lambda w, k: {
        "version": _version(w, Appraisal, k["pk"]),
        "reason": "A rating was entered on the wrong goal.",
    },
    "appraisals:bulk_finalise": lambda w, k: {
        "engagement": w.refs["engagement"],
        "expected": _selected(w, k["pk"], AppraisalProgressFilter),
    },
    "appraisals:bulk_remind": lambda w, k: {
        "engagement": w.refs["engagement"],
        "expected": _selected(w, k["pk"], EvaluationProgressFilter),
    },
    "appraisals:calibration_session_new": lambda w, k: {
        "cycle": w.refs["review_cycle"],
        "name": "Matrix round two",
        "scope": CalibrationScope.ORGANIZATION,
        "participants": [w.line_manager.pk],
    },
    "appraisals:calibration_move": lambda w, k: {
        "calibrated_final": "3.00",
        "reason": "Agreed in the matrix session.",
    },
    "appraisals:calibration_remove": lambda w, k: {
        "reason": "Agreed to keep the computed score."
    },
}


def _selected(world: World, cycle_pk: int, filters: type[FilterSet]) -> int:
    """How many rows the bulk action's button names on the cycle's list filtered by
    the world's engagement, as the page counts them (0 for a cycle that is not this
    organisation's)."""
    with tenant_context(world.org):
        cycle = ReviewCycle.objects.filter(pk=cycle_pk).first()
        if cycle is None:
            return 0
        appraisals = filters is AppraisalProgressFilter
        selected = filters(
            {"engagement": world.refs["engagement"]},
            queryset=progress.cycle_appraisals(cycle)
            if appraisals
            else progress.open_evaluations(cycle),
            cycle=cycle,
            today=timezone.localdate(),
            # The engagement filter is a picker: its choices are the HR admin's.
            request=SimpleNamespace(membership=world.members[Actor.HR_ADMIN]),
        ).qs
        return progress.ready_count(selected) if appraisals else selected.count()


def _version(world: World, model: Any, pk: int) -> str:
    """The ``version`` a form of the object would carry now (1 for ids that are not
    this organisation's)."""
    with tenant_context(world.org):
        found = model.objects.filter(pk=pk).values_list("version", flat=True).first()
    return str(found or 1)


def _reviews_reach(status: str) -> Callable[[World], None]:
    """The review cycle's reviews of ``self`` moved on to ``status`` (submitted once)."""

    def prepare(world: World) -> None:
        stamp = {
            EvaluationStatus.SUBMITTED: "submitted_at",
            EvaluationStatus.APPROVED: "approved_at",
        }[EvaluationStatus(status)]
        with tenant_context(world.org):
            Evaluation.objects.filter(pk__in=world.refs["reviews"]).update(
                status=status, submission=1, **{stamp: timezone.now()}
            )

    return prepare


def _finalise_the_appraisal(world: World) -> None:
    """Every review approved and ``self``'s appraisal final."""
    _reviews_reach(EvaluationStatus.APPROVED)(world)
    with tenant_context(world.org):
        Appraisal.objects.filter(pk=world.refs["appraisal"]).update(
            status=AppraisalStatus.FINALIZED, finalized_at=timezone.now()
        )


def _allow_early_evaluation(world: World) -> None:
    """The world's cycle in progress and evaluating early, and ``self``'s engagement
    plan there ended yesterday."""
    with tenant_context(world.org):
        ReviewCycle.objects.filter(pk=world.refs["cycle"]).update(
            status=CycleStatus.IN_PROGRESS, allow_early_evaluation=True
        )
        Plan.objects.filter(pk=world.refs["plans"][0]).update(
            end_date=timezone.localdate() - timedelta(days=1)
        )


def _score_the_appraisal(world: World) -> None:
    """Every review approved with each goal rated 4, and ``self``'s appraisal
    scored (a score to calibrate)."""
    _reviews_reach(EvaluationStatus.APPROVED)(world)
    with tenant_context(world.org):
        for evaluation in Evaluation.objects.filter(pk__in=world.refs["reviews"]):
            for goal in Goal.objects.filter(plan_id=evaluation.plan_id):
                GoalRating.objects.create(
                    organization=world.org,
                    evaluation=evaluation,
                    goal=goal,
                    value=Decimal(4),
                )
        recompute_appraisals([world.refs["appraisal"]])


def _adjust_the_appraisal(world: World) -> None:
    """``self``'s appraisal scored and calibrated to 3 in the world's session."""
    _score_the_appraisal(world)
    with tenant_context(world.org):
        set_adjustment(
            actor=world.members[Actor.HR_ADMIN],
            session=CalibrationSession.objects.get(
                pk=world.refs["calibration_session"]
            ),
            appraisal=Appraisal.objects.get(pk=world.refs["appraisal"]),
            calibrated_final=Decimal(3),
            reason="Set before the matrix removes it.",
        )


# Changes made before the request (inside the case's savepoint) for URLs that need
# another state than the world's to do their work.
PREPARE: dict[str, Prepare] = {
    "appraisals:evaluation_approve": _reviews_reach(EvaluationStatus.SUBMITTED),
    "appraisals:evaluation_return": _reviews_reach(EvaluationStatus.SUBMITTED),
    "appraisals:appraisal_finalise": _reviews_reach(EvaluationStatus.APPROVED),
    "appraisals:bulk_finalise": _reviews_reach(EvaluationStatus.APPROVED),
    "appraisals:appraisal_acknowledge": _finalise_the_appraisal,
    "appraisals:appraisal_reopen": _finalise_the_appraisal,
    "appraisals:open_early": _allow_early_evaluation,
    "appraisals:calibration_move": _score_the_appraisal,
    "appraisals:calibration_remove": _adjust_the_appraisal,
}
