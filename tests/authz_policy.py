"""The declared authorisation policy: what every named URL answers to whom.

``tests/test_authorization_matrix.py`` walks the URLconf and fails when a named URL is
missing here (or when this table names a URL that no longer exists), then compares
every (URL, query, method, target, actor) combination below with the real response.
Every refusal must change nothing, every allowed POST to an entry that writes must
change something.

Reading the table
-----------------

Each entry names what the URL's object kwargs point at (``target_kind``) and has one
row per (method, target); a row holds one outcome per actor, in ``ACTORS`` order.
Rows are written with ``tenant_row``: the actors it names get the outcome given, every
other member of the organisation the first argument, anonymous callers the login page
and the outsider 404.

The actors and how they relate to the subject, ``self``:

``anonymous``       nobody signed in.
``hr_admin``        the organisation's HR admin.
``line_manager``    ``self``'s line manager (a manager).
``other_manager``   a manager of somebody else (``other_employee``).
``self``            an employee, staffed on *the engagement*: an engagement plan
                    there and a general plan, both with goals and key activities.
``other_employee``  a peer, staffed on *another engagement* of the organisation.
``planner``         holds the planner role on the engagement (``assign_role``).
``other_planner``   holds the planner role on the other engagement only.
``reviewer``        holds the reviewer role on the engagement, and is not staffed.
``outsider``        an HR admin of *another* organisation and a member of nothing else.

The reviewer stands for every engagement role but the planner's: the approver and the
contributor of the engagement (members of the world too) must answer exactly like the
reviewer, which a test of their own checks; the matrix stays fast. Where the product
gives them something else (the approver approves evaluations and reads client surveys;
the contributor reads no feedback but their own), the entry says so in ``roles``.

Targets: ``NONE`` (the URL has no object kwarg); ``OWN`` (an object of this
organisation: ``self``'s directory entry, the engagement, ``self``'s engagement plan
or its goal or key activity...); ``GENERAL_PLAN`` (the same kind of object on
``self``'s general plan); ``OTHER_PARENT`` (for URLs with two ids: this organisation's
parent with a child of another parent of this organisation, e.g. the engagement with
a role assignment of the other engagement); ``PRIVATE`` (a restricted twin of the
``OWN`` object, about ``self``: managers-only feedback on the engagement, ``self``'s
self-assessment while it is a draft); ``FOREIGN`` (objects of another
organisation) and, for links that carry a signed token, ``VALID_TOKEN`` /
``BAD_TOKEN``. Every ``FOREIGN`` row is also run with ids that exist nowhere
(``MISSING``) and must answer exactly like it (the same status and page): another
tenant's object looks like one that does not exist. An entry's ``queries`` are query
strings each GET is also made with, which must answer like the bare URL (the
engagement page's sections).

Rules the table encodes (and ``test_authorization_matrix`` checks against the
URLconf): under ``/o/<org_slug>/`` anonymous callers are sent to the login page and
non-members get 404, whatever the method or object. Employees are visible to HR admins
(all), to themselves and to their line manager. Engagements and engagement plans are
visible to HR admins, to the staffed employee, their line manager and the
engagement's role holders; general plans to HR admins, the employee and their line
manager. Invisible objects are 404, visible ones the caller may not change are 403.
Pages for HR admins only are 403 for the other roles; where such a page takes an
object id the role is checked *before* the lookup, so the 403 is the same for this
organisation's ids, another's and unknown ones and reveals nothing. Another
organisation's object is 404 for an HR admin.

Feedback is read by HR admins, its author, its subject (shared feedback only), the
subject's line manager and the engagement's reviewers and approvers; only its author
changes it. A feedback request is read by its requester, its subject, their line
manager, the engagement's reviewers and approvers and HR admins; an ask only by its
requestee. Evaluations are seen by HR admins, their writer, their approvers and the
employee's line manager; the employee sees their self-assessment, and the reviews once
the appraisal is final. Appraisals are seen by HR admins, the employee and their line
manager. Cycle pages, reviewer assignment and finalisation are HR admins' only.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

ORG_KWARG = "org_slug"


class Actor(StrEnum):
    ANONYMOUS = "anonymous"
    HR_ADMIN = "hr_admin"
    LINE_MANAGER = "line_manager"
    OTHER_MANAGER = "other_manager"
    SELF = "self"
    OTHER_EMPLOYEE = "other_employee"
    PLANNER = "planner"
    OTHER_PLANNER = "other_planner"
    REVIEWER = "reviewer"
    OUTSIDER = "outsider"


ACTORS: tuple[Actor, ...] = tuple(Actor)


class Target(StrEnum):
    NONE = "none"
    OWN = "own"
    GENERAL_PLAN = "general_plan"
    OTHER_PARENT = "other_parent"
    PRIVATE = "private"
    FOREIGN = "foreign"
    MISSING = "missing"
    VALID_TOKEN = "valid_token"
    BAD_TOKEN = "bad_token"


class Outcome(StrEnum):
    # 2xx or a 3xx other than the login page. A GET never changes anything; a POST
    # to an entry with ``writes=True`` must change something.
    ALLOWED = "allowed"
    # 2xx or 3xx, yet nothing changes: the view declines politely (a signed-in user
    # posting to the login page, the wrong account accepting an invitation, a
    # general plan that cannot be taken off an engagement).
    UNCHANGED = "unchanged"
    LOGIN = "login"  # 302 to the login page with ?next=<the requested path>
    FORBIDDEN = "403"
    NOT_FOUND = "404"
    METHOD_NOT_ALLOWED = "405"
    BAD_REQUEST = "400"  # a tampered signed link


ALLOWED = Outcome.ALLOWED
UNCHANGED = Outcome.UNCHANGED
LOGIN = Outcome.LOGIN
E400 = Outcome.BAD_REQUEST
E403 = Outcome.FORBIDDEN
E404 = Outcome.NOT_FOUND
E405 = Outcome.METHOD_NOT_ALLOWED

GET, POST = "GET", "POST"
NONE, OWN, FOREIGN = Target.NONE, Target.OWN, Target.FOREIGN
GENERAL_PLAN, OTHER_PARENT = Target.GENERAL_PLAN, Target.OTHER_PARENT
VALID_TOKEN, BAD_TOKEN = Target.VALID_TOKEN, Target.BAD_TOKEN
PRIVATE = Target.PRIVATE

# The engagement roles the reviewer stands for (``UrlPolicy.roles``), by their value.
APPROVER, CONTRIBUTOR = "approver", "contributor"

# One outcome per actor, in ``ACTORS`` order.
Row = tuple[Outcome, ...]


@dataclass(frozen=True)
class UrlPolicy:
    """What one named URL promises to every actor."""

    rows: dict[tuple[str, Target], Row]
    # What the URL's object kwargs point at (a key of the matrix's ``TARGET_KINDS``,
    # which turns it into kwargs for every target); None when the URL has none.
    target_kind: str | None = None
    # Whether an allowed POST changes state (and so must, in the matrix).
    writes: bool = False
    # Query strings each GET is also made with; each must answer like the bare URL.
    queries: tuple[str, ...] = ("",)
    # Where the engagement's approver or contributor answers unlike the reviewer:
    # by role (``APPROVER`` / ``CONTRIBUTOR``), the outcome of each such row.
    roles: Mapping[str, Mapping[tuple[str, Target], Outcome]] = field(
        default_factory=dict
    )

    def expected(self, method: str, target: Target, actor: Actor) -> Outcome:
        if target is Target.MISSING:
            target = Target.FOREIGN
        return self.rows[(method, target)][ACTORS.index(actor)]

    def expected_for_role(self, method: str, target: Target, role: str) -> Outcome:
        """The answer to the engagement's approver or contributor: the reviewer's,
        unless ``roles`` says otherwise."""
        override = self.roles.get(role, {}).get((method, target))
        return override or self.expected(method, target, Actor.REVIEWER)


def tenant_row(members: Outcome, **actors: Outcome) -> Row:
    """A row under /o/<org_slug>/: anonymous to the login page, outsiders 404, each
    actor named in ``actors`` (by its value) as given, every other member ``members``."""
    unknown = set(actors) - {a.value for a in ACTORS}
    fixed = {Actor.ANONYMOUS.value, Actor.OUTSIDER.value} & set(actors)
    if unknown or fixed:
        raise ValueError(f"tenant_row cannot set {sorted(unknown | fixed)}")
    outcomes = {Actor.ANONYMOUS: LOGIN, Actor.OUTSIDER: E404}
    return tuple(
        outcomes.get(actor, actors.get(actor.value, members)) for actor in ACTORS
    )


def gated(viewers: Iterable[Actor], allowed: Iterable[Actor]) -> Row:
    """An object behind an access gate: 404 for members who cannot see it, 403 for
    ``viewers`` who may not do this, allowed for ``allowed`` (all among ``viewers``)."""
    viewers, allowed = tuple(viewers), tuple(allowed)
    if not set(allowed) <= set(viewers):
        raise ValueError("Only a viewer can be allowed.")
    return tenant_row(
        E404, **{a.value: ALLOWED if a in allowed else E403 for a in viewers}
    )


def everyone(outcome: Outcome) -> Row:
    return (outcome,) * len(ACTORS)


def signed_in(anonymous: Outcome, outcome: Outcome) -> Row:
    """A row outside any organisation: anonymous, then every signed-in actor alike."""
    return (anonymous,) + (outcome,) * (len(ACTORS) - 1)


A = Actor
MEMBERS = tenant_row(ALLOWED)
HR_ONLY = tenant_row(E403, hr_admin=ALLOWED)
# An HR-only list page that only answers GET.
HR_ONLY_GET = tenant_row(E403, hr_admin=E405)
HR_ONLY_NOT_FOUND = tenant_row(E403, hr_admin=E404)
NOBODY_FINDS_IT = tenant_row(E404)
POST_ONLY = tenant_row(E405)
GET_ONLY = POST_ONLY
EMPLOYEE_VISIBLE = gated(
    viewers=(A.HR_ADMIN, A.LINE_MANAGER, A.SELF),
    allowed=(A.HR_ADMIN, A.LINE_MANAGER, A.SELF),
)
EMPLOYEE_CHANGEABLE = gated(
    viewers=(A.HR_ADMIN, A.LINE_MANAGER, A.SELF), allowed=(A.HR_ADMIN,)
)

# Who sees the engagement, and self's engagement plan with its goals and activities.
ENGAGEMENT_VIEWERS = (
    A.HR_ADMIN,
    A.LINE_MANAGER,
    A.SELF,
    A.PLANNER,
    A.REVIEWER,
)
# Who sees self's general plan with its goals and activities.
GENERAL_PLAN_VIEWERS = (A.HR_ADMIN, A.LINE_MANAGER, A.SELF)

ENGAGEMENT_VISIBLE = gated(ENGAGEMENT_VIEWERS, allowed=ENGAGEMENT_VIEWERS)
ENGAGEMENT_PLANNERS = gated(ENGAGEMENT_VIEWERS, allowed=(A.HR_ADMIN, A.PLANNER))
GENERAL_PLAN_VISIBLE = gated(GENERAL_PLAN_VIEWERS, allowed=GENERAL_PLAN_VIEWERS)
# Plan editors: HR, the engagement's planners (engagement plans), the line manager
# (general plans).
GENERAL_PLAN_EDITORS = gated(GENERAL_PLAN_VIEWERS, allowed=(A.HR_ADMIN, A.LINE_MANAGER))
# Progress (check-ins, ticking key activities): the plan's employee and its editors.
ENGAGEMENT_PLAN_CHECK_IN = gated(
    ENGAGEMENT_VIEWERS, allowed=(A.HR_ADMIN, A.PLANNER, A.SELF)
)
GENERAL_PLAN_CHECK_IN = gated(
    GENERAL_PLAN_VIEWERS, allowed=(A.HR_ADMIN, A.LINE_MANAGER, A.SELF)
)


def hr_only_object(
    *, post_only: bool = False, other_parent: bool = False
) -> dict[tuple[str, Target], Row]:
    """Rows of an HR-only page that takes an object id, the role checked before the
    lookup: 403 for other members whatever the id, 404 for HR admins on ids that are
    not this organisation's (or, with ``other_parent``, not this parent's)."""
    targets = [(OWN, HR_ONLY), (FOREIGN, HR_ONLY_NOT_FOUND)]
    if other_parent:
        targets.append((OTHER_PARENT, HR_ONLY_NOT_FOUND))
    rows: dict[tuple[str, Target], Row] = {}
    for target, row in targets:
        rows[(GET, target)] = POST_ONLY if post_only else row
        rows[(POST, target)] = row
    return rows


def _plan_rows(
    own: Row, general: Row, *, get: Row | None = None, post: Row | None = None
) -> dict[tuple[str, Target], Row]:
    """Rows of a plan, goal or key activity URL: ``own`` on self's engagement plan,
    ``general`` on their general plan, for the methods that are not refused whole
    (``get`` / ``post``: the row every target gets for that method instead)."""
    rows: dict[tuple[str, Target], Row] = {}
    for method, fixed in ((GET, get), (POST, post)):
        if fixed is not None:
            for target in (OWN, GENERAL_PLAN, FOREIGN):
                rows[(method, target)] = fixed
        else:
            rows[(method, OWN)] = own
            rows[(method, GENERAL_PLAN)] = general
            rows[(method, FOREIGN)] = NOBODY_FINDS_IT
    return rows


# --- Feedback, feedback requests, evaluations ------------------------------------------

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
REFUSED = "refused"  # the method is refused whole (405), whatever the target


def _object_rows(
    viewers: Mapping[Target, tuple[Actor, ...]],
    allowed: Mapping[str, Mapping[Target, tuple[Actor, ...]] | str],
) -> dict[tuple[str, Target], Row]:
    """Rows of a URL on one object behind its gate, for each of ``viewers``'
    targets and FOREIGN: per method, who is allowed (other viewers 403, everyone
    else 404), or ``REFUSED``."""
    rows: dict[tuple[str, Target], Row] = {}
    for method, who in allowed.items():
        for target, seeing in viewers.items():
            rows[(method, target)] = (
                POST_ONLY if isinstance(who, str) else gated(seeing, who[target])
            )
        rows[(method, FOREIGN)] = POST_ONLY if isinstance(who, str) else NOBODY_FINDS_IT
    return rows


def _unlike_the_reviewer(
    rows: Mapping[tuple[str, Target], Row],
    targets: Iterable[Target],
    outcome: Outcome,
) -> dict[tuple[str, Target], Outcome]:
    """``outcome`` for every row of ``targets`` where the reviewer gets neither it nor
    405: what a role without the reviewer's rights there gets instead."""
    reviewer = ACTORS.index(A.REVIEWER)
    return {
        key: outcome
        for key, row in rows.items()
        if key[1] in targets and row[reviewer] not in (outcome, E405)
    }


