"""Who reads which feedback and which feedback request, and the access gates.

``feedback_visible_to`` and ``requests_visible_to`` are *the* definitions of who
reads what; every feed, list, filter and detail page starts from them. The gates
(``get_feedback_for``, ``get_request_for``, ``get_ask_for``) answer 404 when the
object is not visible (another organisation's looks exactly like one that does not
exist) and 403 when it is visible but the action is refused, by
``feedback.permissions.can``.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.http import Http404

from engagements.models import Engagement
from engagements.permissions import load_access
from feedback.enums import Visibility
from feedback.models import Feedback, FeedbackAsk, FeedbackRequest
from feedback.permissions import READER_PERMS, Action, can
from organizations.http import TenantRequest
from organizations.models import Employee, Membership
from organizations.permissions import Access

# Related rows a request's pages show; the request gate returns them loaded.
REQUEST_RELATED = ("subject__line_manager", "engagement__client", "requested_by")


# --- Who the member is to a row, in SQL --------------------------------------------
#
# For members other than HR admins each rule is a union of branches, written as SQL
# built once per process (Django compiling the same rule as nested querysets cost
# more than running it). Each branch starts from an index on the member (their
# directory entry, their direct reports, their permission rows) and reaches the rows
# through an index of the row's table on the organisation and one column; the rows
# are then fetched by primary key. An OR across joins would instead make PostgreSQL
# read and join the organisation's whole table and test every row. Row-level
# security applies to this SQL as to any other; each branch also names the
# organisation. ``src`` is the row of the branch's table.
# ``tests/feedback/test_visibility_rule.py`` compares every rule with the same rule
# written as one Django condition.

# The member's directory entry (none, or one per organisation).
ME = (
    "SELECT me.id FROM organizations_employee me"
    " WHERE me.organization_id = %(organization)s AND me.user_id = %(user)s"
)
# The member's direct reports.
REPORTS = (
    "SELECT rep.id FROM organizations_employee rep"  # noqa: S608 - constants only
    " WHERE rep.organization_id = %(organization)s"
    f" AND rep.line_manager_id IN ({ME})"
)
# Engagements on which the member holds a reader permission (``READER_PERMS``) as a
# guardian object permission, directly or through a group: the union of
# ``engagements.selectors.access.engagements_with_perm`` over those permissions.
# Model-wide and superuser permissions do not count (docs/security.md). Read from the
# permission rows alone: an id of another organisation's engagement matches none of
# this organisation's rows.
_HELD = (
    " JOIN auth_permission perm ON perm.id = op.permission_id"
    " WHERE op.content_type_id = %(engagement_type)s"
    " AND perm.content_type_id = %(engagement_type)s"
    " AND perm.codename IN (%(review)s, %(approve)s)"
)
READS_ON = (
    "SELECT CAST(op.object_pk AS bigint) FROM guardian_userobjectpermission op"  # noqa: S608 - constants only
    f"{_HELD} AND op.user_id = %(user)s"
    " UNION SELECT CAST(op.object_pk AS bigint) FROM guardian_groupobjectpermission op"
    " JOIN organizations_user_groups ug ON ug.group_id = op.group_id"
    f"{_HELD} AND ug.user_id = %(user)s"
)
NOT_ABOUT_ME = f"src.subject_id NOT IN ({ME})"

FEEDBACK_BRANCHES = {
    "author": f"src.author_id IN ({ME})",
    "shared_with": f"src.subject_id IN ({ME}) AND src.visibility = %(shared)s",
    "line_manager": f"src.subject_id IN ({REPORTS}) AND {NOT_ABOUT_ME}",
    "reader": f"src.engagement_id IN ({READS_ON}) AND {NOT_ABOUT_ME}",
}
NOT_MINE = f"src.requested_by_id NOT IN ({ME}) AND {NOT_ABOUT_ME}"
REQUEST_BRANCHES = {
    "requester": f"src.requested_by_id IN ({ME})",
    "subject": f"src.subject_id IN ({ME})",
    "line_manager": f"src.subject_id IN ({REPORTS})",
    "reader": f"src.engagement_id IN ({READS_ON})",
    "line_manager_of_others": f"src.subject_id IN ({REPORTS}) AND {NOT_MINE}",
    "reader_of_others": f"src.engagement_id IN ({READS_ON}) AND {NOT_MINE}",
}
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@cache
def _statement(table: str, branches: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """The ids of ``table``'s rows matching any of ``branches`` (``UNION ALL``), with
    positional placeholders and the names of the values they stand for, in order."""
    named = " UNION ALL ".join(
        f"SELECT src.id FROM {table} src"  # noqa: S608 - a model's table, constants
        f" WHERE src.organization_id = %(organization)s AND {branch}"
        for branch in branches
    )
    return _PLACEHOLDER.sub("%s", named), tuple(_PLACEHOLDER.findall(named))


def _one_of(
    model: type[Feedback] | type[FeedbackRequest],
    membership: Membership,
    *branches: str,
) -> Q:
    """``pk IN (branch UNION ALL branch ...)`` for ``membership``: no query of its
    own."""
    sql, names = _statement(model._meta.db_table, branches)
    values = {
        "organization": membership.organization_id,
        "user": membership.user_id,
        "engagement_type": ContentType.objects.get_for_model(Engagement).pk,
        "review": READER_PERMS[0],
        "approve": READER_PERMS[1],
        "shared": Visibility.SHARED.value,
    }
    # This module's statement; the member's values are parameters.
    return Q(pk__in=RawSQL(sql, [values[name] for name in names]))  # noqa: S611


def _entry_of(membership: Membership) -> QuerySet[Employee, Any]:
    """The member's directory entry (at most one per organisation), as a subquery of
    its id."""
    return Employee.objects.filter(user_id=membership.user_id).values("pk")


# --- Feedback ------------------------------------------------------------------------


def feedback_visible_to(membership: Membership) -> QuerySet[Feedback]:
    """The feedback the member may read; never withdrawn feedback.

    HR admins: all. Authors: their own. The subject: what was shared with them. The
    subject's line manager: all about their direct reports. Reviewers and approvers
    of an engagement: all on it. Planners, contributors and teammates: only what they
    wrote. Nobody, HR admins included, reads managers-only feedback about themselves.
    Builds a queryset only; for others than HR admins its cost follows what the
    member reads, not the organisation's size (the SQL above).
    """
    qs = Feedback.objects.filter(withdrawn_at__isnull=True)
    if membership.is_hr_admin:
        return qs.exclude(
            subject__in=_entry_of(membership), visibility=Visibility.MANAGERS_ONLY
        )
    return qs.filter(
        _one_of(
            Feedback,
            membership,
            FEEDBACK_BRANCHES["author"],
            FEEDBACK_BRANCHES["shared_with"],
            FEEDBACK_BRANCHES["line_manager"],
            FEEDBACK_BRANCHES["reader"],
        )
    )


def feedback_shared_with(membership: Membership) -> QuerySet[Feedback]:
    """The "About me" tab: the feedback about the member they may read, which is
    what was shared with them (``feedback_visible_to`` narrowed to them as its
    subject). Builds a queryset only; served by the index on the subject."""
    return Feedback.objects.filter(
        withdrawn_at__isnull=True,
        subject__in=_entry_of(membership),
        visibility=Visibility.SHARED,
    )


def feedback_written_by(membership: Membership) -> QuerySet[Feedback]:
    """The "Written by me" tab: the member's own feedback, not withdrawn
    (``feedback_visible_to`` narrowed to them as its author: nobody writes about
    themselves). Builds a queryset only; served by the index on the author."""
    return Feedback.objects.filter(
        withdrawn_at__isnull=True, author__in=_entry_of(membership)
    )


def team_feedback(membership: Membership) -> QuerySet[Feedback]:
    """What the member reads because they manage, review, approve or run HR: the
    "My team and engagements" tab. Builds a queryset only (as
    ``feedback_visible_to``)."""
    qs = Feedback.objects.filter(withdrawn_at__isnull=True)
    if membership.is_hr_admin:
        return qs.exclude(subject__in=_entry_of(membership))
    return qs.filter(
        _one_of(
            Feedback,
            membership,
            FEEDBACK_BRANCHES["line_manager"],
            FEEDBACK_BRANCHES["reader"],
        )
    )


def get_feedback_for(request: TenantRequest, pk: int, perm: str = "view") -> Feedback:
    """The feedback ``pk`` if the caller may read it (else 404); ``perm`` "view" or
    "edit" (edit and withdraw: its author only, else 403). The edit window is the
    service's to check, so that it can explain itself. One query."""
    if perm not in ("view", "edit"):
        raise ValueError(f"Unknown permission {perm!r}.")
    membership = request.membership
    feedback = (
        feedback_visible_to(membership)
        .select_related("author", "subject__line_manager", "engagement", "goal")
        .filter(pk=pk)
        .first()
    )
    if feedback is None:
        raise Http404("No such feedback.")
    if perm == "edit" and not can(Access(membership), Action.EDIT, feedback):
        raise PermissionDenied
    return feedback


