"""Rating scales, the competency library, categories and competency sets.

Every member may read the library (the list and each competency's page); everything
else is for HR admins, refused with 403 before any lookup. Access is checked in one
place per view: ``role_required`` / ``HrAdminRequiredMixin`` or an access gate from
``competencies.selectors``. Another organisation's ids are 404.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.generic import ListView
from django_filters.views import FilterView

from competencies import selectors, services
from competencies.filters import CompetencyFilter
from competencies.forms import (
    CategoryForm,
    CompetencyForm,
    CompetencySetForm,
    RatingScaleForm,
    SetItemForm,
    SetItemUpdateForm,
)
from competencies.models import (
    Competency,
    CompetencySet,
    CompetencySetItem,
    RatingScale,
)
from competencies.usage import scale_lock_reason
from organizations.enums import Role
from organizations.errors import DomainError
from organizations.models import Membership
from organizations.permissions import HrAdminRequiredMixin, role_required

PAGE_SIZE = 25
HISTORY_LIMIT = 50
ADD_ITEM_AUTO_ID = "id_add_%s"


def _actor(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined,no-any-return]


def _posted(request: HttpRequest) -> Any:
    """The form data of a POST (even an empty one, so it is validated), else None."""
    return request.POST if request.method == "POST" else None


def _query_string(request: HttpRequest) -> str:
    """The current filters without the page number, for the pagination links."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# --- Rating scales -------------------------------------------------------------------


class ScaleListView(HrAdminRequiredMixin, ListView):  # type: ignore[type-arg]
    """Every rating scale with its labelled points; the default first."""

    template_name = "competencies/scale_list.html"
    paginate_by = PAGE_SIZE
    context_object_name = "scales"

    def get_queryset(self) -> QuerySet[RatingScale]:
        return selectors.scale_list()


def _preview(request: HttpRequest) -> bool:
    """True when the form was sent with "Update the points" rather than "Save"."""
    return request.POST.get("action") == "preview"


def _posted_initial(request: HttpRequest) -> dict[str, Any]:
    return {key: request.POST.get(key) for key in request.POST}


@role_required(Role.HR_ADMIN)
def scale_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    """A new scale: its range and step, and a label for every point."""
    if request.method == "POST" and _preview(request):
        form = RatingScaleForm(initial=_posted_initial(request))
    else:
        form = RatingScaleForm(_posted(request))
    if request.method == "POST" and not _preview(request) and form.is_valid():
        data = form.cleaned_data
        try:
            scale = services.create_scale(
                actor=_actor(request),
                name=data["name"],
                min_value=data["min_value"],
                max_value=data["max_value"],
                step=data["step"],
                levels=form.level_inputs(),
            )
        except DomainError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(
                request, _("The scale %(name)s was created.") % {"name": scale.name}
            )
            return redirect("competencies:scales", org_slug)
    return render(
        request,
        "competencies/scale_form.html",
        {"form": form, "scale": None},
        status=400 if form.errors else 200,
    )


