"""How the matrix fills a URL's kwargs: for each target kind (``UrlPolicy.target_kind``)
the ids of the world's objects for each target, ids that exist nowhere for ``MISSING``,
and signed links, valid or tampered, for the URLs whose credential is a token."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from organizations.models import User
from organizations.services import invitation_token
from organizations.tenancy import tenant_context
from reporting.models import ReportRecipient
from reporting.unsubscribe import unsubscribe_token
from tests.authz.policy import ORG_KWARG, Target, UrlPolicy
from tests.authz.routes import named_routes
from tests.authz.world import World

MISSING_PK = 999_999_999


@dataclass(frozen=True)
class TargetKind:
    """How to fill a URL's object kwargs for each target (see ``UrlPolicy``)."""

    kwargs: tuple[str, ...]
    build: Callable[[World, Target], dict[str, Any]]


def _ids_of(kind: str, *kwargs: str) -> TargetKind:
    """Ids of the world's objects (``World.objects``); MISSING: ids that exist nowhere."""

    def build(world: World, target: Target) -> dict[str, Any]:
        if target is Target.MISSING:
            return dict.fromkeys(kwargs, MISSING_PK)
        return world.objects[target][kind]

    return TargetKind(kwargs, build)


def _invitation_link(world: World, target: Target) -> dict[str, Any]:
    valid = target is Target.VALID_TOKEN
    return {"token": invitation_token(world.invitation) if valid else "tampered"}


def _survey_link(world: World, target: Target) -> dict[str, Any]:
    valid = target is Target.VALID_TOKEN
    return {"token": world.refs["survey_token"] if valid else "tampered"}


def _unsubscribe_link(world: World, target: Target) -> dict[str, Any]:
    # The world's subscription (``report_subscription``) and its one recipient.
    if target is not Target.VALID_TOKEN:
        return {"token": "tampered"}
    pk = world.objects[Target.OWN]["report_subscription"]["pk"]
    with tenant_context(world.org):
        recipient = ReportRecipient.objects.filter(subscription_id=pk).order_by("pk")[0]
    return {"token": unsubscribe_token(recipient)}


def _picker_source(world: World, target: Target) -> dict[str, Any]:
    # OWN: the directory's people (HR admins only); otherwise a source that does not
    # exist, which nobody finds.
    return {"source": "people" if target is Target.OWN else "no-such-source"}


def _password_reset_link(world: World, target: Target) -> dict[str, Any]:
    # Made at request time: signing in changes last_login, which the token covers.
    user = User.objects.get(pk=world.subject.user_id)
    valid = target is Target.VALID_TOKEN
    return {
        "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user) if valid else "0-tampered",
    }


TARGET_KINDS: dict[str, TargetKind] = {
    "employee": _ids_of("employee", "pk"),
    "invitation": _ids_of("invitation", "pk"),
    "notification": _ids_of("notification", "pk"),
    "business_unit": _ids_of("business_unit", "pk"),
    "job_title": _ids_of("job_title", "pk"),
    "cycle": _ids_of("cycle", "pk"),
    "client": _ids_of("client", "pk"),
    "engagement": _ids_of("engagement", "pk"),
    "plan": _ids_of("plan", "pk"),
    "goal": _ids_of("goal", "pk"),
    "activity": _ids_of("activity", "pk"),
    "role_assignment": _ids_of("role_assignment", "pk", "rid"),
    "role_rule": _ids_of("role_rule", "pk"),
    "template": _ids_of("template", "pk"),
    "template_goal": _ids_of("template_goal", "pk", "gid"),
    "scale": _ids_of("scale", "pk"),
    "competency": _ids_of("competency", "pk"),
    "competency_set": _ids_of("competency_set", "pk"),
    "set_item": _ids_of("set_item", "pk", "item_pk"),
    "plan_competency": _ids_of("plan_competency", "pk"),
    "template_competency": _ids_of("template_competency", "pk", "cid"),
    "engagement_type": _ids_of("engagement_type", "pk"),
    "feedback": _ids_of("feedback", "pk"),
    "feedback_request": _ids_of("feedback_request", "pk"),
    "feedback_ask": _ids_of("feedback_ask", "pk"),
    "evaluation": _ids_of("evaluation", "pk"),
    "appraisal": _ids_of("appraisal", "pk"),
    "review_cycle": _ids_of("review_cycle", "pk"),
    "review_plan": _ids_of("review_plan", "pk"),
    "recompute_run": _ids_of("recompute_run", "pk"),
    "calibration_session": _ids_of("calibration_session", "pk"),
    "calibration_entry": _ids_of("calibration_entry", "pk", "appraisal_pk"),
    "report_job": _ids_of("report_job", "pk"),
    "report_subscription": _ids_of("report_subscription", "pk"),
    "report_delivery": _ids_of("report_delivery", "pk", "delivery_pk"),
    "report_email": _ids_of("report_email", "pk", "delivery_pk", "email_pk"),
    "invitation_token": TargetKind(("token",), _invitation_link),
    "survey_token": TargetKind(("token",), _survey_link),
    "unsubscribe_token": TargetKind(("token",), _unsubscribe_link),
    "password_reset_token": TargetKind(("uidb64", "token"), _password_reset_link),
    "picker_source": TargetKind(("source",), _picker_source),
}
# The target kinds ``build_world`` makes an object of for these targets.
WORLD_KINDS: dict[Target, frozenset[str]] = {
    Target.GENERAL_PLAN: frozenset(
        {
            "plan",
            "goal",
            "activity",
            "plan_competency",
            "feedback",
            "evaluation",
            "review_plan",
        }
    ),
    Target.PRIVATE: frozenset({"feedback", "evaluation"}),
    Target.OTHER_PARENT: frozenset(
        {"role_assignment", "template_goal", "set_item", "template_competency"}
    ),
}


def url_kwargs(
    world: World, name: str, policy: UrlPolicy, target: Target
) -> dict[str, Any]:
    """The kwargs of URL ``name`` for ``target``: the organisation's slug where the URL
    takes one, and the target's object kwargs."""
    kwargs: dict[str, Any] = {}
    if ORG_KWARG in named_routes()[name].kwargs:
        kwargs[ORG_KWARG] = world.org.slug
    if policy.target_kind is not None:
        kwargs.update(TARGET_KINDS[policy.target_kind].build(world, target))
    return kwargs
