"""Template helpers shared by every app's templates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms, template
from django.forms import BoundField
from django.template import Context
from django.urls import reverse
from django.utils.formats import localize
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString

from organizations.http import TenantRequest
from organizations.permissions import may_open_person
from organizations.widget_markup import select_markup, textarea_markup

register = template.Library()

_SELECT_WIDGETS = {"select", "selectmultiple", "nullbooleanselect"}
_SELECT_OPTION = "django/forms/widgets/select_option.html"


@register.simple_tag(takes_context=True)
def person_link(context: Context, person: Any) -> str:
    """``person``'s name (a directory entry), linked to their page when the viewer
    may open it (``may_open_person``), else the name alone. Costs at most the
    viewer's own entry, once per request (``TenantRequest.employee``); none for
    HR."""
    if person is None:
        return "—"
    request = context.get("request")
    if not isinstance(request, TenantRequest):
        return conditional_escape(person.full_name)
    membership = request.membership
    own_id = None
    if not membership.is_hr_admin:
        # Read for every name, not only for other people's: a page costs the same
        # one query whoever it names.
        own = request.employee
        own_id = own.pk if own is not None else None
    allowed = may_open_person(membership, own_id, person)
    if not allowed:
        return conditional_escape(person.full_name)
    url = reverse(
        "organizations:employee_detail",
        args=[membership.organization.slug, person.pk],
    )
    return format_html('<a href="{}">{}</a>', url, person.full_name)


@register.simple_tag
def rating_point(points: Mapping[Any, str], value: object) -> str:
    """A rating as its scale point's text ("4 · Exceeds"), the number alone for a
    value without a labelled point, a dash for none. ``points`` maps each point's
    value to its text (``EvaluationSheet.point_labels``), built once per page."""
    if value is None:
        return "—"
    return str(points.get(value) or localize(value))


@register.simple_tag
def field_widget(field: BoundField) -> SafeString:
    """Render a form field's widget with Bootstrap classes and accessible error links."""
    widget_type = field.widget_type
    css = "form-select" if widget_type in _SELECT_WIDGETS else "form-control"
    if field.errors:
        css += " is-invalid"
    attrs: dict[str, str | bool] = {"class": css}
    described = []
    if field.errors:
        attrs["aria-invalid"] = "true"
        described.append(f"{field.auto_id}-error")
    if field.help_text:
        described.append(f"{field.auto_id}-help")
    if described:
        attrs["aria-describedby"] = " ".join(described)
    widget = field.field.widget
    if _is_plain(widget, forms.Select, "select"):
        return _select_html(field, attrs)
    if _is_plain(widget, forms.Textarea, "textarea"):
        return _textarea_html(field, attrs)
    return field.as_widget(attrs=attrs)


def _is_plain(widget: forms.Widget, kind: type[forms.Widget], name: str) -> bool:
    """Whether ``widget`` is a ``kind`` that Django's own ``render`` draws with its own
    template ``name`` (not a picker, which renders its own markup around a select)."""
    return (
        isinstance(widget, kind)
        and type(widget).render is forms.Widget.render
        and widget.template_name == f"django/forms/widgets/{name}.html"
        and getattr(widget, "option_template_name", _SELECT_OPTION) == _SELECT_OPTION
    )


def _widget_context(field: BoundField, attrs: dict[str, Any]) -> dict[str, Any]:
    """The context ``field.as_widget(attrs=attrs)`` renders its template with."""
    widget = field.field.widget
    if field.field.localize:
        widget.is_localized = True
    attrs = field.build_widget_attrs(attrs, widget)
    if field.auto_id and "id" not in widget.attrs:
        attrs.setdefault("id", field.auto_id)
    context: dict[str, Any] = widget.get_context(field.html_name, field.value(), attrs)[
        "widget"
    ]
    return context


# The two functions below write a plain select's and a text area's markup from
# Django's own widget context (``organizations.widget_markup``) instead of rendering
# Django's templates, one per option and per attribute list.


def _select_html(field: BoundField, attrs: dict[str, Any]) -> SafeString:
    """``field.as_widget(attrs=attrs)`` for a plain select."""
    return select_markup(_widget_context(field, attrs))


def _textarea_html(field: BoundField, attrs: dict[str, Any]) -> SafeString:
    """``field.as_widget(attrs=attrs)`` for a plain text area."""
    return textarea_markup(_widget_context(field, attrs))
