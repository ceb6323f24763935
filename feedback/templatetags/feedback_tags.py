"""Rendering of feedback text: escaped, line breaks kept, only safe links clickable."""

from __future__ import annotations

from django import template
from django.utils.html import urlize
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import normalize_newlines

register = template.Library()

# urlize writes this attribute itself; user text cannot produce it, because urlize
# escapes every quote of the text around and inside the links.
_NOFOLLOW = ' rel="nofollow"'
_NOFOLLOW_NOOPENER = ' rel="nofollow noopener"'


@register.filter(is_safe=True)
def feedback_text(value: object) -> SafeString:
    """The text escaped, with line breaks as ``<br>`` and links made clickable only
    through Django's ``urlize`` (http(s), www. and e-mail addresses; never
    ``javascript:``), marked ``rel="nofollow noopener"``."""
    linked = urlize(str(value or ""), nofollow=True, autoescape=True)
    linked = linked.replace(_NOFOLLOW, _NOFOLLOW_NOOPENER)
    # Every "<" the text itself held is escaped by now, so the breaks are ours.
    return mark_safe(normalize_newlines(linked).replace("\n", "<br>"))  # noqa: S308
