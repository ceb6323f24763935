"""Forms of the competencies app. Choices always come from the active tenant scope.

A scale's form has a label and a description field for every point of the scale;
which points those are follows the lowest point, highest point and step posted (or
stored), so changing the range and pressing "Update the points" shows the new rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict

from django import forms
from django.utils.html import conditional_escape
from django.utils.translation import gettext_lazy as _

from competencies.enums import ScaleStep
from competencies.models import (
    Competency,
    CompetencyCategory,
    CompetencySet,
    RatingLevel,
    RatingScale,
)
from competencies.services.scales import (
    LevelInput,
    format_point,
    level_errors,
    point_key,
    scale_points,
    scale_shape_errors,
)
from organizations.forms import name_empty_choice, set_choices
from organizations.models import JobTitle
from organizations.pickers import PickerField, PickerMultipleField

DEFAULT_SHAPE = (Decimal(1), Decimal(5), Decimal(1))
STEP_ERROR = _("Choose whole points (1) or half points (0.5).")


def _unique(model: Any, instance: Any, **lookup: Any) -> bool:
    """True if no other row of ``model`` in this organisation matches ``lookup``."""
    clash = model.objects.filter(**lookup)
    if instance is not None and instance.pk:
        clash = clash.exclude(pk=instance.pk)
    return not clash.exists()


def _lenient_decimal(value: Any) -> Decimal | None:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def level_choices(levels: Sequence[RatingLevel]) -> list[tuple[str, str]]:
    """Choices for an expected level: each point of the scale with its label."""
    return [
        (format_point(level.value), f"{format_point(level.value)} · {level.label}")
        for level in levels
    ]


def _set_level_choices(form: forms.BaseForm, choices: list[tuple[str, str]]) -> None:
    """Offer ``choices`` (points of the default scale) in the form's expected level."""
    field = form.fields["expected_level"]
    if not isinstance(field, forms.ChoiceField):
        raise TypeError("expected_level is not a choice field.")
    field.choices = choices
    field.error_messages["invalid_choice"] = _(
        "Choose a point of the default rating scale."
    )


def _shape(
    values: tuple[Decimal | None, Decimal | None, Decimal | None],
) -> tuple[Decimal, Decimal, Decimal] | None:
    """Lowest point, highest point and step when all three are given and make a
    valid scale, else None."""
    low, high, step = values
    if low is None or high is None or step is None:
        return None
    if scale_shape_errors(low, high, step):
        return None
    return low, high, step


class CompetencyFields(TypedDict):
    """What ``create_competency`` and ``update_competency`` take from the form."""

    name: str
    category: CompetencyCategory
    description: str
    descriptors: dict[Decimal, str]


class ScaleFields(TypedDict):
    """What ``create_scale`` and ``update_scale`` take from the form."""

    name: str
    min_value: Decimal
    max_value: Decimal
    step: Decimal
    levels: list[LevelInput]


