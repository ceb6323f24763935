"""Forms of the engagements app. Choices always come from the active tenant scope.

People, clients, business units, job titles and competencies are pickers
(``organizations.pickers``): the page holds only the current choice, and the search
box asks the picker endpoint for the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from competencies.models import CompetencySet, RatingScale
from engagements.enums import EngagementRole, GoalStatus
from engagements.models import (
    Client,
    Engagement,
    EngagementType,
    Goal,
    GoalCheckIn,
    KeyActivity,
    Plan,
    PlanTemplate,
    ReviewCycle,
    RoleRule,
    TemplateGoal,
)
from engagements.selectors.competencies import (
    ScalePoint,
    addable_competencies,
    addable_template_competencies,
)
from engagements.selectors.pages import cycles_for_staffing
from engagements.services.plans import validate_goal
from engagements.services.templates import validate_template_goal
from organizations.forms import name_empty_choice, set_choices
from organizations.models import BusinessUnit, JobTitle
from organizations.pickers import PickerField, PickerMultipleField, active_people

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _unique(model: Any, instance: Any, **lookup: Any) -> bool:
    """True if no other row of ``model`` in this organisation matches ``lookup``."""
    clash = model.objects.filter(**lookup)
    if instance is not None and instance.pk:
        clash = clash.exclude(pk=instance.pk)
    return not clash.exists()


def _clean_unique(form: forms.ModelForm, field: str, message: StrOrPromise) -> str:
    """``field`` of ``form`` stripped; ValidationError(``message``) when another row of
    the form's model in this organisation has it already (ignoring case). One query."""
    value: str = form.cleaned_data[field].strip()
    if not _unique(form._meta.model, form.instance, **{f"{field}__iexact": value}):
        raise forms.ValidationError(message)
    return value


def dated_widgets(**others: forms.Widget) -> dict[str, forms.Widget]:
    """The ``widgets`` of a form with a start/end pair: date pickers for both, and
    ``others``."""
    return {"start_date": DATE, "end_date": DATE, **others}


def _check_dates(form: forms.BaseForm, cleaned: dict[str, Any]) -> dict[str, Any]:
    """Start/end pairs: the end may not come before the start."""
    start, end = cleaned.get("start_date"), cleaned.get("end_date")
    if start and end and end < start:
        form.add_error("end_date", _("The end cannot be before the start."))
    return cleaned


class _DatedForm(forms.ModelForm):
    """Start/end pairs: the end may not come before the start."""

    def clean(self) -> dict[str, Any]:
        return _check_dates(self, super().clean() or {})


class CycleForm(_DatedForm):
    class Meta:
        model = ReviewCycle
        fields = [
            "name",
            "start_date",
            "end_date",
            "general_weight",
            "engagement_weighting",
            "csat_weight",
            "allow_early_evaluation",
            "rating_scale",
        ]
        widgets = dated_widgets()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "rating_scale", RatingScale.objects.all())
        self.fields["csat_weight"].required = False
        scale = cast(forms.ModelChoiceField, self.fields["rating_scale"])
        scale.empty_label = _("The organisation's default scale")
        if self.instance.pk and self.instance.plans_locked:
            scale.disabled = True
            scale.help_text = _(
                "Fixed: reviewers rate on this scale once the cycle is in review."
            )

    def clean_csat_weight(self) -> Decimal:
        value = self.cleaned_data.get("csat_weight")
        return Decimal(0) if value is None else value

    def clean_name(self) -> str:
        return _clean_unique(self, "name", _("Another cycle already has this name."))


class ClientForm(forms.ModelForm):
    class Meta:
        model = Client
        fields = ["name", "industry", "contact_email"]

    def clean_name(self) -> str:
        return _clean_unique(self, "name", _("A client with this name exists already."))


class EngagementForm(_DatedForm):
    client = PickerField(source="clients", label=_("Client"))
    business_unit = PickerField(
        source="business_units",
        label=_("Business unit"),
        required=False,
        empty_label=_("No business unit"),
    )

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
            "engagement_type",
            "competency_set",
        ]
        widgets = dated_widgets(description=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "client", Client.objects.all())
        set_choices(self, "business_unit", BusinessUnit.objects.all())
        set_choices(self, "engagement_type", EngagementType.objects.all())
        set_choices(self, "competency_set", CompetencySet.objects.all())
        name_empty_choice(self, "engagement_type", _("No engagement type"))
        name_empty_choice(self, "competency_set", _("The engagement type's set"))
        self.fields["competency_set"].help_text = _(
            "The competencies of the plans of people staffed from now on. Leave "
            "empty to use the engagement type's set."
        )

    def clean_code(self) -> str:
        return _clean_unique(
            self, "code", _("Another engagement already uses this code.")
        )


