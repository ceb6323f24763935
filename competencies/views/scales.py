"""Rating scales: the list, creating one, changing one (unless ratings use it),
making one the default and copying one. HR admins only, refused with 403 before any
lookup (``HrAdminRequiredMixin``, ``role_required`` or ``get_scale_for``); another
organisation's ids are 404.

The scale form has two buttons: "Update the points" (``action=preview``) shows the
rows of the points the posted range describes without saving; "Save" saves.
"""

from __future__ import annotations

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.generic import ListView

from competencies.forms import RatingScaleForm
from competencies.models import RatingLevel, RatingScale
from competencies.selectors import (
    get_scale_for,
    scale_history,
    scale_levels,
    scale_list,
)
from competencies.services.scales import (
    copy_scale,
    create_scale,
    set_default_scale,
    update_scale,
)
from competencies.usage import scale_lock_reason
from organizations.enums import Role
from organizations.http import TenantRequest, apply_service, form_response
from organizations.permissions import HrAdminRequiredMixin, role_required

PAGE_SIZE = 25
HISTORY_LIMIT = 50
FORM_TEMPLATE = "competencies/scale_form.html"


class ScaleListView(HrAdminRequiredMixin, ListView):
    """Every rating scale with its labelled points; the default first."""

    template_name = "competencies/scale_list.html"
    paginate_by = PAGE_SIZE
    context_object_name = "scales"
    request: TenantRequest

    def get_queryset(self) -> QuerySet[RatingScale]:
        return scale_list()


def _scale_form(
    request: TenantRequest,
    scale: RatingScale | None = None,
    levels: list[RatingLevel] | None = None,
    *,
    locked: bool = False,
) -> RatingScaleForm:
    """The scale form: bound to a "Save" POST; unbound, showing the posted range's
    points, for "Update the points"; unbound with the stored (or default) scale on
    GET and for a POST to a ``locked`` scale."""
    levels = levels or []
    if request.method != "POST" or locked:
        return RatingScaleForm(scale=scale, levels=levels)
    if request.POST.get("action") == "preview":
        initial = {key: request.POST.get(key) for key in request.POST}
        return RatingScaleForm(initial=initial, scale=scale, levels=levels)
    return RatingScaleForm(request.POST, scale=scale, levels=levels)


@role_required(Role.HR_ADMIN)
def scale_create(request: TenantRequest, org_slug: str) -> HttpResponse:
    """A new scale: its range and step, and a label for every point."""
    form = _scale_form(request)
    if form.is_bound and form.is_valid():
        fields = form.scale_fields()
        outcome = apply_service(
            form, lambda: create_scale(actor=request.membership, **fields)
        )
        if outcome.value is not None:
            messages.success(
                request,
                _("The scale %(name)s was created.") % {"name": outcome.value.name},
            )
            return redirect("competencies:scales", org_slug)
    return form_response(request, FORM_TEMPLATE, {"form": form, "scale": None})


def scale_edit(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Change a scale and its labels, unless ratings already use it: then the page
    says why and offers a copy to change instead (400 for a POST to it)."""
    scale = get_scale_for(request, pk)
    levels = scale_levels(scale)
    lock_reason = scale_lock_reason(scale)
    form = _scale_form(request, scale, levels, locked=bool(lock_reason))
    if form.is_bound and form.is_valid():
        fields = form.scale_fields()
        outcome = apply_service(
            form, lambda: update_scale(actor=request.membership, scale=scale, **fields)
        )
        if outcome.ok:
            messages.success(request, _("Changes to the scale were saved."))
            return redirect("competencies:scales", org_slug)
    refused = request.method == "POST" and bool(lock_reason)
    if lock_reason:
        form.disable()
    context = {
        "form": form,
        "scale": scale,
        "lock_reason": lock_reason,
        "refused": refused,
        "timeline": scale_history(scale)[:HISTORY_LIMIT],
        "history_limit": HISTORY_LIMIT,
    }
    status = 400 if form.errors or refused else 200
    return render(request, FORM_TEMPLATE, context, status=status)


@require_POST
def scale_set_default(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Make the scale the organisation's default (HR admins)."""
    scale = get_scale_for(request, pk)
    set_default_scale(actor=request.membership, scale=scale)
    messages.success(
        request,
        _(
            "%(name)s is now the default scale. Competency descriptors and expected "
            "levels use its points."
        )
        % {"name": scale.name},
    )
    return redirect("competencies:scales", org_slug)


@require_POST
def scale_copy(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Create a new, editable scale from this one (HR admins)."""
    scale = get_scale_for(request, pk)
    copy = copy_scale(actor=request.membership, scale=scale)
    messages.success(
        request,
        _("%(copy)s was created from %(name)s. Change it as you need, then save.")
        % {"copy": copy.name, "name": scale.name},
    )
    return redirect("competencies:scale_edit", org_slug, copy.pk)