class _WeightField(forms.DecimalField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Weight"))
        kwargs.setdefault(
            "help_text",
            _("How much this competency counts relative to the others in the set."),
        )
        super().__init__(max_digits=6, decimal_places=2, **kwargs)

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is not None and value <= 0:
            raise forms.ValidationError(_("The weight must be more than 0."))


# --- Rating scales -------------------------------------------------------------------


class RatingScaleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    min_value = forms.DecimalField(
        label=_("Lowest point"), max_digits=4, decimal_places=1
    )
    max_value = forms.DecimalField(
        label=_("Highest point"), max_digits=4, decimal_places=1
    )
    step = forms.TypedChoiceField(
        label=_("Step"),
        choices=ScaleStep.choices,
        coerce=Decimal,
        error_messages={"invalid_choice": STEP_ERROR},
    )

    def __init__(
        self,
        *args: Any,
        scale: RatingScale | None = None,
        levels: Sequence[RatingLevel] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.scale = scale
        stored = {level.value: level for level in levels}
        shape = DEFAULT_SHAPE
        if scale is not None:
            shape = (scale.min_value, scale.max_value, scale.step)
            self.fields["name"].initial = scale.name
        for name, value in zip(("min_value", "max_value", "step"), shape, strict=True):
            self.fields[name].initial = format_point(value)
        self.points = self._points(shape)
        for value in self.points:
            key = point_key(value)
            shown = format_point(value)
            level = stored.get(value)
            self.fields[f"label_{key}"] = forms.CharField(
                label=_("Label of point %(point)s") % {"point": shown},
                max_length=80,
                required=False,
                initial=level.label if level else "",
            )
            self.fields[f"description_{key}"] = forms.CharField(
                label=_("Description of point %(point)s") % {"point": shown},
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
                initial=level.description if level else "",
            )

    def _points(self, fallback: tuple[Decimal, Decimal, Decimal]) -> list[Decimal]:
        """The points the posted (or initial) range describes; the stored or default
        ones while that range is not valid."""
        source = self.data if self.is_bound else self.initial
        low, high, step = (
            _lenient_decimal(
                source.get(self.add_prefix(name)) if self.is_bound else source.get(name)
            )
            for name in ("min_value", "max_value", "step")
        )
        shape = _shape((low, high, step))
        return scale_points(*shape) if shape is not None else scale_points(*fallback)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not _unique(RatingScale, self.scale, name__iexact=name):
            raise forms.ValidationError(
                _("Another scale already has this name; choose a different one.")
            )
        return name

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        shape = (
            cleaned.get("min_value"),
            cleaned.get("max_value"),
            cleaned.get("step"),
        )
        errors = scale_shape_errors(*shape)
        for field, message in errors.items():
            if field not in self.errors:
                self.add_error(field, message)
        valid = _shape(shape)
        if valid is None or self.errors.keys() & {"min_value", "max_value"}:
            return cleaned
        points = scale_points(*valid)
        if points != self.points:
            # Only when the posted numbers parse differently from the fields'
            # cleaning (e.g. "05"): the rows shown are not the scale's points.
            self.add_error(
                None,
                _("The points changed; check their labels and save again."),
            )
            return cleaned
        for field, message in level_errors(points, self.level_inputs()).items():
            self.add_error(field, message)
        return cleaned

    def level_rows(self) -> list[dict[str, Any]]:
        """For the template: each point with its label and description fields."""
        return [
            {
                "value": format_point(value),
                "label": self[f"label_{point_key(value)}"],
                "description": self[f"description_{point_key(value)}"],
            }
            for value in self.points
        ]

    def level_inputs(self) -> list[LevelInput]:
        data = self.cleaned_data
        return [
            LevelInput(
                value=value,
                label=data.get(f"label_{point_key(value)}", ""),
                description=data.get(f"description_{point_key(value)}", ""),
            )
            for value in self.points
        ]

    def scale_fields(self) -> ScaleFields:
        """The cleaned scale, as the scale services take it."""
        data = self.cleaned_data
        return ScaleFields(
            name=data["name"],
            min_value=data["min_value"],
            max_value=data["max_value"],
            step=data["step"],
            levels=self.level_inputs(),
        )

    def disable(self) -> None:
        for field in self.fields.values():
            field.disabled = True


# --- Categories and competencies ----------------------------------------------------


class CategoryForm(forms.ModelForm):
    class Meta:
        model = CompetencyCategory
        fields = ["name"]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not _unique(CompetencyCategory, self.instance, name__iexact=name):
            raise forms.ValidationError(_("A category with this name exists already."))
        return name


class CompetencyForm(forms.ModelForm):
    """Name, category, description and what each point of the default scale looks
    like for this competency."""

    class Meta:
        model = Competency
        fields = ["name", "category", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(
        self, *args: Any, levels: Sequence[RatingLevel] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "category", CompetencyCategory.objects.order_by("name"))
        name_empty_choice(self, "category", _("Choose a category"))
        self.levels = list(levels)
        texts: dict[Decimal, str] = {}
        if self.instance.pk:
            texts = {row.value: row.text for row in self.instance.descriptors.all()}
        for level in self.levels:
            self.fields[f"descriptor_{point_key(level.value)}"] = forms.CharField(
                label=_("What a %(point)s (%(label)s) looks like")
                % {
                    "point": format_point(level.value),
                    "label": level.label,
                },
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
                initial=texts.get(level.value, ""),
                # HR-written text: escaped here, as form_fields.html renders
                # help texts unescaped.
                help_text=conditional_escape(level.description),
            )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not _unique(Competency, self.instance, name__iexact=name):
            raise forms.ValidationError(
                _("A competency with this name exists already (perhaps archived).")
            )
        return name

    def competency_fields(self) -> CompetencyFields:
        """The cleaned competency, as ``create_competency`` and ``update_competency``
        take it."""
        data = self.cleaned_data
        return CompetencyFields(
            name=data["name"],
            category=data["category"],
            description=data["description"],
            descriptors=self.descriptors(),
        )

    def descriptors(self) -> dict[Decimal, str]:
        return {
            level.value: self.cleaned_data.get(
                f"descriptor_{point_key(level.value)}", ""
            )
            for level in self.levels
        }

    def main_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.Meta.fields]

    def descriptor_fields(self) -> list[forms.BoundField]:
        return [self[f"descriptor_{point_key(level.value)}"] for level in self.levels]


# --- Competency sets ----------------------------------------------------------------


class CompetencySetForm(forms.ModelForm):
    job_titles = PickerMultipleField(
        source="job_titles",
        label=_("Job titles"),
        required=False,
        help_text=_(
            "General plans of people with these job titles get this set's "
            "competencies. Search by name; pick as many as needed."
        ),
    )

    class Meta:
        model = CompetencySet
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "job_titles", JobTitle.objects.order_by("name"))
        if self.instance.pk and not self.is_bound:
            self.fields["job_titles"].initial = [
                link.job_title_id for link in self.instance.job_title_links.all()
            ]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not _unique(CompetencySet, self.instance, name__iexact=name):
            raise forms.ValidationError(
                _("A competency set with this name exists already.")
            )
        return name


class SetItemForm(forms.Form):
    """Add a competency to a set."""

    competency = PickerField(
        source="competencies",
        label=_("Competency"),
    )
    weight = _WeightField(initial=1)
    expected_level = forms.TypedChoiceField(
        label=_("Expected level"),
        coerce=Decimal,
        help_text=_("The point of the default rating scale a person should reach."),
    )

    def __init__(
        self,
        *args: Any,
        competencies: Any = None,
        levels: Sequence[RatingLevel] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "competency", competencies)
        _set_level_choices(
            self, [("", str(_("Choose a level"))), *level_choices(levels)]
        )


class SetItemUpdateForm(forms.Form):
    """Change a competency's weight and expected level in a set."""

    weight = _WeightField(help_text="")
    expected_level = forms.TypedChoiceField(label=_("Expected level"), coerce=Decimal)

    def __init__(
        self, *args: Any, levels: Sequence[RatingLevel] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        _set_level_choices(self, level_choices(levels))