class StaffingForm(forms.Form):
    """Staff one or many people on an engagement for a cycle."""

    cycle = forms.ModelChoiceField(
        label=_("Review cycle"),
        queryset=ReviewCycle.objects.none(),
        empty_label=_("Choose a review cycle"),
    )
    employees = PickerMultipleField(
        source="people",
        label=_("People"),
        help_text=_("Search by name, code or e-mail address; pick as many as needed."),
    )
    allocation = forms.DecimalField(
        label=_("Allocation (%)"),
        min_value=1,
        max_value=100,
        decimal_places=2,
        help_text=_("Share of each person's working time on this engagement."),
    )
    start_date = forms.DateField(
        label=_("Start"),
        required=False,
        widget=DATE,
        help_text=_("Leave empty for the overlap of engagement and cycle."),
    )
    end_date = forms.DateField(label=_("End"), required=False, widget=DATE)
    role_title = forms.CharField(
        label=_("Role on the engagement"),
        max_length=120,
        required=False,
        help_text=_("For example: Solution architect."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "cycle", cycles_for_staffing())
        set_choices(self, "employees", active_people())

    def clean(self) -> dict[str, Any]:
        return _check_dates(self, super().clean() or {})


class RoleAssignmentForm(forms.Form):
    employee = PickerField(source="people", label=_("Person"))
    role = forms.ChoiceField(label=_("Role"), choices=EngagementRole.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "employee", active_people())


class RoleRuleForm(forms.ModelForm):
    job_title = PickerField(source="job_titles", label=_("Job title"))

    class Meta:
        model = RoleRule
        fields = ["job_title", "role"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "job_title", JobTitle.objects.all())
        name_empty_choice(self, "role", _("Choose a role"))


class PlanTemplateForm(forms.ModelForm):
    class Meta:
        model = PlanTemplate
        fields = ["name", "description", "goal_weight"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def clean_name(self) -> str:
        return _clean_unique(
            self, "name", _("A template with this name exists already.")
        )


class TemplateGoalForm(forms.ModelForm):
    class Meta:
        model = TemplateGoal
        fields = [
            "title",
            "description",
            "metric",
            "target_value",
            "unit",
            "direction",
            "weight",
            "key_activities",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "key_activities": forms.Textarea(attrs={"rows": 3}),
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        errors = validate_template_goal(cleaned)
        if cleaned.get("weight") is None:
            # The field has refused the input already.
            errors.pop("weight", None)
        for name, message in errors.items():
            self.add_error(name, message)
        return cleaned


class ApplyTemplateForm(forms.Form):
    template = forms.ModelChoiceField(
        label=_("Template"),
        queryset=PlanTemplate.objects.none(),
        empty_label=_("Choose a template"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "template", PlanTemplate.objects.all())


class PlanForm(_DatedForm):
    version = forms.IntegerField(widget=forms.HiddenInput)
    reviewer = PickerField(
        source="plan_people",
        label=_("Reviewer for this plan"),
        required=False,
        empty_label=_("The engagement's reviewer, or the line manager"),
    )
    approver = PickerField(
        source="plan_people",
        label=_("Approver for this plan"),
        required=False,
        empty_label=_("The engagement's approver, or the line manager"),
    )

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
        widgets = dated_widgets(responsibilities=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["version"].initial = self.instance.version
        # The source's choices ("plan_people": anyone active), but the plan's own
        # employee.
        others = active_people().exclude(pk=self.instance.employee_id)
        set_choices(self, "reviewer", others)
        set_choices(self, "approver", others)
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
        for name, message in validate_goal(self.plan, cleaned).items():
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
        status = cast(forms.ChoiceField, self.fields["status"])
        status.choices = [
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
        set_choices(self, "cycle", ReviewCycle.objects.all())


# --- Competencies on plans and engagement types ------------------------------------------


def _point_key(value: Decimal) -> str:
    return format(value.normalize(), "f")


class PlanCompetencyForm(forms.Form):
    """Add a competency to a plan or a plan template (``adding``), or change one's
    weight and expected level. ``points`` are the points of the plan's cycle's scale
    (the default scale for templates)."""

    competency = PickerField(
        source="plan_competencies",
        label=_("Competency"),
        error_messages={
            "invalid_choice": _(
                "Choose one of the listed competencies. Archived ones, and those on "
                "the plan already, cannot be added."
            )
        },
    )
    expected_level = forms.TypedChoiceField(
        label=_("Expected level"), coerce=Decimal, choices=()
    )
    weight = forms.DecimalField(
        label=_("Weight"),
        max_digits=6,
        decimal_places=2,
        initial=Decimal(1),
        help_text=_("Relative to the plan's other competencies."),
    )

    def __init__(
        self,
        *args: Any,
        plan: Plan | None = None,
        points: Sequence[ScalePoint],
        adding: bool = True,
        template: PlanTemplate | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if adding and template is not None:
            set_choices(self, "competency", addable_template_competencies(template))
        elif adding and plan is not None:
            set_choices(self, "competency", addable_competencies(plan))
        else:
            del self.fields["competency"]
        level = cast(forms.TypedChoiceField, self.fields["expected_level"])
        level.choices = [("", _("Choose a level"))] + [
            (_point_key(p.value), p.text) for p in points
        ]
        if points:
            listed = ", ".join(_point_key(p.value) for p in points)
            level.error_messages["invalid_choice"] = _(
                "Pick a point of the scale (%(points)s)."
            ) % {"points": listed}
            if adding:
                level.initial = _point_key(points[len(points) // 2].value)
        else:
            level.help_text = _(
                "The organisation has no rating scale yet. Ask HR to create one first."
            )

    def clean_weight(self) -> Decimal:
        weight: Decimal = self.cleaned_data["weight"]
        if weight <= 0:
            raise forms.ValidationError(_("The weight must be more than 0."))
        return weight


class EngagementTypeForm(forms.ModelForm):
    class Meta:
        model = EngagementType
        fields = ["name", "competency_set"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "competency_set", CompetencySet.objects.all())
        name_empty_choice(self, "competency_set", _("No competency set"))
        self.fields["competency_set"].help_text = _(
            "Plans of people staffed on engagements of this type get these "
            "competencies, unless the engagement names a set of its own."
        )

    def clean_name(self) -> str:
        return _clean_unique(
            self, "name", _("An engagement type with this name exists already.")
        )
