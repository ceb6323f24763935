"""The people directory: the list, adding a person, a person's page, editing and
(de)activating them."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.generic import CreateView
from django_filters.views import FilterView

from organizations import selectors, services
from organizations.filters import EmployeeFilter
from organizations.forms import EmployeeForm
from organizations.http import TenantRequest, apply_service, form_response
from organizations.models import Employee
from organizations.permissions import HrAdminRequiredMixin
from organizations.views.base import BadRequestOnInvalidMixin, run_action

PAGE_SIZE = 25


class PeopleListView(HrAdminRequiredMixin, FilterView):
    """The people directory with search, filters and pagination (HR admins)."""

    request: TenantRequest
    template_name = "organizations/people_list.html"
    filterset_class = EmployeeFilter
    paginate_by = PAGE_SIZE
    context_object_name = "employees"

    def get_queryset(self) -> QuerySet[Employee]:
        return selectors.people_directory(self.request.membership)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)
        rows = list(context["employees"])
        by_user = selectors.memberships_by_user([e.user_id for e in rows if e.user_id])
        context["rows"] = [(e, by_user.get(e.user_id)) for e in rows]
        query = self.request.GET.copy()
        query.pop("page", None)
        context["query_string"] = query.urlencode()
        return context


class EmployeeCreateView(HrAdminRequiredMixin, BadRequestOnInvalidMixin, CreateView):
    request: TenantRequest
    template_name = "organizations/employee_form.html"
    form_class = EmployeeForm

    def form_valid(self, form: EmployeeForm) -> HttpResponse:
        actor = self.request.membership
        outcome = apply_service(
            form, lambda: services.create_employee(actor=actor, **form.cleaned_data)
        )
        employee = outcome.value
        if employee is None:  # refused: the form now carries the reason
            return self.form_invalid(form)
        messages.success(
            self.request, _("%(name)s was added to the directory.") % {"name": employee}
        )
        return redirect(
            "organizations:employee_detail", self.kwargs["org_slug"], employee.pk
        )


def employee_detail(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    employee = selectors.get_employee_for(request, pk)
    can_manage = request.membership.is_hr_admin
    login_email = employee.user.email if employee.user is not None else ""
    context = {
        "employee": employee,
        # HR sees the login address beside the directory's when they differ, since
        # e-mails go to the login address.
        "login_email": login_email
        if can_manage and login_email.lower() != employee.email.lower()
        else "",
        "member": selectors.membership_of(employee),
        "can_manage": can_manage,
        "reports": list(selectors.direct_reports_of(employee)),
        # Reports' pages open to HR and to their own line manager (this person).
        "links_reports": can_manage or employee.user_id == request.membership.user_id,
        "timeline": selectors.employee_history(employee) if can_manage else [],
    }
    return render(request, "organizations/employee_detail.html", context)


def employee_edit(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    employee = selectors.get_employee_for(request, pk, perm="change")
    member = selectors.membership_of(employee)
    form = EmployeeForm(
        request.POST or None,
        instance=employee,
        role=member.role if member else None,
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        role = data.pop("role", None) or None
        outcome = apply_service(
            form,
            lambda: services.update_employee(
                actor=request.membership, employee=employee, role=role, **data
            ),
        )
        if outcome.ok:
            messages.success(
                request, _("Changes to %(name)s saved.") % {"name": employee}
            )
            return redirect("organizations:employee_detail", org_slug, employee.pk)
    if form.errors:
        # The bound instance carries the rejected values; show the stored ones.
        employee.refresh_from_db()
    return form_response(
        request,
        "organizations/employee_form.html",
        {"form": form, "employee": employee},
    )


@require_POST
def employee_set_active(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    employee = selectors.get_employee_for(request, pk, perm="change")
    active = request.POST.get("active") == "true"
    if active:
        done = _("%(name)s is active again.") % {"name": employee}
    else:
        done = _("%(name)s is deactivated and can no longer sign in here.") % {
            "name": employee
        }
    run_action(
        request,
        lambda: services.set_employee_active(
            actor=request.membership, employee=employee, active=active
        ),
        done,
    )
    return redirect("organizations:employee_detail", org_slug, employee.pk)
