"""Competency sets: the list with a form to create one, and a set's page, where its
name, description and job titles change and its competencies are added, changed and
removed. HR admins only, refused with 403 before any lookup (``role_required`` or
``get_competency_set_for``); another organisation's ids are 404.

Each form on the set's page posts to its own URL; a form with errors is answered
with the whole page (status 400) showing that form with its errors.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from competencies.forms import CompetencySetForm, SetItemForm, SetItemUpdateForm
from competencies.models import CompetencySet, CompetencySetItem
from competencies.selectors import (
    addable_competencies,
    competency_set_history,
    competency_set_list,
    default_scale_with_levels,
    get_competency_set_for,
    get_set_item_for,
    set_items,
)
from competencies.services.scales import format_point
from competencies.services.sets import (
    add_set_item,
    create_competency_set,
    remove_set_item,
    update_competency_set,
    update_set_item,
)
from organizations.enums import Role
from organizations.http import TenantRequest, apply_service, form_response
from organizations.permissions import role_required

PAGE_SIZE = 25
HISTORY_LIMIT = 50
ADD_ITEM_AUTO_ID = "id_add_%s"


@role_required(Role.HR_ADMIN)
def competency_sets(request: TenantRequest, org_slug: str) -> HttpResponse:
    """The competency sets, and a form to create one (HR admins)."""
    form = CompetencySetForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        outcome = apply_service(
            form,
            lambda: create_competency_set(
                actor=request.membership,
                name=data["name"],
                description=data["description"],
                job_titles=data["job_titles"],
            ),
        )
        if outcome.value is not None:
            messages.success(
                request,
                _("The set %(name)s was created. Now add its competencies.")
                % {"name": outcome.value.name},
            )
            return redirect(
                "competencies:competency_set_detail", org_slug, outcome.value.pk
            )
    page = Paginator(competency_set_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    return form_response(
        request,
        "competencies/set_list.html",
        {"form": form, "page_obj": page, "sets": page.object_list},
    )


def _set_page(
    request: TenantRequest,
    competency_set: CompetencySet,
    *,
    set_form: CompetencySetForm | None = None,
    add_form: SetItemForm | None = None,
    item_form: tuple[int, SetItemUpdateForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The set page; a form passed in (bound, with errors) replaces the blank one."""
    scale, levels = default_scale_with_levels()
    labels = {level.value: level.label for level in levels}
    items = set_items(competency_set)
    rows = []
    for item in items:
        if item_form is not None and item_form[0] == item.pk:
            form = item_form[1]
        else:
            form = SetItemUpdateForm(
                prefix=f"item-{item.pk}",
                levels=levels,
                initial={
                    "weight": item.weight,
                    "expected_level": format_point(item.expected_level),
                },
            )
        rows.append(
            {
                "item": item,
                "form": form,
                "level_label": labels.get(item.expected_level, ""),
            }
        )
    if set_form is None:
        set_form = CompetencySetForm(instance=competency_set)
    if add_form is None:
        add_form = SetItemForm(
            competencies=addable_competencies(competency_set),
            levels=levels,
            auto_id=ADD_ITEM_AUTO_ID,
        )
    if set_form.errors:
        # The bound instance carries the rejected values; show the stored ones.
        competency_set.refresh_from_db()
    return render(
        request,
        "competencies/set_detail.html",
        {
            "competency_set": competency_set,
            "scale": scale,
            "rows": rows,
            "weight_total": sum((item.weight for item in items), Decimal(0)),
            "set_form": set_form,
            "add_form": add_form,
            "timeline": competency_set_history(competency_set)[:HISTORY_LIMIT],
            "history_limit": HISTORY_LIMIT,
        },
        status=status,
    )


def competency_set_detail(
    request: TenantRequest, org_slug: str, pk: int
) -> HttpResponse:
    """A set's competencies with weights and expected levels, its job titles and
    history; a POST here saves the name, description and job titles (HR admins)."""
    competency_set = get_competency_set_for(request, pk)
    if request.method != "POST":
        return _set_page(request, competency_set)
    form = CompetencySetForm(request.POST, instance=competency_set)
    if form.is_valid():
        data = form.cleaned_data
        outcome = apply_service(
            form,
            lambda: update_competency_set(
                actor=request.membership,
                competency_set=competency_set,
                name=data["name"],
                description=data["description"],
                job_titles=data["job_titles"],
            ),
        )
        if outcome.ok:
            messages.success(request, _("The competency set was saved."))
            return redirect("competencies:competency_set_detail", org_slug, pk)
    return _set_page(request, competency_set, set_form=form, status=400)


@require_POST
def competency_set_item_add(
    request: TenantRequest, org_slug: str, pk: int
) -> HttpResponse:
    """Add a competency to the set with its weight and expected level (HR admins)."""
    competency_set = get_competency_set_for(request, pk)
    form = SetItemForm(
        request.POST,
        competencies=addable_competencies(competency_set),
        levels=default_scale_with_levels()[1],
        auto_id=ADD_ITEM_AUTO_ID,
    )
    if form.is_valid():
        data = form.cleaned_data
        outcome = apply_service(
            form,
            lambda: add_set_item(
                actor=request.membership,
                competency_set=competency_set,
                competency=data["competency"],
                weight=data["weight"],
                expected_level=data["expected_level"],
            ),
        )
        if outcome.value is not None:
            messages.success(
                request,
                _("%(name)s was added to the set.")
                % {"name": outcome.value.competency.name},
            )
            return redirect("competencies:competency_set_detail", org_slug, pk)
    return _set_page(request, competency_set, add_form=form, status=400)


def _item(
    request: TenantRequest, pk: int, item_pk: int
) -> tuple[CompetencySet, CompetencySetItem]:
    competency_set = get_competency_set_for(request, pk)
    return competency_set, get_set_item_for(competency_set, item_pk)


@require_POST
def competency_set_item_update(
    request: TenantRequest, org_slug: str, pk: int, item_pk: int
) -> HttpResponse:
    """Change a competency's weight and expected level in the set (HR admins)."""
    competency_set, item = _item(request, pk, item_pk)
    form = SetItemUpdateForm(
        request.POST,
        prefix=f"item-{item.pk}",
        levels=default_scale_with_levels()[1],
    )
    if form.is_valid():
        data = form.cleaned_data
        outcome = apply_service(
            form,
            lambda: update_set_item(
                actor=request.membership,
                item=item,
                weight=data["weight"],
                expected_level=data["expected_level"],
            ),
        )
        if outcome.ok:
            messages.success(
                request,
                _("%(name)s was updated.") % {"name": item.competency.name},
            )
            return redirect("competencies:competency_set_detail", org_slug, pk)
    return _set_page(request, competency_set, item_form=(item.pk, form), status=400)


@require_POST
def competency_set_item_remove(
    request: TenantRequest, org_slug: str, pk: int, item_pk: int
) -> HttpResponse:
    """Take a competency out of the set (HR admins). Plans that have it keep it."""
    _set, item = _item(request, pk, item_pk)
    remove_set_item(actor=request.membership, item=item)
    messages.success(
        request,
        _("%(name)s was removed from the set.") % {"name": item.competency.name},
    )
    return redirect("competencies:competency_set_detail", org_slug, pk)
