"""``field_widget``: a plain select or text area is written in Python (Django's
templates render one template per option), and must read exactly as Django's own
rendering."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms

from competencies.forms import CompetencyForm
from organizations.forms import OrganizationSettingsForm
from organizations.models import TIMEZONE_CHOICES
from organizations.templatetags.app_tags import field_widget
from organizations.tenancy import tenant_context
from tests.competency_factories import CompetencyCategoryFactory


class _Choices(forms.Form):
    zone = forms.ChoiceField(choices=TIMEZONE_CHOICES, help_text="Where")
    grouped = forms.ChoiceField(
        choices=[("A <b> & c", [(1, "one & <two>"), (2, 2.5)]), ("x", 'y"')],
        required=False,
        disabled=True,
    )
    several = forms.MultipleChoiceField(choices=[(1, "a"), (2, "b"), (3, "c")])
    maybe = forms.NullBooleanField()
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    story = forms.CharField(widget=forms.Textarea, help_text="Tell")


def _as_django(field: forms.BoundField) -> str:
    """What ``field_widget`` rendered through Django's templates before."""
    widget = field.field.widget
    css = "form-select" if isinstance(widget, forms.Select) else "form-control"
    attrs: dict[str, Any] = {"class": css + (" is-invalid" if field.errors else "")}
    described = []
    if field.errors:
        attrs["aria-invalid"] = "true"
        described.append(f"{field.auto_id}-error")
    if field.help_text:
        described.append(f"{field.auto_id}-help")
    if described:
        attrs["aria-describedby"] = " ".join(described)
    assert isinstance(widget, forms.Select | forms.Textarea)
    return str(field.as_widget(attrs=attrs))


@pytest.mark.parametrize(
    "data",
    [
        None,
        {
            "zone": "Europe/Lisbon",
            "grouped": "2",
            "several": ["1", "3"],
            "maybe": "true",
        },
        {"zone": "Nowhere/Else", "several": ["9"]},
    ],
)
def test_field_widget_writes_a_select_exactly_as_django_does(data: Any) -> None:
    form = _Choices(data)
    form.is_valid()

    for field in form:
        assert str(field_widget(field)) == _as_django(field), field.name


def test_field_widget_marks_the_chosen_time_zone_once() -> None:
    form = _Choices({"zone": "Asia/Tokyo"})

    html = str(field_widget(form["zone"]))

    assert html.count(" selected") == 1
    assert '<option value="Asia/Tokyo" selected>Asia/Tokyo</option>' in html


@pytest.mark.django_db
def test_field_widget_writes_a_model_choice_select_as_django_does(org: Any) -> None:
    with tenant_context(org):
        CompetencyCategoryFactory(organization=org, name="R&D <lab>")
        form = CompetencyForm()

        assert str(field_widget(form["category"])) == _as_django(form["category"])


@pytest.mark.django_db
def test_field_widget_writes_the_settings_time_zone_as_django_does(org: Any) -> None:
    form = OrganizationSettingsForm(instance=org)

    assert str(field_widget(form["timezone"])) == _as_django(form["timezone"])