# --- Feedback requests ---------------------------------------------------------------


def requests_visible_to(membership: Membership) -> QuerySet[FeedbackRequest]:
    """*The* definition of who reads which request (``can(access, "view_request",
    request)`` says the same of one): HR admins all; others those they made, those
    about them or their direct reports, and those on engagements they review or
    approve. Builds a queryset only (as ``feedback_visible_to``)."""
    qs = FeedbackRequest.objects.all()
    if membership.is_hr_admin:
        return qs
    return qs.filter(
        _one_of(
            FeedbackRequest,
            membership,
            REQUEST_BRANCHES["requester"],
            REQUEST_BRANCHES["subject"],
            REQUEST_BRANCHES["line_manager"],
            REQUEST_BRANCHES["reader"],
        )
    )


def requests_by_or_about_me(membership: Membership) -> QuerySet[FeedbackRequest]:
    """Requests the member made or that are about them (all visible to them).
    Builds a queryset only."""
    return FeedbackRequest.objects.filter(
        _one_of(
            FeedbackRequest,
            membership,
            REQUEST_BRANCHES["requester"],
            REQUEST_BRANCHES["subject"],
        )
    )


def requests_of_others(membership: Membership) -> QuerySet[FeedbackRequest]:
    """Requests the member reads as a manager, reviewer, approver or HR admin about
    someone else, made by someone else (``requests_visible_to`` without
    ``requests_by_or_about_me``). Builds a queryset only."""
    if membership.is_hr_admin:
        me = _entry_of(membership)
        return FeedbackRequest.objects.exclude(requested_by__in=me).exclude(
            subject__in=me
        )
    return FeedbackRequest.objects.filter(
        _one_of(
            FeedbackRequest,
            membership,
            REQUEST_BRANCHES["line_manager_of_others"],
            REQUEST_BRANCHES["reader_of_others"],
        )
    )