def _feedback(get: str, post: str) -> UrlPolicy:
    """A URL on one piece of feedback: per method "read" (its readers), "edit" (its
    author; other readers 403) or ``REFUSED``. Contributors read none of it."""

    def who(mode: str) -> Mapping[Target, tuple[Actor, ...]] | str:
        if mode == "read":
            return FEEDBACK_READERS
        if mode == "edit":
            return {t: (a,) for t, a in FEEDBACK_AUTHORS.items()}
        return REFUSED

    rows = _object_rows(FEEDBACK_READERS, {GET: who(get), POST: who(post)})
    return UrlPolicy(
        target_kind="feedback",
        rows=rows,
        writes="edit" in (get, post),
        roles={CONTRIBUTOR: _unlike_the_reviewer(rows, (OWN, PRIVATE), E404)},
    )


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
    rows = _object_rows(EVALUATION_VIEWERS, allowed)
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
            CONTRIBUTOR: _unlike_the_reviewer(rows, (OWN,), E404),
        },
    )


def _get_only(rows: dict[tuple[str, Target], Row]) -> dict[tuple[str, Target], Row]:
    """``rows`` of a GET page whose POSTs are refused whole (405)."""
    return {
        **{key: row for key, row in rows.items() if key[0] == GET},
        **{(POST, target): GET_ONLY for method, target in rows if method == GET},
    }


