"""Running ``manage.py check_consistency`` in a test: what it printed and how it
ended (tests/test_check_consistency*.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from io import StringIO

from django.core.management import CommandError, call_command
from django.utils import timezone


@dataclass
class Outcome:
    """What one run of the command printed, and its error (None: exit 0)."""

    output: str
    error: CommandError | None

    @property
    def lines(self) -> list[str]:
        return [line.strip() for line in self.output.splitlines()]


def check(*args: str) -> Outcome:
    out = StringIO()
    try:
        call_command("check_consistency", *args, stdout=out)
    except CommandError as exc:
        return Outcome(out.getvalue(), exc)
    return Outcome(out.getvalue(), None)


def ago(minutes: int) -> datetime:
    return timezone.now() - timedelta(minutes=minutes)
