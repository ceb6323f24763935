"""HR's appraisal settings (dual approval, days to write, calibration, attainment
bands) and opening evaluations early. HR-only: other roles are refused before any lookup."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from appraisals.forms import BandFormSet, SettingsForm
from appraisals.selectors.evaluations import early_evaluation_cycles
from appraisals.selectors.settings import attainment_bands, current_settings
from appraisals.services.opening import open_early_evaluations
from appraisals.services.settings import CalibrationSettings, update_settings
from engagements.selectors.access import get_cycle_for
from engagements.selectors.competencies import default_scale
from organizations.enums import Role
from organizations.errors import DomainError
from organizations.http import TenantRequest, apply_service
from organizations.permissions import role_required


def _band_formset(data: Any = None) -> Any:
    scale = default_scale()
    points = scale.points() if scale is not None else []
    initial = [
        {"min_attainment": start, "rating": rating}
        for start, rating in attainment_bands()
    ]
    return BandFormSet(
        data, initial=initial, prefix="bands", form_kwargs={"points": points}
    )


@require_http_methods(["GET", "POST"])
@role_required(Role.HR_ADMIN)
def appraisal_settings(request: TenantRequest, org_slug: str) -> HttpResponse:
    """Dual approval, days to write an evaluation, calibration and the attainment
    bands (HR).

    A refused POST answers 400 also when only the bands are refused (the settings
    form itself then has no error), so ``form_response`` does not fit here.
    """
    current = current_settings()
    form = SettingsForm(request.POST or None, instance=current)
    bands = _band_formset(request.POST or None)
    if request.method == "POST" and form.is_valid() and bands.is_valid():
        outcome = apply_service(
            form,
            lambda: update_settings(
                actor=request.membership,
                dual_approval=form.cleaned_data["dual_approval"],
                evaluation_days=form.cleaned_data["evaluation_days"],
                bands=bands.bands(),
                calibration=CalibrationSettings(
                    required=form.cleaned_data["calibration_required"],
                    shrinkage=form.cleaned_data["calibration_shrinkage"],
                    guideline=form.cleaned_data["calibration_guideline"],
                    tolerance=form.cleaned_data["calibration_tolerance"],
                    visible=form.cleaned_data["calibration_visible"],
                ),
            ),
        )
        if outcome.ok:
            messages.success(request, _("The appraisal settings were saved."))
            return redirect("appraisals:settings", org_slug)
    early_cycles = early_evaluation_cycles().order_by("-start_date")
    return render(
        request,
        "appraisals/evaluations/settings.html",
        {"form": form, "bands": bands, "early_cycles": list(early_cycles)},
        status=400 if request.method == "POST" else 200,
    )


@require_POST
def open_early(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Open evaluations now for plans whose engagement or end date has passed (HR)."""
    cycle = get_cycle_for(request, pk)
    try:
        created = open_early_evaluations(cycle=cycle, actor=request.membership)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if created:
            messages.success(
                request,
                _("%(n)s evaluations opened early in %(cycle)s.")
                % {"n": created, "cycle": cycle.name},
            )
        else:
            messages.info(
                request,
                _("No plan in %(cycle)s has ended without an evaluation.")
                % {"cycle": cycle.name},
            )
    return redirect("appraisals:settings", org_slug)


urlpatterns = [
    path("appraisal-settings/", appraisal_settings, name="settings"),
    path("cycles/<int:pk>/open-early/", open_early, name="open_early"),
]
