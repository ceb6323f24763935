"""Views of the organizations app: thin wrappers over selectors, forms and services.

Every view under /o/<slug>/ runs inside the tenant (see ``TenantMiddleware``); access
is checked in one place per view: a role guard or an access function.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.generic import CreateView, ListView, UpdateView
from django_filters.views import FilterView

from organizations import selectors, services
from organizations.enums import Role
from organizations.errors import DomainError
from organizations.filters import EmployeeFilter
from organizations.forms import (
    AcceptInvitationForm,
    BusinessUnitForm,
    EmployeeForm,
    InvitationForm,
    JobTitleForm,
    OrganizationSettingsForm,
)
from organizations.home import sections_for
from organizations.models import (
    BusinessUnit,
    Employee,
    Invitation,
    JobTitle,
    Membership,
)
from organizations.permissions import HrAdminRequiredMixin, role_required
from organizations.tenancy import tenant_context

PAGE_SIZE = 25

# --- Outside any organisation ----------------------------------------------------------


@login_required
def root(request: HttpRequest) -> HttpResponse:
    """Send a member of one organisation straight there; let others pick one."""
    memberships = list(
        Membership.unscoped.for_user(request.user)  # type: ignore[arg-type]
        .select_related("organization")
        .order_by("organization__name")
    )
    if len(memberships) == 1:
        return redirect("organizations:home", memberships[0].organization.slug)
    return render(request, "organizations/switcher.html", {"choices": memberships})


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Report whether the database and the Celery broker answer (503 if one does not)."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001 - any failure means unhealthy
        checks["database"] = "unavailable"
    if settings.REDIS_URL:
        try:
            import redis

            redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping()
            checks["broker"] = "ok"
        except Exception:  # noqa: BLE001
            checks["broker"] = "unavailable"
    else:
        checks["broker"] = "eager (no broker configured)"
    healthy = all(v != "unavailable" for v in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", **checks},
        status=200 if healthy else 503,
    )


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """Join an organisation through a signed, expiring, single-use invitation link."""
    try:
        organization, invitation_id = services.load_invitation(token)
        with tenant_context(organization):
            invitation = services.check_invitation_usable(
                Invitation.objects.filter(pk=invitation_id).first()
            )
    except services.InvitationError as exc:
        return render(
            request,
            "organizations/invitation_invalid.html",
            {"message": exc.message, "reason": exc.reason},
            status=400 if exc.reason == "tampered" else 410,
        )

    existing_account = request.user.is_authenticated
    form = (
        None
        if existing_account
        else AcceptInvitationForm(request.POST or None, email=invitation.email)
    )
    error = None
    if request.method == "POST" and (form is None or form.is_valid()):
        try:
            if form is None:
                membership = services.accept_invitation(
                    organization=organization,
                    invitation_id=invitation_id,
                    user=request.user,  # type: ignore[arg-type]
                )
            else:
                membership = services.accept_invitation(
                    organization=organization,
                    invitation_id=invitation_id,
                    full_name=form.cleaned_data["full_name"],
                    password=form.cleaned_data["password1"],
                )
                login(
                    request,
                    membership.user,
                    backend="django.contrib.auth.backends.ModelBackend",
                )
        except services.InvitationError as exc:
            return render(
                request,
                "organizations/invitation_invalid.html",
                {"message": exc.message, "reason": exc.reason},
                status=410,
            )
        except DomainError as exc:
            error = exc.message
        else:
            messages.success(
                request, _("Welcome to %(org)s.") % {"org": organization.name}
            )
            return redirect("organizations:home", organization.slug)
    return render(
        request,
        "organizations/invitation_accept.html",
        {
            "form": form,
            "invitation": invitation,
            "invited_org": organization,
            "error": error,
        },
    )


# --- Inside an organisation --------------------------------------------------------------


def home(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The role-aware start page: what this member can do next."""
    membership: Membership = request.membership  # type: ignore[attr-defined]
    me: Employee | None = request.employee  # type: ignore[attr-defined]
    context: dict[str, Any] = {"me": me if me else None}
    if membership.role == Role.HR_ADMIN:
        context["overview"] = selectors.hr_overview()
        context["recent_invitations"] = list(selectors.pending_invitations()[:5])
    context["direct_reports"] = list(selectors.direct_reports_of(me if me else None))
    context["sections"] = sections_for(request)
    return render(request, "organizations/home.html", context)


class PeopleListView(HrAdminRequiredMixin, FilterView):
    """The people directory with search, filters and pagination (HR admins)."""

    template_name = "organizations/people_list.html"
    filterset_class = EmployeeFilter
    paginate_by = PAGE_SIZE
    context_object_name = "employees"

    def get_queryset(self) -> QuerySet[Employee]:
        return selectors.people_directory(self.request.membership)  # type: ignore[attr-defined]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        rows = list(context["employees"])
        by_user = selectors.memberships_by_user([e.user_id for e in rows if e.user_id])
        context["rows"] = [(e, by_user.get(e.user_id)) for e in rows]
        query = self.request.GET.copy()
        query.pop("page", None)
        context["query_string"] = query.urlencode()
        return context


