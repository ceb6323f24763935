"""Review cycles: list, create, edit, detail and status transitions (HR admins).

Every view here is for HR admins; other roles get 403 before any lookup, so the answer
is the same for this organisation's cycles, another's and ids that do not exist.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django.views.generic import ListView

from engagements.enums import CycleStatus, PlanStatus, Weighting
from engagements.forms import CycleForm
from engagements.models import ReviewCycle
from engagements.selectors.access import get_cycle_for
from engagements.selectors.history import cycle_history
from engagements.selectors.pages import (
    cycle_plan_counts,
    cycles_overview,
    general_plans_without_goals,
)
from engagements.services.cycles import (
    TRANSITIONS,
    create_cycle,
    transition_cycle,
    update_cycle,
)
from organizations.enums import Role
from organizations.errors import DomainError
from organizations.http import TenantRequest, apply_service, form_response
from organizations.permissions import HrAdminRequiredMixin, role_required

PAGE_SIZE = 25

WEIGHTING_EXPLANATIONS: dict[str, Any] = {
    Weighting.EFFORT: gettext_lazy(
        "Each engagement counts in proportion to the effort spent on it: the "
        "allocation multiplied by the days on the engagement within the cycle."
    ),
    Weighting.EQUAL: gettext_lazy(
        "Every engagement counts the same, whatever the allocation or duration."
    ),
    Weighting.CUSTOM: gettext_lazy(
        "Each engagement plan carries its own weight, entered on the plan."
    ),
}

# Statuses in which the dates may still move (services.update_cycle enforces it).
DATES_OPEN = (CycleStatus.DRAFT, CycleStatus.PLANNING)


def _plain(number: Decimal) -> str:
    """40.00 -> "40", 37.50 -> "37.5" (``normalize`` alone would give "4E+1")."""
    return format(number.normalize(), "f")


def beta_explanation(weight: Decimal) -> str:
    """β in plain words: how the general plan and the engagement plans share a score."""
    rest = Decimal(100) - weight
    return _(
        "The general plan counts for %(beta)s %% of each person's final score; "
        "their engagement plans share the remaining %(rest)s %%."
    ) % {"beta": _plain(weight), "rest": _plain(rest)}


def _weighting_help() -> str:
    return " ".join(
        f"{Weighting(value).label}: {text}"
        for value, text in WEIGHTING_EXPLANATIONS.items()
    )


class CycleListView(HrAdminRequiredMixin, ListView):
    """Every review cycle with its status, weights and plan count."""

    request: TenantRequest

    template_name = "engagements/cycle_list.html"
    paginate_by = PAGE_SIZE
    context_object_name = "cycles"

    def get_queryset(self) -> QuerySet[ReviewCycle]:
        return cycles_overview()


@role_required(Role.HR_ADMIN)
def cycle_create(request: TenantRequest, org_slug: str) -> HttpResponse:
    """A new cycle in draft; β left empty takes the organisation's default."""
    organization = request.organization
    form = CycleForm(
        request.POST or None, initial={"general_weight": organization.general_weight}
    )
    weight_field = form.fields["general_weight"]
    weight_field.required = False
    weight_field.help_text = _(
        "Share of the general plan in each person's final score; engagement plans "
        "share the rest. Leave empty for the organisation's default "
        "(%(default)s %%)."
    ) % {"default": _plain(organization.general_weight)}
    form.fields["engagement_weighting"].help_text = _weighting_help()
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if v is not None}
        outcome = apply_service(
            form, lambda: create_cycle(actor=request.membership, **data)
        )
        if outcome.value is not None:
            messages.success(
                request,
                _("The cycle %(name)s was created in draft.")
                % {"name": outcome.value.name},
            )
            return redirect("engagements:cycle_detail", org_slug, outcome.value.pk)
    return form_response(
        request, "engagements/cycle_form.html", {"form": form, "cycle": None}
    )


