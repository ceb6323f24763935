"""Forms of the organizations app. Choices are always the current organisation's."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from organizations.enums import Role
from organizations.models import (
    BusinessUnit,
    Employee,
    Invitation,
    JobTitle,
    Organization,
    User,
)
from organizations.pickers import PickerField, active_people, people_without_login
from organizations.services import line_manager_error

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def set_choices(form: forms.BaseForm, name: str, queryset: Any) -> None:
    """Point a model choice field at a queryset built inside the tenant scope."""
    field = form.fields[name]
    if not isinstance(field, forms.ModelChoiceField):
        raise TypeError(f"{name} is not a model choice field.")
    field.queryset = queryset


def name_empty_choice(form: forms.BaseForm, name: str, label: StrOrPromise) -> None:
    """Have the empty choice of ``form``'s select ``name`` say what to choose (or
    what leaving it empty means) instead of Django's "---------": the empty label
    of a model choice field, the blank first choice of a field whose choices come
    from a model field's ``choices``."""
    field = form.fields[name]
    if isinstance(field, forms.ModelChoiceField):
        field.empty_label = label
    elif isinstance(field, forms.ChoiceField):
        given = cast(Iterable[tuple[Any, Any]], field.choices)
        field.choices = [("", label), *(c for c in given if c[0] not in ("", None))]
    else:
        raise TypeError(f"{name} is not a choice field.")


def taken_by_another(form: forms.ModelForm, queryset: QuerySet[Any]) -> bool:
    """Whether ``queryset`` matches a row other than the one ``form`` edits. One query."""
    if form.instance.pk:
        queryset = queryset.exclude(pk=form.instance.pk)
    return queryset.exists()


def normalised_login_username(request: Any, credentials: dict[str, Any] | None) -> str:
    """The login name as the account stores it (django-axes counts failures by it)."""
    raw = (credentials or {}).get("username") or request.POST.get("username", "")
    return str(raw).strip().lower()


class LoginForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("E-mail address"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    def clean_username(self) -> str:
        # Accounts store e-mail addresses in lower case; accept any capitalisation.
        return str(self.cleaned_data["username"]).strip().lower()


class EmployeeForm(forms.ModelForm):
    """Create or edit a directory entry; HR admins may also set the member's role."""

    line_manager = PickerField(
        source="people",
        label=_("Line manager"),
        required=False,
        empty_label=_("Nobody"),
    )
    job_title = PickerField(
        source="job_titles",
        label=_("Job title"),
        required=False,
        empty_label=_("No job title"),
    )
    business_unit = PickerField(
        source="business_units",
        label=_("Business unit"),
        required=False,
        empty_label=_("No business unit"),
    )
    role = forms.ChoiceField(
        label=_("Role"),
        choices=Role.choices,
        required=False,
        help_text=_(
            "What this person can do here. Only people with a login have a role."
        ),
    )

    class Meta:
        model = Employee
        fields = [
            "code",
            "full_name",
            "email",
            "job_title",
            "business_unit",
            "line_manager",
        ]

    def __init__(self, *args: Any, role: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Querysets are set here, inside the request's tenant scope.
        set_choices(self, "job_title", JobTitle.objects.all())
        set_choices(self, "business_unit", BusinessUnit.objects.all())
        managers = active_people()
        if self.instance.pk:
            managers = managers.exclude(pk=self.instance.pk)
        set_choices(self, "line_manager", managers)
        if role is None:
            del self.fields["role"]
        else:
            self.fields["role"].initial = role
            self.fields["role"].required = True

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if taken_by_another(self, Employee.objects.filter(code__iexact=code)):
            raise forms.ValidationError(
                _(
                    "Another person already has the code %(code)s. Codes must be unique."
                ),
                params={"code": code},
            )
        return code

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        manager = cleaned.get("line_manager")
        error = line_manager_error(
            employee=self.instance if self.instance.pk else None, manager=manager
        )
        if error:
            self.add_error("line_manager", error)
        return cleaned


class InvitationForm(forms.ModelForm):
    employee = PickerField(
        source="people_without_login",
        label=_("Directory entry"),
        required=False,
        empty_label=_("None: match by e-mail address"),
        help_text=_(
            "Optional: the directory entry this person will be linked to. Left "
            "empty, an entry with the same e-mail address is used or created."
        ),
    )

    class Meta:
        model = Invitation
        fields = ["email", "role", "employee"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "employee", people_without_login())
        name_empty_choice(self, "role", _("Choose a role"))
        self.fields["role"].initial = Role.EMPLOYEE


class AcceptInvitationForm(forms.Form):
    full_name = forms.CharField(label=_("Your full name"), max_length=200)
    password1 = forms.CharField(
        label=_("Choose a password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Repeat the password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        self.email = email
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The two passwords differ. Type them again."))
        elif p1:
            probe = User(email=self.email, full_name=cleaned.get("full_name", ""))
            try:
                password_validation.validate_password(p1, probe)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned


class OrganizationSettingsForm(forms.ModelForm):
    class Meta:
        model = Organization
        fields = [
            "name",
            "timezone",
            "language",
            "general_weight",
            "goal_weight",
            "report_retention_days",
        ]


class BusinessUnitForm(forms.ModelForm):
    parent = PickerField(
        source="business_units",
        label=_("Parent unit"),
        required=False,
        empty_label=_("None (a top-level unit)"),
    )

    class Meta:
        model = BusinessUnit
        fields = ["name", "parent"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        parents = BusinessUnit.objects.all()
        if self.instance.pk:
            parents = parents.exclude(pk__in=self._descendants_and_self())
        set_choices(self, "parent", parents)

    def _descendants_and_self(self) -> set[int]:
        children: dict[int | None, list[int]] = {}
        for pk, parent in BusinessUnit.objects.values_list("pk", "parent_id"):
            children.setdefault(parent, []).append(pk)
        found, todo = set(), [self.instance.pk]
        while todo:
            pk = todo.pop()
            if pk in found:
                continue
            found.add(pk)
            todo.extend(children.get(pk, []))
        return found

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if taken_by_another(self, BusinessUnit.objects.filter(name__iexact=name)):
            raise forms.ValidationError(
                _("A business unit with this name exists already.")
            )
        return name


class JobTitleForm(forms.ModelForm):
    class Meta:
        model = JobTitle
        fields = ["name"]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if taken_by_another(self, JobTitle.objects.filter(name__iexact=name)):
            raise forms.ValidationError(_("A job title with this name exists already."))
        return name