def hr_only_page() -> dict[tuple[str, Target], Row]:
    """An HR-only page (GET only) that takes an object id, the role checked first."""
    return _get_only(hr_only_object())


POLICY: dict[str, UrlPolicy] = {
    # --- Outside any organisation ---------------------------------------------------
    "home": UrlPolicy(
        # Signed-in users are sent to their organisation (or a switcher).
        rows={
            (GET, NONE): signed_in(LOGIN, ALLOWED),
            (POST, NONE): signed_in(LOGIN, ALLOWED),
        },
    ),
    "healthz": UrlPolicy(
        rows={(GET, NONE): everyone(ALLOWED), (POST, NONE): everyone(E405)},
    ),
    "login": UrlPolicy(
        # Anonymous POSTs valid credentials and is signed in; a signed-in user is
        # redirected away without signing in again.
        rows={
            (GET, NONE): everyone(ALLOWED),
            (POST, NONE): signed_in(ALLOWED, UNCHANGED),
        },
        writes=True,
    ),
    "logout": UrlPolicy(
        rows={
            (GET, NONE): everyone(E405),
            (POST, NONE): signed_in(UNCHANGED, ALLOWED),
        },
        writes=True,
    ),
    "password_change": UrlPolicy(
        rows={
            (GET, NONE): signed_in(LOGIN, ALLOWED),
            (POST, NONE): signed_in(LOGIN, ALLOWED),
        },
        writes=True,
    ),
    "password_change_done": UrlPolicy(
        rows={
            (GET, NONE): signed_in(LOGIN, ALLOWED),
            (POST, NONE): signed_in(LOGIN, E405),
        },
    ),
    "password_reset": UrlPolicy(
        # Anyone may ask for a reset e-mail; it goes to the account's own address.
        rows={(GET, NONE): everyone(ALLOWED), (POST, NONE): everyone(ALLOWED)},
        writes=True,
    ),
    "password_reset_done": UrlPolicy(
        rows={(GET, NONE): everyone(ALLOWED), (POST, NONE): everyone(E405)},
    ),
    "password_reset_confirm": UrlPolicy(
        # A valid link moves its token into the session and redirects to the form;
        # a bad one shows the "link is not valid" page. Neither changes a password.
        target_kind="password_reset_token",
        rows={
            (GET, VALID_TOKEN): everyone(ALLOWED),
            (GET, BAD_TOKEN): everyone(UNCHANGED),
            (POST, VALID_TOKEN): everyone(ALLOWED),
            (POST, BAD_TOKEN): everyone(UNCHANGED),
        },
    ),
    "password_reset_complete": UrlPolicy(
        rows={(GET, NONE): everyone(ALLOWED), (POST, NONE): everyone(E405)},
    ),
    "invitation_accept": UrlPolicy(
        # The signed link is the credential. A new person signs up through it; a
        # signed-in account with another e-mail address is told so, and nothing
        # changes.
        target_kind="invitation_token",
        rows={
            (GET, VALID_TOKEN): everyone(ALLOWED),
            (GET, BAD_TOKEN): everyone(E400),
            (POST, VALID_TOKEN): signed_in(ALLOWED, UNCHANGED),
            (POST, BAD_TOKEN): everyone(E400),
        },
        writes=True,
    ),
    # --- /o/<org_slug>/ -----------------------------------------------------------------
    "organizations:home": UrlPolicy(
        # The view ignores the method; a POST renders the page and changes nothing.
        rows={(GET, NONE): MEMBERS, (POST, NONE): MEMBERS},
    ),
    "organizations:people": UrlPolicy(
        rows={
            (GET, NONE): HR_ONLY,
            (POST, NONE): HR_ONLY_GET,
        },
    ),
    "organizations:employee_create": UrlPolicy(
        rows={(GET, NONE): HR_ONLY, (POST, NONE): HR_ONLY},
        writes=True,
    ),
    "organizations:employee_detail": UrlPolicy(
        target_kind="employee",
        rows={
            (GET, OWN): EMPLOYEE_VISIBLE,
            (GET, FOREIGN): NOBODY_FINDS_IT,
            (POST, OWN): EMPLOYEE_VISIBLE,
            (POST, FOREIGN): NOBODY_FINDS_IT,
        },
    ),
    "organizations:employee_edit": UrlPolicy(
        target_kind="employee",
        rows={
            (GET, OWN): EMPLOYEE_CHANGEABLE,
            (GET, FOREIGN): NOBODY_FINDS_IT,
            (POST, OWN): EMPLOYEE_CHANGEABLE,
            (POST, FOREIGN): NOBODY_FINDS_IT,
        },
        writes=True,
    ),
    "organizations:employee_set_active": UrlPolicy(
        target_kind="employee",
        rows={
            (GET, OWN): POST_ONLY,
            (GET, FOREIGN): POST_ONLY,
            (POST, OWN): EMPLOYEE_CHANGEABLE,
            (POST, FOREIGN): NOBODY_FINDS_IT,
        },
        writes=True,
    ),
    "organizations:invitations": UrlPolicy(
        rows={(GET, NONE): HR_ONLY, (POST, NONE): HR_ONLY},
        writes=True,
    ),
    "organizations:invitation_revoke": UrlPolicy(
        target_kind="invitation", rows=hr_only_object(post_only=True), writes=True
    ),
    "organizations:settings": UrlPolicy(
        rows={(GET, NONE): HR_ONLY, (POST, NONE): HR_ONLY},
        writes=True,
    ),
    "organizations:business_units": UrlPolicy(
        rows={(GET, NONE): HR_ONLY, (POST, NONE): HR_ONLY},
        writes=True,
    ),
    "organizations:business_unit_edit": UrlPolicy(
        target_kind="business_unit", rows=hr_only_object(), writes=True
    ),
    "organizations:job_titles": UrlPolicy(
        rows={(GET, NONE): HR_ONLY, (POST, NONE): HR_ONLY},
        writes=True,
    ),
    "organizations:job_title_edit": UrlPolicy(
        target_kind="job_title", rows=hr_only_object(), writes=True
    ),
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
    "engagements:plan_detail": UrlPolicy(
        target_kind="plan",
        rows=_plan_rows(ENGAGEMENT_VISIBLE, GENERAL_PLAN_VISIBLE, post=GET_ONLY),
    ),
    "engagements:plan_edit": UrlPolicy(
        target_kind="plan",
        rows=_plan_rows(ENGAGEMENT_PLANNERS, GENERAL_PLAN_EDITORS),
        writes=True,
    ),
    "engagements:plan_activate": UrlPolicy(
        target_kind="plan",
        rows=_plan_rows(ENGAGEMENT_PLANNERS, GENERAL_PLAN_EDITORS, get=POST_ONLY),
        writes=True,
    ),
    "engagements:plan_normalise": UrlPolicy(
        target_kind="plan",
        rows=_plan_rows(ENGAGEMENT_PLANNERS, GENERAL_PLAN_EDITORS, get=POST_ONLY),
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
        rows=_plan_rows(ENGAGEMENT_PLANNERS, GENERAL_PLAN_EDITORS),
        writes=True,
    ),
    "engagements:goal_detail": UrlPolicy(
        target_kind="goal",
        rows=_plan_rows(ENGAGEMENT_VISIBLE, GENERAL_PLAN_VISIBLE, post=GET_ONLY),
    ),
    "engagements:goal_edit": UrlPolicy(
        target_kind="goal",
        rows=_plan_rows(ENGAGEMENT_PLANNERS, GENERAL_PLAN_EDITORS),
        writes=True,
    ),
    "engagements:goal_delete": UrlPolicy(
        target_kind="goal",
        rows=_plan_rows(ENGAGEMENT_PLANNERS, GENERAL_PLAN_EDITORS, get=POST_ONLY),
        writes=True,
    ),
    "engagements:activity_create": UrlPolicy(
        target_kind="goal",
        rows=_plan_rows(ENGAGEMENT_PLANNERS, GENERAL_PLAN_EDITORS, get=POST_ONLY),
        writes=True,
    ),
    "engagements:activity_toggle": UrlPolicy(
        target_kind="activity",
        rows=_plan_rows(ENGAGEMENT_PLAN_CHECK_IN, GENERAL_PLAN_CHECK_IN, get=POST_ONLY),
        writes=True,
    ),
    "engagements:checkin_create": UrlPolicy(
        target_kind="goal",
        rows=_plan_rows(ENGAGEMENT_PLAN_CHECK_IN, GENERAL_PLAN_CHECK_IN),
        writes=True,
    ),
    # --- Competencies on plans and templates, engagement types --------------------------
    "engagements:plan_competencies": UrlPolicy(
        # The plan page's competency section (a page of its own without HTMX).
        target_kind="plan",
        rows=_plan_rows(ENGAGEMENT_VISIBLE, GENERAL_PLAN_VISIBLE, post=GET_ONLY),
    ),
    "engagements:plan_competency_add": UrlPolicy(
        target_kind="plan",
        rows=_plan_rows(ENGAGEMENT_PLANNERS, GENERAL_PLAN_EDITORS, get=POST_ONLY),
        writes=True,
    ),
    "engagements:plan_competency_update": UrlPolicy(
        target_kind="plan_competency",
        rows=_plan_rows(ENGAGEMENT_PLANNERS, GENERAL_PLAN_EDITORS, get=POST_ONLY),
        writes=True,
    ),
    "engagements:plan_competency_remove": UrlPolicy(
        target_kind="plan_competency",
        rows=_plan_rows(ENGAGEMENT_PLANNERS, GENERAL_PLAN_EDITORS, get=POST_ONLY),
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
    # --- /o/<org_slug>/ competencies: rating scales, the library, competency sets --------
    "competencies:scales": UrlPolicy(
        rows={(GET, NONE): HR_ONLY, (POST, NONE): HR_ONLY_GET},
    ),
    "competencies:scale_create": UrlPolicy(
        rows={(GET, NONE): HR_ONLY, (POST, NONE): HR_ONLY},
        writes=True,
    ),
    "competencies:scale_edit": UrlPolicy(
        target_kind="scale", rows=hr_only_object(), writes=True
    ),
    "competencies:scale_set_default": UrlPolicy(
        target_kind="scale", rows=hr_only_object(post_only=True), writes=True
    ),
    "competencies:scale_copy": UrlPolicy(
        target_kind="scale", rows=hr_only_object(post_only=True), writes=True
    ),
    "competencies:competencies": UrlPolicy(
        # The library: every member reads it.
        rows={(GET, NONE): MEMBERS, (POST, NONE): POST_ONLY},
    ),
    "competencies:competency_create": UrlPolicy(
        rows={(GET, NONE): HR_ONLY, (POST, NONE): HR_ONLY},
        writes=True,
    ),
    "competencies:categories": UrlPolicy(
        rows={(GET, NONE): HR_ONLY, (POST, NONE): HR_ONLY},
        writes=True,
    ),
    "competencies:competency_detail": UrlPolicy(
        # Every member. The view ignores the method; a POST renders the page and
        # changes nothing.
        target_kind="competency",
        rows={
            (GET, OWN): MEMBERS,
            (GET, FOREIGN): NOBODY_FINDS_IT,
            (POST, OWN): MEMBERS,
            (POST, FOREIGN): NOBODY_FINDS_IT,
        },
    ),
    "competencies:competency_edit": UrlPolicy(
        target_kind="competency", rows=hr_only_object(), writes=True
    ),
    "competencies:competency_archive": UrlPolicy(
        target_kind="competency", rows=hr_only_object(post_only=True), writes=True
    ),
    "competencies:competency_delete": UrlPolicy(
        # The world's competency is in use nowhere, so HR admins may delete it.
        target_kind="competency",
        rows=hr_only_object(post_only=True),
        writes=True,
    ),
    "competencies:competency_sets": UrlPolicy(
        rows={(GET, NONE): HR_ONLY, (POST, NONE): HR_ONLY},
        writes=True,
    ),
    "competencies:competency_set_detail": UrlPolicy(
        target_kind="competency_set", rows=hr_only_object(), writes=True
    ),
    "competencies:competency_set_item_add": UrlPolicy(
        target_kind="competency_set", rows=hr_only_object(post_only=True), writes=True
    ),
    "competencies:competency_set_item_update": UrlPolicy(
        # OTHER_PARENT: an item of another set, under this one.
        target_kind="set_item",
        rows=hr_only_object(post_only=True, other_parent=True),
        writes=True,
    ),
    "competencies:competency_set_item_remove": UrlPolicy(
        target_kind="set_item",
        rows=hr_only_object(post_only=True, other_parent=True),
        writes=True,
    ),
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
        rows=_get_only(
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
        rows=_plan_rows(ENGAGEMENT_VISIBLE, GENERAL_PLAN_VISIBLE, post=GET_ONLY),
    ),
    "feedback:employee_feed": UrlPolicy(
        target_kind="employee",
        rows=_get_only({(GET, OWN): EMPLOYEE_VISIBLE, (GET, FOREIGN): NOBODY_FINDS_IT}),
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
        rows=_get_only(
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
        rows=_get_only(
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
        rows=_get_only(
            {(GET, OWN): ENGAGEMENT_VISIBLE, (GET, FOREIGN): NOBODY_FINDS_IT}
        ),
    ),
    "feedback:employee_csat": UrlPolicy(
        target_kind="employee",
        rows=_get_only({(GET, OWN): EMPLOYEE_VISIBLE, (GET, FOREIGN): NOBODY_FINDS_IT}),
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
        rows=_plan_rows(ENGAGEMENT_VISIBLE, GENERAL_PLAN_VISIBLE, post=GET_ONLY),
    ),
    # --- Appraisals ----------------------------------------------------------------------
    "appraisals:my_appraisals": UrlPolicy(
        rows={(GET, NONE): MEMBERS, (POST, NONE): POST_ONLY},
    ),
    "appraisals:home_appraisals": UrlPolicy(
        # Without HTMX it redirects to the member's appraisals.
        rows={(GET, NONE): MEMBERS, (POST, NONE): POST_ONLY},
    ),
    "appraisals:appraisal_detail": UrlPolicy(
        # ``self``'s appraisal: HR admins, ``self`` and their line manager; nobody
        # else, engagement roles included.
        target_kind="appraisal",
        rows=_get_only({(GET, OWN): EMPLOYEE_VISIBLE, (GET, FOREIGN): NOBODY_FINDS_IT}),
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
        target_kind="review_cycle", rows=hr_only_page()
    ),
    "appraisals:bulk_finalise": UrlPolicy(
        # ``PREPARE``: every review approved, so the appraisal is ready.
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
}


# --- The URLconf the table must cover ------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str | None
    route: str
    kwargs: frozenset[str]


def _walk(
    patterns: list[Any],
    namespace: str = "",
    prefix: str = "",
    kwargs: frozenset[str] = frozenset(),
) -> Iterator[Route]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        # Named groups of path() converters and re_path() regexes alike.
        names = kwargs | frozenset(pattern.pattern.regex.groupindex)
        if isinstance(pattern, URLResolver):
            inner = (
                f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            )
            yield from _walk(pattern.url_patterns, inner, route, names)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}{pattern.name}" if pattern.name else None
            yield Route(name=name, route=route, kwargs=names)


def url_routes() -> list[Route]:
    """Every URL pattern the project serves, with its full name and kwargs."""
    return list(_walk(get_resolver().url_patterns))


@functools.cache
def named_routes() -> dict[str, Route]:
    return {r.name: r for r in url_routes() if r.name is not None}
