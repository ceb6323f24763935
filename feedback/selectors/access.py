"""Who reads which feedback and which feedback request, and the access gates.

``feedback_visible_to`` and ``requests_visible_to`` are *the* definitions of who
reads what; every feed, list, filter and detail page starts from them. The gates
(``get_feedback_for``, ``get_request_for``, ``get_ask_for``) answer 404 when the
object is not visible (another organisation's looks exactly like one that does not
exist) and 403 when it is visible but the action is refused, by
``feedback.permissions.can``.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from guardian.shortcuts import get_objects_for_user

from engagements.models import Engagement
from engagements.permissions import load_access
from engagements.selectors.access import engagements_with_perm
from feedback.enums import Visibility
from feedback.models import Feedback, FeedbackAsk, FeedbackRequest
from feedback.permissions import READER_PERMS, Action, can
from organizations.http import TenantRequest
from organizations.models import Membership
from organizations.permissions import Access

# Related rows a request's pages show; the request gate returns them loaded.
REQUEST_RELATED = ("subject__line_manager", "engagement__client", "requested_by")


# --- Feedback ------------------------------------------------------------------------


def _about(membership: Membership) -> Q:
    return Q(subject__user_id=membership.user_id)


def _entitled(membership: Membership) -> Q:
    """Feedback the member reads because of who they are to its subject: the line
    manager of the subject, or a reviewer or approver of its engagement."""
    condition = Q(subject__line_manager__user_id=membership.user_id)
    for perm in READER_PERMS:
        condition |= Q(
            engagement__in=engagements_with_perm(membership, perm).values("pk")
        )
    return condition


def feedback_visible_to(membership: Membership) -> QuerySet[Feedback]:
    """The feedback the member may read; never withdrawn feedback.

    HR admins: all. Authors: their own. The subject: what was shared with them. The
    subject's line manager: all about their direct reports. Reviewers and approvers
    of an engagement: all on it. Planners, contributors and teammates: only what they
    wrote. Nobody, HR admins included, reads managers-only feedback about themselves.
    Builds a queryset only (the guardian lookups are subqueries).
    """
    qs = Feedback.objects.filter(withdrawn_at__isnull=True)
    about_me = _about(membership)
    if membership.is_hr_admin:
        return qs.exclude(about_me & Q(visibility=Visibility.MANAGERS_ONLY))
    return qs.filter(
        Q(author__user_id=membership.user_id)
        | (about_me & Q(visibility=Visibility.SHARED))
        | (_entitled(membership) & ~about_me)
    )


def team_feedback(membership: Membership) -> QuerySet[Feedback]:
    """What the member reads because they manage, review, approve or run HR: the
    "My team and engagements" tab. Builds a queryset only."""
    about_me = _about(membership)
    qs = Feedback.objects.filter(withdrawn_at__isnull=True).exclude(about_me)
    if membership.is_hr_admin:
        return qs
    return qs.filter(_entitled(membership))


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


def reader_engagements(membership: Membership) -> QuerySet[Engagement]:
    """Engagements on which the member reviews or approves (guardian object perms only;
    model-wide and superuser permissions are ignored, see docs/security.md)."""
    return get_objects_for_user(
        membership.user,
        [f"engagements.{perm}" for perm in READER_PERMS],
        klass=Engagement.objects.all(),
        any_perm=True,
        accept_global_perms=False,
        with_superuser=False,
    )


def requests_visible_to(membership: Membership) -> QuerySet[FeedbackRequest]:
    """*The* definition of who reads which request (``can(access, "view_request",
    request)`` says the same of one). Builds a queryset only; the guardian part is a
    subquery."""
    qs = FeedbackRequest.objects.all()
    if membership.is_hr_admin:
        return qs
    uid = membership.user_id
    return qs.filter(
        Q(requested_by__user_id=uid)
        | Q(subject__user_id=uid)
        | Q(subject__line_manager__user_id=uid)
        | Q(engagement__in=reader_engagements(membership).values("pk"))
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
