"""The feedback part of the authorisation policy: what each of its named URLs answers
to whom (``POLICY``) and the body of each URL's POST (``POST_DATA``). Its URLs: feeds,
giving feedback and one piece of feedback, feedback requests and their asks, client
surveys and the public survey page. The language of the table is
``tests/authz/policy.py``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from django.utils import timezone

from feedback.enums import FeedbackKind, Visibility
from tests.authz.policy import (
    ALLOWED,
    APPROVER,
    BAD_TOKEN,
    CONTRIBUTOR,
    E400,
    E403,
    E404,
    EMPLOYEE_VISIBLE,
    ENGAGEMENT_VIEWERS,
    ENGAGEMENT_VISIBLE,
    FOREIGN,
    GENERAL_PLAN,
    GENERAL_PLAN_VISIBLE,
    GET,
    GET_ONLY,
    MEMBERS,
    NOBODY_FINDS_IT,
    NONE,
    OWN,
    POST,
    POST_ONLY,
    PRIVATE,
    REFUSED,
    VALID_TOKEN,
    A,
    Actor,
    Target,
    UrlPolicy,
    everyone,
    gated,
    get_only,
    object_rows,
    plan_rows,
    tenant_row,
    unlike_the_reviewer,
)
from tests.authz.world import PostBody

# Who reads each piece of feedback about ``self``: OWN is shared feedback the planner
# wrote on the engagement, PRIVATE managers-only feedback the planner wrote there,
# GENERAL_PLAN shared general feedback (no engagement) by the line manager. Readers:
# HR admins, the author, the subject (shared only), the subject's line manager and the
# engagement's reviewers and approvers; planners and contributors only what they wrote.
FEEDBACK_READERS: dict[Target, tuple[Actor, ...]] = {
    OWN: (A.HR_ADMIN, A.LINE_MANAGER, A.SELF, A.PLANNER, A.REVIEWER),
    PRIVATE: (A.HR_ADMIN, A.LINE_MANAGER, A.PLANNER, A.REVIEWER),
    GENERAL_PLAN: (A.HR_ADMIN, A.LINE_MANAGER, A.SELF),
}
FEEDBACK_AUTHORS: dict[Target, Actor] = {
    OWN: A.PLANNER,
    PRIVATE: A.PLANNER,
    GENERAL_PLAN: A.LINE_MANAGER,
}
# A feedback request about ``self`` on the engagement, which ``self`` made, with an
# ask of ``other_employee``: read by the requester, the subject, their line manager,
# the engagement's reviewers and approvers and HR admins (never by the requestees as
# such); only the requester cancels it, only the requestee answers or declines.
REQUEST_READERS = (A.HR_ADMIN, A.LINE_MANAGER, A.SELF, A.REVIEWER)


def _feedback(get: str, post: str) -> UrlPolicy:
    """A URL on one piece of feedback: per method "read" (its readers), "edit" (its
    author; other readers 403) or ``REFUSED``. Contributors read none of it."""

    def who(mode: str) -> Mapping[Target, tuple[Actor, ...]] | str:
        if mode == "read":
            return FEEDBACK_READERS
        if mode == "edit":
            return {t: (a,) for t, a in FEEDBACK_AUTHORS.items()}
        return REFUSED

    rows = object_rows(FEEDBACK_READERS, {GET: who(get), POST: who(post)})
    return UrlPolicy(
        target_kind="feedback",
        rows=rows,
        writes="edit" in (get, post),
        roles={CONTRIBUTOR: unlike_the_reviewer(rows, (OWN, PRIVATE), E404)},
    )


POLICY: dict[str, UrlPolicy] = {
    # --- /o/<org_slug>/ feedback: feeds, giving, one piece of feedback ----------------
    "feedback:my_feedback": UrlPolicy(
        # Every member; each tab lists only what the member may read.
        rows={(GET, NONE): MEMBERS, (POST, NONE): POST_ONLY},
        queries=("", "tab=written", "tab=team"),
    ),
    "feedback:preferences": UrlPolicy(
        # Every member switches their own optional e-mails (the form turns them off).
        rows={(GET, NONE): MEMBERS, (POST, NONE): MEMBERS},
        writes=True,
    ),
    "feedback:engagement_feed": UrlPolicy(
        target_kind="engagement",
        rows=get_only(
            {(GET, OWN): ENGAGEMENT_VISIBLE, (GET, FOREIGN): NOBODY_FINDS_IT}
        ),
    ),
    "feedback:give": UrlPolicy(
        # About ``self``: the role holders, their line manager and HR admins may;
        # ``self`` may write about teammates only, so naming themselves is a form
        # error (400).
        target_kind="engagement",
        rows={
            (GET, OWN): POST_ONLY,
            (GET, FOREIGN): POST_ONLY,
            (POST, OWN): tenant_row(
                E404,
                hr_admin=ALLOWED,
                line_manager=ALLOWED,
                self=E400,
                planner=ALLOWED,
                reviewer=ALLOWED,
            ),
            (POST, FOREIGN): NOBODY_FINDS_IT,
        },
        writes=True,
    ),
    "feedback:plan_feed": UrlPolicy(
        target_kind="plan",
        rows=plan_rows(ENGAGEMENT_VISIBLE, GENERAL_PLAN_VISIBLE, post=GET_ONLY),
    ),
    "feedback:employee_feed": UrlPolicy(
        target_kind="employee",
        rows=get_only({(GET, OWN): EMPLOYEE_VISIBLE, (GET, FOREIGN): NOBODY_FINDS_IT}),
    ),
    "feedback:employee_given": UrlPolicy(
        # A person's page section: whoever sees the person; the rows then follow
        # ``feedback_visible_to``.
        target_kind="employee",
        rows=get_only({(GET, OWN): EMPLOYEE_VISIBLE, (GET, FOREIGN): NOBODY_FINDS_IT}),
    ),
    "feedback:employee_requests": UrlPolicy(
        # A person's page section: whoever sees the person; the rows then follow
        # ``requests_visible_to``.
        target_kind="employee",
        rows=get_only({(GET, OWN): EMPLOYEE_VISIBLE, (GET, FOREIGN): NOBODY_FINDS_IT}),
    ),
    "feedback:give_general": UrlPolicy(
        # General feedback: the line manager and HR admins; nobody about themselves.
        target_kind="employee",
        rows={
            (GET, OWN): POST_ONLY,
            (GET, FOREIGN): POST_ONLY,
            (POST, OWN): gated(
                (A.HR_ADMIN, A.LINE_MANAGER, A.SELF),
                allowed=(A.HR_ADMIN, A.LINE_MANAGER),
            ),
            (POST, FOREIGN): NOBODY_FINDS_IT,
        },
        writes=True,
    ),
    "feedback:detail": _feedback(get="read", post=REFUSED),
    "feedback:edit": _feedback(get="edit", post="edit"),
    "feedback:withdraw": _feedback(get=REFUSED, post="edit"),
    # --- Feedback requests -------------------------------------------------------------
    "feedback:requests": UrlPolicy(
        rows={(GET, NONE): MEMBERS, (POST, NONE): POST_ONLY},
        queries=("", "tab=mine", "tab=team"),
    ),
    "feedback:home_requests": UrlPolicy(
        rows={(GET, NONE): MEMBERS, (POST, NONE): POST_ONLY},
    ),
    "feedback:request_create": UrlPolicy(
        # Asking about ``self``: ``self``, their line manager, the engagement's
        # reviewers and HR admins; for anyone else ``self`` is not a choice of the
        # form (400).
        rows={
            (GET, NONE): MEMBERS,
            (POST, NONE): tenant_row(
                E400,
                hr_admin=ALLOWED,
                line_manager=ALLOWED,
                self=ALLOWED,
                reviewer=ALLOWED,
            ),
        },
        writes=True,
        roles={
            APPROVER: {(POST, NONE): E400},
            CONTRIBUTOR: {(POST, NONE): E400},
        },
    ),
    "feedback:request_detail": UrlPolicy(
        target_kind="feedback_request",
        rows=get_only(
            {
                (GET, OWN): gated(REQUEST_READERS, allowed=REQUEST_READERS),
                (GET, FOREIGN): NOBODY_FINDS_IT,
            }
        ),
        roles={CONTRIBUTOR: {(GET, OWN): E404}},
    ),
    "feedback:request_cancel": UrlPolicy(
        target_kind="feedback_request",
        rows={
            (GET, OWN): POST_ONLY,
            (GET, FOREIGN): POST_ONLY,
            (POST, OWN): gated(REQUEST_READERS, allowed=(A.SELF,)),
            (POST, FOREIGN): NOBODY_FINDS_IT,
        },
        writes=True,
        roles={CONTRIBUTOR: {(POST, OWN): E404}},
    ),
    "feedback:ask_answer": UrlPolicy(
        # Its requestee only: nobody else may even learn that the ask exists.
        target_kind="feedback_ask",
        rows={
            (GET, OWN): tenant_row(E404, other_employee=ALLOWED),
            (GET, FOREIGN): NOBODY_FINDS_IT,
            (POST, OWN): tenant_row(E404, other_employee=ALLOWED),
            (POST, FOREIGN): NOBODY_FINDS_IT,
        },
        writes=True,
    ),
    "feedback:ask_decline": UrlPolicy(
        target_kind="feedback_ask",
        rows={
            (GET, OWN): POST_ONLY,
            (GET, FOREIGN): POST_ONLY,
            (POST, OWN): tenant_row(E404, other_employee=ALLOWED),
            (POST, FOREIGN): NOBODY_FINDS_IT,
        },
        writes=True,
    ),
    # --- Client satisfaction surveys -----------------------------------------------------
    "feedback:survey_list": UrlPolicy(
        # HR admins and the engagement's reviewers and approvers read the answers.
        target_kind="engagement",
        rows=get_only(
            {
                (GET, OWN): gated(ENGAGEMENT_VIEWERS, allowed=(A.HR_ADMIN, A.REVIEWER)),
                (GET, FOREIGN): NOBODY_FINDS_IT,
            }
        ),
        roles={CONTRIBUTOR: {(GET, OWN): E403}},
    ),
    "feedback:survey_send": UrlPolicy(
        # HR admins and the engagement's reviewers send them.
        target_kind="engagement",
        rows={
            (GET, OWN): gated(ENGAGEMENT_VIEWERS, allowed=(A.HR_ADMIN, A.REVIEWER)),
            (GET, FOREIGN): NOBODY_FINDS_IT,
            (POST, OWN): gated(ENGAGEMENT_VIEWERS, allowed=(A.HR_ADMIN, A.REVIEWER)),
            (POST, FOREIGN): NOBODY_FINDS_IT,
        },
        writes=True,
        roles={
            role: {(GET, OWN): E403, (POST, OWN): E403}
            for role in (APPROVER, CONTRIBUTOR)
        },
    ),
    "feedback:engagement_csat": UrlPolicy(
        target_kind="engagement",
        rows=get_only(
            {(GET, OWN): ENGAGEMENT_VISIBLE, (GET, FOREIGN): NOBODY_FINDS_IT}
        ),
    ),
    "feedback:employee_csat": UrlPolicy(
        target_kind="employee",
        rows=get_only({(GET, OWN): EMPLOYEE_VISIBLE, (GET, FOREIGN): NOBODY_FINDS_IT}),
    ),
    "survey:answer": UrlPolicy(
        # Outside any organisation: the signed link is the credential, whoever is
        # signed in; a tampered one gets the "not valid" page (400).
        target_kind="survey_token",
        rows={
            (GET, VALID_TOKEN): everyone(ALLOWED),
            (GET, BAD_TOKEN): everyone(E400),
            (POST, VALID_TOKEN): everyone(ALLOWED),
            (POST, BAD_TOKEN): everyone(E400),
        },
        writes=True,
    ),
}


# The body of each URL's POST: valid input, so that an allowed POST goes through.
# Each takes the world and the URL's kwargs.
POST_DATA: dict[str, PostBody] = {
    "feedback:preferences": lambda w, k: {"optional_emails": ""},
    "feedback:give": lambda w, k: {
        "subject": w.subject.pk,
        "kind": FeedbackKind.PRAISE,
        "body": "Clear write-up of the findings.",
        "visibility": Visibility.SHARED,
        "goal": "",
    },
    "feedback:give_general": lambda w, k: {
        "subject": w.subject.pk,
        "kind": FeedbackKind.NOTE,
        "body": "Good progress on the certification.",
        "visibility": Visibility.SHARED,
        "goal": "",
    },
    "feedback:edit": lambda w, k: {
        "kind": FeedbackKind.IMPROVEMENT,
        "body": "Edited: share the draft earlier.",
        "visibility": Visibility.MANAGERS_ONLY,
        "goal": "",
    },
    "feedback:request_create": lambda w, k: {
        "subject": w.subject.pk,
        "engagement": w.refs["engagement"],
        "requestees": [w.peer.pk],
        "due_date": (timezone.localdate() + timedelta(days=7)).isoformat(),
        "message": "How did the workshop go?",
        "questions": "",
    },
    "feedback:ask_answer": lambda w, k: {
        "answer_0": "The workshop ran well.",
        "kind": FeedbackKind.PRAISE,
        "visibility": Visibility.SHARED,
    },
    "feedback:ask_decline": lambda w, k: {"reason": "I was not on the workshop."},
    "feedback:survey_send": lambda w, k: {
        "contact_email": "dana@client.test",
        "contact_name": "Dana Client",
        "days_valid": "14",
    },
    "survey:answer": lambda w, k: {
        "overall": "4",
        f"rating_{w.subject.pk}": "5",
        "comment": "Helpful team.",
    },
}
