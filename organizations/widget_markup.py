"""Django's select and text area widget templates (django/forms/widgets/select.html
with select_option.html and attrs.html, and textarea.html) written in Python,
character for character, from the widget's own context: Django renders one template
per option and per attribute list (a time zone list of about 600 options took
60-100 ms). ``field_widget`` (``organizations.templatetags.app_tags``) and the
pickers (``organizations.pickers.widgets``) draw with them;
tests/organizations/test_app_tags.py and test_picker_fields.py compare them with
Django's rendering."""

from __future__ import annotations

from typing import Any

from django.utils.formats import localize
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe


def select_markup(context: dict[str, Any]) -> SafeString:
    """django/forms/widgets/select.html from a select widget's context
    (``widget.get_context(...)["widget"]``)."""
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


def textarea_markup(context: dict[str, Any]) -> SafeString:
    """django/forms/widgets/textarea.html from a text area widget's context."""
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
