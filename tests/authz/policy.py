"""The language of the authorisation policy: actors, targets, outcomes, ``UrlPolicy``
and the rows the per-app tables (``tests/authz/policies/<app>.py``) are written with.

``tests/authz/test_policy.py`` walks the URLconf and fails when a named URL is missing
from every app's table (or when a table names a URL that no longer exists); each
``tests/authz/test_<app>.py`` compares every (URL, query, method, target, actor)
combination of its app's table with the real response. Every refusal must change
nothing, every allowed POST to an entry that writes must change something.

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

Rules the tables encode (and ``tests/authz/test_policy.py`` checks against the
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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

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
    # What the URL's object kwargs point at (a key of ``targets.TARGET_KINDS``, which
    # turns it into kwargs for every target); None when the URL has none.
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


def plan_rows(
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


REFUSED = "refused"  # the method is refused whole (405), whatever the target


def object_rows(
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


def unlike_the_reviewer(
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


def get_only(rows: dict[tuple[str, Target], Row]) -> dict[tuple[str, Target], Row]:
    """``rows`` of a GET page whose POSTs are refused whole (405)."""
    return {
        **{key: row for key, row in rows.items() if key[0] == GET},
        **{(POST, target): GET_ONLY for method, target in rows if method == GET},
    }


def hr_only_page() -> dict[tuple[str, Target], Row]:
    """An HR-only page (GET only) that takes an object id, the role checked first."""
    return get_only(hr_only_object())