def cycle_edit(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Change a cycle's name, dates and weights; dates are fixed once it is under way."""
    cycle = get_cycle_for(request, pk)
    form = CycleForm(request.POST or None, instance=cycle)
    form.fields["general_weight"].help_text = beta_explanation(cycle.general_weight)
    form.fields["engagement_weighting"].help_text = _weighting_help()
    closed = cycle.status == CycleStatus.CLOSED
    if closed or cycle.status not in DATES_OPEN:
        for name in ("start_date", "end_date"):
            form.fields[name].disabled = True
            form.fields[name].help_text = _(
                "Fixed: the dates cannot move once the cycle is in progress."
            )
    if closed:
        for field in form.fields.values():
            field.disabled = True
    if request.method == "POST" and form.is_valid():
        outcome = apply_service(
            form,
            lambda: update_cycle(
                actor=request.membership, cycle=cycle, **form.cleaned_data
            ),
        )
        if outcome.ok:
            messages.success(request, _("Changes to the cycle were saved."))
            return redirect("engagements:cycle_detail", org_slug, cycle.pk)
    if form.errors:
        # The bound instance carries the rejected values; show the stored ones.
        cycle.refresh_from_db()
    context = {"form": form, "cycle": cycle, "closed": closed}
    return form_response(request, "engagements/cycle_form.html", context)


def _status_context(cycle: ReviewCycle) -> dict[str, Any]:
    """The stepper, the next move with its explanation, and the plan counts."""
    order = list(CycleStatus)
    current = order.index(CycleStatus(cycle.status))
    steps = [
        {
            "value": status.value,
            "label": status.label,
            "state": "done"
            if index < current
            else ("current" if index == current else "upcoming"),
        }
        for index, status in enumerate(order)
    ]
    moves = [
        {"to": to, "label": CycleStatus(to).label, "explanation": explanation}
        for to, explanation in TRANSITIONS.get(cycle.status, {}).items()
    ]
    return {
        "cycle": cycle,
        "steps": steps,
        "moves": moves,
        "plan_counts": cycle_plan_counts(cycle),
        "plan_statuses": [status.label for status in PlanStatus],
    }


def cycle_detail(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Dates, weights, the status stepper with the next move, plan counts, history."""
    cycle = get_cycle_for(request, pk)
    context = _status_context(cycle)
    context.update(
        beta_text=beta_explanation(cycle.general_weight),
        weighting_text=WEIGHTING_EXPLANATIONS.get(cycle.engagement_weighting, ""),
        dates_fixed=cycle.status not in DATES_OPEN,
        timeline=cycle_history(cycle),
    )
    return render(request, "engagements/cycle_detail.html", context)


@require_POST
def cycle_transition(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Move the cycle to the status in ``to``; a refused move changes nothing and
    says why. HTMX requests get the status card back, others a redirect.

    Moving into review while general plans have no goal first answers with a warning
    listing them (200, nothing changed); posting again with ``confirm=1`` moves on."""
    cycle = get_cycle_for(request, pk)
    target = request.POST.get("to", "")
    if (
        target == CycleStatus.REVIEW
        and cycle.status == CycleStatus.IN_PROGRESS
        and request.POST.get("confirm") != "1"
    ):
        empty = general_plans_without_goals(cycle)
        if empty.total:
            # Review locks every plan: say which general plans would be locked
            # without a goal, and let HR confirm or go and fix them first.
            template = (
                "engagements/partials/cycle_review_warning.html"
                if request.htmx
                else "engagements/cycle_review_warning.html"
            )
            context = {
                "cycle": cycle,
                "empty_plans": empty.plans,
                "empty_total": empty.total,
                "empty_more": empty.total - len(empty.plans),
            }
            return render(request, template, context)
    try:
        cycle = transition_cycle(actor=request.membership, cycle=cycle, to=target)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("The cycle %(name)s moved to: %(status)s.")
            % {"name": cycle.name, "status": cycle.get_status_display()},
        )
    if request.htmx:
        return render(
            request, "engagements/partials/cycle_status.html", _status_context(cycle)
        )
    return redirect("engagements:cycle_detail", org_slug, cycle.pk)


urlpatterns = [
    path("cycles/", CycleListView.as_view(), name="cycles"),
    path("cycles/new/", cycle_create, name="cycle_create"),
    path("cycles/<int:pk>/", cycle_detail, name="cycle_detail"),
    path("cycles/<int:pk>/edit/", cycle_edit, name="cycle_edit"),
    path("cycles/<int:pk>/transition/", cycle_transition, name="cycle_transition"),
]
