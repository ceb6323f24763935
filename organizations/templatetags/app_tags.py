"""Template helpers shared by every app's templates."""

from __future__ import annotations

from typing import Any

from django import forms, template
from django.forms import BoundField
from django.utils.formats import localize
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

_SELECT_WIDGETS = {"select", "selectmultiple", "nullbooleanselect"}
_SELECT_OPTION = "django/forms/widgets/select_option.html"


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


# Django's templates render one template per option and per attribute list: a time
# zone list (about 600 options) took 60-100 ms, a select of 70 business units several
# milliseconds, each text area two templates. The two functions below write the
# markup of django/forms/widgets/select.html (with select_option.html and
# attrs.html) and textarea.html character for character from Django's own context;
# tests/organizations/test_app_tags.py compares them with Django's rendering.


def _select_html(field: BoundField, attrs: dict[str, Any]) -> SafeString:
    """``field.as_widget(attrs=attrs)`` for a plain select."""
    return select_markup(_widget_context(field, attrs))


def select_markup(context: dict[str, Any]) -> SafeString:
    """django/forms/widgets/select.html rendered from a select widget's context
    (``widget.get_context(...)["widget"]``); the pickers draw their select with it
    too."""
    parts = [f'<select name="{_text(context["name"])}"{_attrs(context["attrs"])}>']
    for group_name, options, _index in context["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_text(group_name)}">')
        for option in options:
            # select_option.html ends with a newline, which the include keeps.
            parts.append(
                f'\n  <option value="{escape(option["value"])}"'
                f"{_attrs(option['attrs'])}>{_text(option['label'])}</option>\n"
            )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return mark_safe("".join(parts))  # noqa: S308  # every value above is escaped


def _textarea_html(field: BoundField, attrs: dict[str, Any]) -> SafeString:
    """``field.as_widget(attrs=attrs)`` for a plain text area."""
    context = _widget_context(field, attrs)
    value = _text(context["value"]) if context["value"] else ""
    return mark_safe(  # noqa: S308  # every value is escaped
        f'<textarea name="{_text(context["name"])}"{_attrs(context["attrs"])}>\n'
        f"{value}</textarea>"
    )


def _text(value: Any) -> str:
    """What ``{{ value }}`` prints: localised, then escaped unless already safe."""
    return str(conditional_escape(localize(value)))


def _attrs(attrs: dict[str, Any]) -> str:
    """``django/forms/widgets/attrs.html``: False leaves the attribute out, True
    writes its bare name."""
    return "".join(
        f" {_text(name)}" if value is True else f' {_text(name)}="{escape(value)}"'
        for name, value in attrs.items()
        if value is not False
    )
