"""The organisation's settings: its name, time zone and weights, the business units
and job titles people are filed under, and its background work (HR admins only)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.generic import ListView, UpdateView

from organizations import outbox, selectors
from organizations.enums import Role
from organizations.forms import BusinessUnitForm, JobTitleForm, OrganizationSettingsForm
from organizations.http import TenantRequest, form_response
from organizations.models import BusinessUnit, JobTitle
from organizations.permissions import HrAdminRequiredMixin, role_required
from organizations.views.base import BadRequestOnInvalidMixin


@role_required(Role.HR_ADMIN)
def organization_settings(request: TenantRequest, org_slug: str) -> HttpResponse:
    organization = request.organization
    form = OrganizationSettingsForm(request.POST or None, instance=organization)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Organisation settings saved."))
        return redirect("organizations:settings", org_slug)
    if form.errors:
        organization.refresh_from_db()
    return form_response(request, "organizations/settings.html", {"form": form})


class _ReferenceListView(HrAdminRequiredMixin, ListView):
    """Shared shape of the business unit and job title lists (with a create form)."""

    request: TenantRequest
    template_name = "organizations/reference_list.html"
    paginate_by = 50
    form_class: type[Any]
    title = ""
    create_url_name = ""
    edit_url_name = ""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            form=kwargs.get("form") or self.form_class(),
            title=self.title,
            edit_url_name=self.edit_url_name,
        )
        return context

    def post(self, request: TenantRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = self.form_class(request.POST)
        if form.is_valid():
            item = form.save(commit=False)
            item.organization = request.organization
            item.save()
            messages.success(request, _("%(name)s added.") % {"name": item})
            return HttpResponseRedirect(request.path)
        self.object_list = self.get_queryset()
        return self.render_to_response(self.get_context_data(form=form), status=400)


class BusinessUnitListView(_ReferenceListView):
    form_class = BusinessUnitForm
    title = _("Business units")
    edit_url_name = "organizations:business_unit_edit"

    def get_queryset(self) -> QuerySet[BusinessUnit]:
        return selectors.business_units_with_head_counts()


class JobTitleListView(_ReferenceListView):
    form_class = JobTitleForm
    title = _("Job titles")
    edit_url_name = "organizations:job_title_edit"

    def get_queryset(self) -> QuerySet[JobTitle]:
        return selectors.job_titles_with_head_counts()


class _ReferenceEditView(HrAdminRequiredMixin, BadRequestOnInvalidMixin, UpdateView):
    """Shared shape of the business unit and job title edit pages."""

    request: TenantRequest
    template_name = "organizations/reference_form.html"
    list_url_name = ""

    def get_success_url(self) -> str:
        messages.success(self.request, _("%(name)s saved.") % {"name": self.object})
        return reverse(self.list_url_name, args=[self.kwargs["org_slug"]])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["list_url"] = reverse(
            self.list_url_name, args=[self.kwargs["org_slug"]]
        )
        return context


class BusinessUnitEditView(_ReferenceEditView):
    form_class = BusinessUnitForm
    list_url_name = "organizations:business_units"

    def get_queryset(self) -> QuerySet[BusinessUnit]:
        return BusinessUnit.objects.all()


class JobTitleEditView(_ReferenceEditView):
    form_class = JobTitleForm
    list_url_name = "organizations:job_titles"

    def get_queryset(self) -> QuerySet[JobTitle]:
        return JobTitle.objects.all()


@role_required(Role.HR_ADMIN)
def background_work(request: TenantRequest, org_slug: str) -> HttpResponse:
    """HR: the organisation's background work still owed (e-mails, recomputations) and
    what failed; POST retries every failed piece."""
    if request.method == "POST":
        retried = outbox.retry_failed(organization=request.organization)
        if retried:
            messages.success(
                request,
                ngettext(
                    "%(count)s failed piece of work was queued again.",
                    "%(count)s failed pieces of work were queued again.",
                    retried,
                )
                % {"count": retried},
            )
        else:
            messages.info(request, _("Nothing had failed; there was nothing to retry."))
        return redirect("organizations:background_work", org_slug)
    return render(
        request,
        "organizations/background_work.html",
        {"backlog": selectors.outbox_backlog()},
    )
