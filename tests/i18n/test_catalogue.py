"""The German catalogue is whole: every template marks what it says, every marked
string has a German entry that is neither empty nor fuzzy, and the entries keep
their placeholders (``msgfmt --check``). See docs/translation.md."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.i18n.markup import unmarked

ROOT = Path(settings.BASE_DIR)
CATALOGUE = ROOT / "locale" / "de" / "LC_MESSAGES" / "django.po"
# Folders holding what the product says (bench/ and tests/ are not the product).
SOURCES = [
    "appraisals",
    "competencies",
    "config",
    "demo",
    "engagements",
    "feedback",
    "organizations",
    "reporting",
    "templates",
]


def _templates() -> list[Path]:
    found = []
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in {".html", ".txt"} and "templates" in path.parts:
                found.append(path)
    return found


def test_the_product_has_templates_to_check():
    assert len(_templates()) > 150


@pytest.mark.parametrize("path", _templates(), ids=lambda p: str(p.relative_to(ROOT)))
def test_template_marks_every_text_it_shows(path):
    assert unmarked(path.read_text(encoding="utf-8")) == []


def test_markup_check_finds_unmarked_text_and_accepts_marked_text():
    page = (
        '{% load i18n %}<h1>Plans to write</h1><p title="Open the plan">'
        '{% translate "Goals" %} {{ goal.title }}</p>'
        "{% blocktranslate %}Due {{ day }}{% endblocktranslate %}"
        "<script>const label = 'Not prose';</script>"
        "{% comment %}A note for developers{% endcomment %} · 3 % · PDF"
    )
    assert unmarked(page) == ["Plans to write", "Open the plan"]


def _run(*args: str, cwd: Path) -> str:
    result = subprocess.run(  # noqa: S603 - fixed tools, no shell
        list(args), cwd=cwd, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> Path:
    """The committed catalogue merged with the strings the code marks today, as
    ``make messages`` would leave it, made in a copy of the sources."""
    copy = tmp_path_factory.mktemp("messages")
    for folder in SOURCES:
        shutil.copytree(
            ROOT / folder,
            copy / folder,
            ignore=shutil.ignore_patterns("__pycache__", "*.mo"),
        )
    shutil.copy(ROOT / "manage.py", copy / "manage.py")
    (copy / "locale" / "de" / "LC_MESSAGES").mkdir(parents=True)
    shutil.copy(CATALOGUE, copy / "locale" / "de" / "LC_MESSAGES" / "django.po")
    _run(
        sys.executable,
        "manage.py",
        "makemessages",
        "-l",
        "de",
        "--no-location",
        "--no-obsolete",
        cwd=copy,
    )
    return copy / "locale" / "de" / "LC_MESSAGES" / "django.po"


def test_every_marked_string_has_a_german_entry(extracted):
    missing = _run("msgattrib", "--untranslated", "--no-wrap", str(extracted), cwd=ROOT)
    fuzzy = _run("msgattrib", "--only-fuzzy", "--no-wrap", str(extracted), cwd=ROOT)
    # msgattrib prints the header alone when nothing matches.
    assert missing.count("msgid ") <= 1, "Translate these (make messages):\n" + missing
    assert fuzzy.count("msgid ") <= 1, "Check and unfuzzy these:\n" + fuzzy


def test_the_catalogue_holds_no_entry_the_code_no_longer_marks(extracted):
    committed = _run(
        "msgattrib", "--no-obsolete", "--no-wrap", str(CATALOGUE), cwd=ROOT
    )
    current = _run("msgattrib", "--no-obsolete", "--no-wrap", str(extracted), cwd=ROOT)
    assert committed.count("\nmsgid ") == current.count("\nmsgid "), (
        "Run make messages: the committed catalogue has entries the code dropped."
    )


def test_the_german_entries_keep_their_placeholders():
    # --check: format strings (python-format) agree with the msgid, plural forms
    # and the header are sound.
    _run("msgfmt", "--check", "-o", "/dev/null", str(CATALOGUE), cwd=ROOT)