def get_request_for(
    request: TenantRequest, pk: int, perm: str = "view"
) -> tuple[FeedbackRequest, Access]:
    """The request if the caller may read it (else 404) and their access to its
    engagement; ``perm`` "view" or "cancel" (the requester only, else 403).
    Two or three queries."""
    membership = request.membership
    found = (
        FeedbackRequest.objects.select_related(*REQUEST_RELATED)
        .filter(pk=pk, pk__in=requests_visible_to(membership).values("pk"))
        .first()
    )
    if found is None:
        raise Http404("No such feedback request.")
    access = load_access(membership, [found.engagement])
    if not can(access, Action.VIEW_REQUEST, found):
        raise Http404("No such feedback request.")
    if perm == "cancel" and not can(access, Action.CANCEL_REQUEST, found):
        raise PermissionDenied
    return found, access


def get_ask_for(request: TenantRequest, pk: int) -> FeedbackAsk:
    """An ask of the caller's (they are its requestee), else 404: nobody else may act
    on it, and for anonymous requests nobody else may even learn its id. One query."""
    ask = (
        FeedbackAsk.objects.select_related(
            "requestee",
            "request__subject",
            "request__engagement__client",
            "request__requested_by",
        )
        .filter(pk=pk, requestee__user_id=request.membership.user_id)
        .first()
    )
    if ask is None:
        raise Http404("No such feedback request.")
    return ask
