"""What a template says to its reader without marking it for translation.

``unmarked(source)`` lexes a template with Django's own lexer and returns the words a
reader would see that sit outside ``{% translate %}`` and ``{% blocktranslate %}``:
text between tags, and the values of the attributes people read (``title``,
``aria-label``, ``placeholder``, ``alt``, ``value`` of buttons). Text inside
``<script>``, ``<style>`` and ``{% comment %}`` is code or notes, not prose. Used by
``test_templates_marked`` and by ``scripts/``-free review: it never imports a view.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from django.template.base import Lexer, TokenType

# Words that read the same in every language the product speaks: symbols, units and
# names that are not translated.
UNTRANSLATED = {
    "HRMS",
    "Engagement HRMS",
    "CSV",
    "XLSX",
    "PDF",
    "ZIP",
    "ID",
    "EUR",
    "HTMX",
}
ATTRIBUTES = {"title", "aria-label", "placeholder", "alt", "aria-description"}
WORD = re.compile(r"[A-Za-zÀ-ÿ]{2,}")
MARK = "\x00"  # stands in for a marked string or a variable while parsing


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style"}:
            self._skip += 1
        for name, value in attrs:
            if name in ATTRIBUTES and value:
                self._check(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"} and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._check(data)

    def _check(self, text: str) -> None:
        text = " ".join(text.replace(MARK, " ").split())
        if text in UNTRANSLATED or not WORD.search(text):
            return
        words = [w for w in WORD.findall(text) if w not in UNTRANSLATED]
        if words:
            self.found.append(text)


def unmarked(source: str) -> list[str]:
    """The pieces of reader-facing text of ``source`` not marked for translation."""
    pieces: list[str] = []
    depth = 0  # inside blocktranslate / comment
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split(" ", 1)[0]
            if name in {"blocktranslate", "blocktrans", "comment"}:
                depth += 1
            elif name in {"endblocktranslate", "endblocktrans", "endcomment"}:
                depth -= 1
            pieces.append(" ")
        elif token.token_type == TokenType.TEXT and not depth:
            pieces.append(token.contents)
        else:
            pieces.append(MARK)
    parser = _Text()
    parser.feed("".join(pieces))
    parser.close()
    return parser.found