def scale_edit(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Change a scale and its labels, unless ratings already use it: then the page
    says why and offers a copy to change instead (HR admins)."""
    scale = selectors.get_scale_for(request, pk)
    levels = selectors.scale_levels(scale)
    lock_reason = scale_lock_reason(scale)
    refused = False
    if request.method == "POST" and _preview(request) and not lock_reason:
        form = RatingScaleForm(
            initial=_posted_initial(request), scale=scale, levels=levels
        )
    elif request.method == "POST" and not lock_reason:
        form = RatingScaleForm(request.POST, scale=scale, levels=levels)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.update_scale(
                    actor=_actor(request),
                    scale=scale,
                    name=data["name"],
                    min_value=data["min_value"],
                    max_value=data["max_value"],
                    step=data["step"],
                    levels=form.level_inputs(),
                )
            except DomainError as exc:
                form.add_error(exc.field, exc.message)
            else:
                messages.success(request, _("Changes to the scale were saved."))
                return redirect("competencies:scales", org_slug)
    else:
        form = RatingScaleForm(scale=scale, levels=levels)
        refused = request.method == "POST"
    if lock_reason:
        form.disable()
    return render(
        request,
        "competencies/scale_form.html",
        {
            "form": form,
            "scale": scale,
            "lock_reason": lock_reason,
            "refused": refused,
            "timeline": selectors.scale_history(scale)[:HISTORY_LIMIT],
            "history_limit": HISTORY_LIMIT,
        },
        status=400 if form.errors or refused else 200,
    )


@require_POST
def scale_set_default(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Make the scale the organisation's default (HR admins)."""
    scale = selectors.get_scale_for(request, pk)
    services.set_default_scale(actor=_actor(request), scale=scale)
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
def scale_copy(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Create a new, editable scale from this one (HR admins)."""
    scale = selectors.get_scale_for(request, pk)
    copy = services.copy_scale(actor=_actor(request), scale=scale)
    messages.success(
        request,
        _("%(copy)s was created from %(name)s. Change it as you need, then save.")
        % {"copy": copy.name, "name": scale.name},
    )
    return redirect("competencies:scale_edit", org_slug, copy.pk)


# --- Categories ----------------------------------------------------------------------


@role_required(Role.HR_ADMIN)
def categories(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The competency categories, and a form to add one (HR admins)."""
    services.ensure_default_categories(request.organization)  # type: ignore[attr-defined]
    form = CategoryForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            category = services.create_category(
                actor=_actor(request), name=form.cleaned_data["name"]
            )
        except DomainError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(
                request, _("Category %(name)s added.") % {"name": category.name}
            )
            return redirect("competencies:categories", org_slug)
    page = Paginator(selectors.category_list(), PAGE_SIZE * 2).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "competencies/category_list.html",
        {"form": form, "page_obj": page, "categories": page.object_list},
        status=400 if form.errors else 200,
    )


# --- The competency library ----------------------------------------------------------


class CompetencyListView(FilterView):
    """The library with search, a category filter and pagination (every member)."""

    template_name = "competencies/competency_list.html"
    filterset_class = CompetencyFilter
    paginate_by = PAGE_SIZE
    context_object_name = "competencies"

    def get_queryset(self) -> QuerySet[Competency]:
        return selectors.competency_library()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["query_string"] = _query_string(self.request)
        context["can_manage"] = selectors.can_manage_competencies(_actor(self.request))
        return context


def _competency_form(
    request: HttpRequest, org_slug: str, competency: Competency | None
) -> HttpResponse:
    services.ensure_default_categories(request.organization)  # type: ignore[attr-defined]
    scale, levels = selectors.default_scale_with_levels()
    form = CompetencyForm(_posted(request), instance=competency, levels=levels)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        fields = {
            "actor": _actor(request),
            "name": data["name"],
            "category": data["category"],
            "description": data["description"],
            "descriptors": form.descriptors(),
        }
        try:
            if competency is None:
                saved = services.create_competency(**fields)
            else:
                saved = services.update_competency(competency=competency, **fields)
        except DomainError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(request, _("%(name)s saved.") % {"name": saved.name})
            return redirect("competencies:competency_detail", org_slug, saved.pk)
    if form.errors and competency is not None:
        # The bound instance carries the rejected values; show the stored ones.
        competency.refresh_from_db()
    return render(
        request,
        "competencies/competency_form.html",
        {"form": form, "competency": competency, "scale": scale},
        status=400 if form.errors else 200,
    )


@role_required(Role.HR_ADMIN)
def competency_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    return _competency_form(request, org_slug, None)


def competency_edit(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    competency = selectors.get_competency_for(request, pk, perm="manage")
    return _competency_form(request, org_slug, competency)


def competency_detail(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """A competency with what each point looks like (every member); HR admins also
    see where it is used and its history."""
    competency = selectors.get_competency_for(request, pk)
    scale, levels = selectors.default_scale_with_levels()
    can_manage = selectors.can_manage_competencies(_actor(request))
    context: dict[str, Any] = {
        "competency": competency,
        "scale": scale,
        "levels": selectors.competency_levels(competency, levels),
        "can_manage": can_manage,
    }
    if can_manage:
        context["usage"] = selectors.competency_usage(competency)
        context["timeline"] = selectors.competency_history(competency)[:HISTORY_LIMIT]
        context["history_limit"] = HISTORY_LIMIT
    return render(request, "competencies/competency_detail.html", context)


@require_POST
def competency_archive(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Archive the competency, or restore it when archived (HR admins)."""
    competency = selectors.get_competency_for(request, pk, perm="manage")
    competency = services.set_competency_archived(
        actor=_actor(request),
        competency=competency,
        archived=not competency.is_archived,
    )
    if competency.is_archived:
        text = _(
            "%(name)s is archived: plans and sets that have it keep it, but it can no "
            "longer be added."
        )
    else:
        text = _("%(name)s is back in the library.")
    messages.success(request, text % {"name": competency.name})
    return redirect("competencies:competency_detail", org_slug, competency.pk)


@require_POST
def competency_delete(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Delete a competency nobody uses (HR admins); one in use is refused."""
    competency = selectors.get_competency_for(request, pk, perm="manage")
    try:
        services.delete_competency(actor=_actor(request), competency=competency)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("competencies:competency_detail", org_slug, competency.pk)
    messages.success(request, _("%(name)s was deleted.") % {"name": competency.name})
    return redirect("competencies:competencies", org_slug)


# --- Competency sets -----------------------------------------------------------------


@role_required(Role.HR_ADMIN)
def competency_sets(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The competency sets, and a form to create one (HR admins)."""
    form = CompetencySetForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            competency_set = services.create_competency_set(
                actor=_actor(request), **form.cleaned_data
            )
        except DomainError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(
                request,
                _("The set %(name)s was created. Now add its competencies.")
                % {"name": competency_set.name},
            )
            return redirect(
                "competencies:competency_set_detail", org_slug, competency_set.pk
            )
    page = Paginator(selectors.competency_set_list(), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "competencies/set_list.html",
        {"form": form, "page_obj": page, "sets": page.object_list},
        status=400 if form.errors else 200,
    )


def _set_page(
    request: HttpRequest,
    competency_set: CompetencySet,
    *,
    set_form: CompetencySetForm | None = None,
    add_form: SetItemForm | None = None,
    item_form: tuple[int, SetItemUpdateForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The set page; a form passed in (bound, with errors) replaces the blank one."""
    scale, levels = selectors.default_scale_with_levels()
    labels = {level.value: level.label for level in levels}
    items = selectors.set_items(competency_set)
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
                    "expected_level": services.format_point(item.expected_level),
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
            competencies=selectors.addable_competencies(competency_set),
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
            "timeline": selectors.competency_set_history(competency_set)[
                :HISTORY_LIMIT
            ],
            "history_limit": HISTORY_LIMIT,
        },
        status=status,
    )


def competency_set_detail(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """A set's competencies with weights and expected levels, its job titles and
    history; a POST here saves the name, description and job titles (HR admins)."""
    competency_set = selectors.get_competency_set_for(request, pk)
    if request.method != "POST":
        return _set_page(request, competency_set)
    form = CompetencySetForm(request.POST, instance=competency_set)
    if form.is_valid():
        try:
            services.update_competency_set(
                actor=_actor(request),
                competency_set=competency_set,
                **form.cleaned_data,
            )
        except DomainError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(request, _("The competency set was saved."))
            return redirect("competencies:competency_set_detail", org_slug, pk)
    return _set_page(request, competency_set, set_form=form, status=400)


@require_POST
def competency_set_item_add(
    request: HttpRequest, org_slug: str, pk: int
) -> HttpResponse:
    """Add a competency to the set with its weight and expected level (HR admins)."""
    competency_set = selectors.get_competency_set_for(request, pk)
    form = SetItemForm(
        request.POST,
        competencies=selectors.addable_competencies(competency_set),
        levels=selectors.default_scale_with_levels()[1],
        auto_id=ADD_ITEM_AUTO_ID,
    )
    if form.is_valid():
        try:
            item = services.add_set_item(
                actor=_actor(request),
                competency_set=competency_set,
                **form.cleaned_data,
            )
        except DomainError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(
                request,
                _("%(name)s was added to the set.") % {"name": item.competency.name},
            )
            return redirect("competencies:competency_set_detail", org_slug, pk)
    return _set_page(request, competency_set, add_form=form, status=400)


def _item(
    request: HttpRequest, pk: int, item_pk: int
) -> tuple[CompetencySet, CompetencySetItem]:
    competency_set = selectors.get_competency_set_for(request, pk)
    return competency_set, selectors.get_set_item_for(competency_set, item_pk)


@require_POST
def competency_set_item_update(
    request: HttpRequest, org_slug: str, pk: int, item_pk: int
) -> HttpResponse:
    """Change a competency's weight and expected level in the set (HR admins)."""
    competency_set, item = _item(request, pk, item_pk)
    form = SetItemUpdateForm(
        request.POST,
        prefix=f"item-{item.pk}",
        levels=selectors.default_scale_with_levels()[1],
    )
    if form.is_valid():
        try:
            services.update_set_item(
                actor=_actor(request), item=item, **form.cleaned_data
            )
        except DomainError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(
                request,
                _("%(name)s was updated.") % {"name": item.competency.name},
            )
            return redirect("competencies:competency_set_detail", org_slug, pk)
    return _set_page(request, competency_set, item_form=(item.pk, form), status=400)


@require_POST
def competency_set_item_remove(
    request: HttpRequest, org_slug: str, pk: int, item_pk: int
) -> HttpResponse:
    """Take a competency out of the set (HR admins). Plans that have it keep it."""
    _set, item = _item(request, pk, item_pk)
    services.remove_set_item(actor=_actor(request), item=item)
    messages.success(
        request,
        _("%(name)s was removed from the set.") % {"name": item.competency.name},
    )
    return redirect("competencies:competency_set_detail", org_slug, pk)