class EmployeeCreateView(HrAdminRequiredMixin, CreateView):
    template_name = "organizations/employee_form.html"
    form_class = EmployeeForm

    def form_invalid(self, form: EmployeeForm) -> HttpResponse:
        response = super().form_invalid(form)
        response.status_code = 400
        return response

    def form_valid(self, form: EmployeeForm) -> HttpResponse:
        try:
            employee = services.create_employee(
                actor=self.request.membership,  # type: ignore[attr-defined]
                **form.cleaned_data,
            )
        except DomainError as exc:
            form.add_error(exc.field, exc.message)
            return self.form_invalid(form)
        messages.success(
            self.request, _("%(name)s was added to the directory.") % {"name": employee}
        )
        return redirect(
            "organizations:employee_detail", self.kwargs["org_slug"], employee.pk
        )


def employee_detail(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    employee = selectors.get_employee_for(request, pk)
    membership: Membership = request.membership  # type: ignore[attr-defined]
    can_manage = membership.role == Role.HR_ADMIN
    member = (
        Membership.objects.filter(user_id=employee.user_id).first()
        if employee.user_id
        else None
    )
    context = {
        "employee": employee,
        "member": member,
        "can_manage": can_manage,
        "reports": list(selectors.direct_reports_of(employee)),
        "timeline": selectors.employee_history(employee) if can_manage else [],
    }
    return render(request, "organizations/employee_detail.html", context)


def employee_edit(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    employee = selectors.get_employee_for(request, pk, perm="change")
    member = (
        Membership.objects.filter(user_id=employee.user_id).first()
        if employee.user_id
        else None
    )
    form = EmployeeForm(
        request.POST or None,
        instance=employee,
        role=member.role if member else None,
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        role = data.pop("role", None) or None
        try:
            services.update_employee(
                actor=request.membership,  # type: ignore[attr-defined]
                employee=employee,
                role=role,
                **data,
            )
        except DomainError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(
                request, _("Changes to %(name)s saved.") % {"name": employee}
            )
            return redirect("organizations:employee_detail", org_slug, employee.pk)
    if form.errors:
        # The bound instance carries the rejected values; show the stored ones.
        employee.refresh_from_db()
    return render(
        request,
        "organizations/employee_form.html",
        {"form": form, "employee": employee},
        status=400 if form.errors else 200,
    )


@require_POST
def employee_set_active(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    employee = selectors.get_employee_for(request, pk, perm="change")
    active = request.POST.get("active") == "true"
    try:
        services.set_employee_active(
            actor=request.membership,  # type: ignore[attr-defined]
            employee=employee,
            active=active,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if active:
            messages.success(
                request, _("%(name)s is active again.") % {"name": employee}
            )
        else:
            messages.success(
                request,
                _("%(name)s is deactivated and can no longer sign in here.")
                % {"name": employee},
            )
    return redirect("organizations:employee_detail", org_slug, employee.pk)


@role_required(Role.HR_ADMIN)
def invitations(request: HttpRequest, org_slug: str) -> HttpResponse:
    """List pending invitations and send new ones."""
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.invite_member(
                actor=request.membership,  # type: ignore[attr-defined]
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                employee=form.cleaned_data.get("employee"),
            )
        except DomainError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(
                request,
                _("Invitation sent to %(email)s. The link works for %(days)s days.")
                % {"email": invitation.email, "days": settings.INVITATION_MAX_AGE.days},
            )
            return redirect("organizations:invitations", org_slug)
    pending = list(selectors.pending_invitations())
    return render(
        request,
        "organizations/invitations.html",
        {
            "form": form,
            "pending": pending,
            "invitation_days": settings.INVITATION_MAX_AGE.days,
        },
        status=400 if form.errors else 200,
    )


@require_POST
@role_required(Role.HR_ADMIN)
def invitation_revoke(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation.objects.all(), pk=pk)
    try:
        services.revoke_invitation(
            actor=request.membership,  # type: ignore[attr-defined]
            invitation=invitation,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("The invitation to %(email)s was withdrawn.")
            % {"email": invitation.email},
        )
    return redirect("organizations:invitations", org_slug)


@role_required(Role.HR_ADMIN)
def organization_settings(request: HttpRequest, org_slug: str) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    form = OrganizationSettingsForm(request.POST or None, instance=organization)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Organisation settings saved."))
        return redirect("organizations:settings", org_slug)
    if form.errors:
        organization.refresh_from_db()
    return render(
        request,
        "organizations/settings.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


class _ReferenceListView(HrAdminRequiredMixin, ListView):
    """Shared shape of the business unit and job title lists (with a create form)."""

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

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = self.form_class(request.POST)
        if form.is_valid():
            item = form.save(commit=False)
            item.organization = request.organization  # type: ignore[attr-defined]
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
        # Meta.ordering does not apply to GROUP BY queries; paginating needs an order.
        return (
            BusinessUnit.objects.select_related("parent")
            .annotate(people=Count("employees"))
            .order_by("name")
        )


class JobTitleListView(_ReferenceListView):
    form_class = JobTitleForm
    title = _("Job titles")
    edit_url_name = "organizations:job_title_edit"

    def get_queryset(self) -> QuerySet[JobTitle]:
        # Meta.ordering does not apply to GROUP BY queries; paginating needs an order.
        return JobTitle.objects.annotate(people=Count("employees")).order_by("name")


class _ReferenceEditView(HrAdminRequiredMixin, UpdateView):
    template_name = "organizations/reference_form.html"
    list_url_name = ""

    def get_success_url(self) -> str:
        messages.success(self.request, _("%(name)s saved.") % {"name": self.object})
        return reverse(self.list_url_name, args=[self.kwargs["org_slug"]])

    def form_invalid(self, form: Any) -> HttpResponse:
        response = super().form_invalid(form)
        response.status_code = 400
        return response

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
