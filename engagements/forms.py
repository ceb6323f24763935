"""Forms of the engagements app. Choices always come from the active tenant scope."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from engagements import services
from engagements.enums import EngagementRole, GoalStatus
from engagements.models import (
    Client,
    Engagement,
    Goal,
    GoalCheckIn,
    KeyActivity,
    Plan,
    PlanTemplate,
    ReviewCycle,
    RoleRule,
    TemplateGoal,
)
from engagements.selectors import cycles_for_staffing
from organizations.models import BusinessUnit, Employee, JobTitle

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _choices(form: forms.BaseForm, name: str, queryset: Any) -> None:
    field = form.fields[name]
    if not isinstance(field, forms.ModelChoiceField):
        raise TypeError(f"{name} is not a model choice field.")
    field.queryset = queryset


def _unique(model: Any, instance: Any, **lookup: Any) -> bool:
    """True if no other row of ``model`` in this organisation matches ``lookup``."""
    clash = model.objects.filter(**lookup)
    if instance is not None and instance.pk:
        clash = clash.exclude(pk=instance.pk)
    return not clash.exists()


class _DatedForm(forms.ModelForm):
    """Start/end pairs: the end may not come before the start."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", _("The end cannot be before the start."))
        return cleaned


class CycleForm(_DatedForm):
    class Meta:
        model = ReviewCycle
        fields = ["name", "start_date", "end_date", "general_weight", "engagement_weighting"]
        widgets = {"start_date": DATE, "end_date": DATE}

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not _unique(ReviewCycle, self.instance, name__iexact=name):
            raise forms.ValidationError(_("Another cycle already has this name."))
        return name


class ClientForm(forms.ModelForm):
    class Meta:
        model = Client
        fields = ["name", "industry", "contact_email"]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not _unique(Client, self.instance, name__iexact=name):
            raise forms.ValidationError(_("A client with this name exists already."))
        return name


class EngagementForm(_DatedForm):
    class Meta:
        model = Engagement
        fields = [
            "client",
            "code",
            "name",
            "description",
            "business_unit",
            "start_date",
            "end_date",
            "status",
        ]
        widgets = {"start_date": DATE, "end_date": DATE, "description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "client", Client.objects.all())
        _choices(self, "business_unit", BusinessUnit.objects.all())

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if not _unique(Engagement, self.instance, code__iexact=code):
            raise forms.ValidationError(_("Another engagement already uses this code."))
        return code


class StaffingForm(forms.Form):
    """Staff one or many people on an engagement for a cycle."""

    cycle = forms.ModelChoiceField(label=_("Review cycle"), queryset=ReviewCycle.objects.none())
    employees = forms.ModelMultipleChoiceField(
        label=_("People"),
        queryset=Employee.objects.none(),
        widget=forms.SelectMultiple(attrs={"size": 10}),
        help_text=_("Hold Ctrl (Cmd on a Mac) to pick several."),
    )
    allocation = forms.DecimalField(
        label=_("Allocation (%)"), min_value=1, max_value=100, decimal_places=2,
        help_text=_("Share of each person's working time on this engagement."),
    )
    start_date = forms.DateField(
        label=_("Start"), required=False, widget=DATE,
        help_text=_("Leave empty for the overlap of engagement and cycle."),
    )
    end_date = forms.DateField(label=_("End"), required=False, widget=DATE)
    role_title = forms.CharField(
        label=_("Role on the engagement"), max_length=120, required=False,
        help_text=_("For example: Solution architect."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "cycle", cycles_for_staffing())
        _choices(self, "employees", Employee.objects.filter(is_active=True).select_related("job_title"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", _("The end cannot be before the start."))
        return cleaned


class RoleAssignmentForm(forms.Form):
    employee = forms.ModelChoiceField(label=_("Person"), queryset=Employee.objects.none())
    role = forms.ChoiceField(label=_("Role"), choices=EngagementRole.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "employee", Employee.objects.filter(is_active=True))


class RoleRuleForm(forms.ModelForm):
    class Meta:
        model = RoleRule
        fields = ["job_title", "role"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "job_title", JobTitle.objects.all())


class PlanTemplateForm(forms.ModelForm):
    class Meta:
        model = PlanTemplate
        fields = ["name", "description", "goal_weight"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not _unique(PlanTemplate, self.instance, name__iexact=name):
            raise forms.ValidationError(_("A template with this name exists already."))
        return name


class TemplateGoalForm(forms.ModelForm):
    class Meta:
        model = TemplateGoal
        fields = ["title", "description", "metric", "target_value", "unit", "direction", "weight", "key_activities"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "key_activities": forms.Textarea(attrs={"rows": 3}),
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        weight = cleaned.get("weight")
        if weight is not None and weight <= 0:
            self.add_error("weight", _("The weight must be more than 0."))
        if cleaned.get("metric") and cleaned.get("target_value") is None:
            self.add_error("target_value", _("A goal with a metric needs a target value."))
        return cleaned


class ApplyTemplateForm(forms.Form):
    template = forms.ModelChoiceField(label=_("Template"), queryset=PlanTemplate.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "template", PlanTemplate.objects.all())


class PlanForm(_DatedForm):
    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = Plan
        fields = [
            "start_date",
            "end_date",
            "allocation",
            "role_title",
            "responsibilities",
            "goal_weight",
            "custom_weight",
            "reviewer",
            "approver",
        ]
        widgets = {
            "start_date": DATE,
            "end_date": DATE,
            "responsibilities": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["version"].initial = self.instance.version
        others = Employee.objects.filter(is_active=True).exclude(pk=self.instance.employee_id)
        _choices(self, "reviewer", others)
        _choices(self, "approver", others)
        if self.instance.kind == "general":
            for name in ("allocation", "role_title", "custom_weight"):
                del self.fields[name]
        else:
            self.fields["allocation"].required = True


class GoalForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Goal
        fields = [
            "title",
            "description",
            "metric",
            "target_value",
            "unit",
            "direction",
            "weight",
            "planned_start",
            "due_date",
            "responsibilities",
        ]
        widgets = {
            "planned_start": DATE,
            "due_date": DATE,
            "description": forms.Textarea(attrs={"rows": 2}),
            "responsibilities": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args: Any, plan: Plan, **kwargs: Any) -> None:
        self.plan = plan
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name, message in services.validate_goal(self.plan, cleaned).items():
            if name in self.fields and name not in self.errors:
                self.add_error(name, message)
        return cleaned


class KeyActivityForm(forms.ModelForm):
    class Meta:
        model = KeyActivity
        fields = ["title", "due_date"]
        widgets = {"due_date": DATE}


class CheckInForm(forms.ModelForm):
    class Meta:
        model = GoalCheckIn
        fields = ["progress", "actual_value", "status", "note"]
        widgets = {"note": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [  # type: ignore[attr-defined]
            c for c in GoalStatus.choices if c[0] != GoalStatus.NOT_STARTED
        ]
        self.fields["progress"].widget.attrs.update(min=0, max=100)


class EngagementTemplateForm(ApplyTemplateForm):
    """Apply a template to every plan of an engagement, or to those of one cycle."""

    cycle = forms.ModelChoiceField(
        label=_("Cycle"),
        queryset=ReviewCycle.objects.none(),
        required=False,
        empty_label=_("Every cycle still open"),
        help_text=_(
            "Leave empty for the plans of every cycle not yet in review or closed."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "cycle", ReviewCycle.objects.all())
