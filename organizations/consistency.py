"""Consistency checks of the organizations app: background work owed through the outbox
and notification e-mails owed but not sent; plus ``Difference``, the one shape every
app's checks report in.

``manage.py check_consistency`` (``appraisals.management.commands``) runs every app's
checks inside one organisation's tenant context after a fault test, a load test or an
incident. Each check is a read-only selector: it returns the differences it found
between what is stored and what the rules say should be, and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from organizations.models import Membership, OutboxMessage, SentEmail, User
from organizations.notifications import DELIVER_EMAIL_TASK, receives_email

# The checks' names, as the command prints them and ``Difference.check`` holds them.
OUTBOX = "outbox"
EMAILS = "e-mails"


@dataclass(frozen=True)
class Difference:
    """One disagreement between the stored data and what the rules expect.

    ``subject`` names the object in words (kind, id, the people and cycle it is
    about), ``expected`` what the rules say, ``found`` what is stored. Printed as one
    line: ``<subject>: expected <expected>, found <found>``.
    """

    check: str
    subject: str
    expected: str
    found: str

    def __str__(self) -> str:
        return _("%(subject)s: expected %(expected)s, found %(found)s") % {
            "subject": self.subject,
            "expected": self.expected,
            "found": self.found,
        }


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def _outbox_subject(row: OutboxMessage) -> str:
    if row.key:
        return _('outbox row %(id)s (task %(task)s, key "%(key)s")') % {
            "id": row.pk,
            "task": row.task,
            "key": row.key,
        }
    return _("outbox row %(id)s (task %(task)s)") % {"id": row.pk, "task": row.task}


def _outbox_state(row: OutboxMessage, now: datetime) -> str:
    """What an uncompleted row's state is, in words, with its age and last error."""
    age = _minutes(now - row.created_at)
    if row.failed_at is not None:
        found = _(
            "failed after %(attempts)s publication(s), queued %(age)s minute(s) ago"
        ) % {"attempts": row.attempts, "age": age}
    elif row.dispatched_at is not None:
        found = _(
            "published %(attempts)s time(s) but not completed, queued %(age)s "
            "minute(s) ago"
        ) % {"attempts": row.attempts, "age": age}
    else:
        found = _("still waiting to be published, queued %(age)s minute(s) ago") % {
            "age": age
        }
    if row.last_error:
        found += _(" (last error: %(error)s)") % {"error": row.last_error}
    return found


def check_outbox(
    *, older_than: timedelta, now: datetime | None = None
) -> list[Difference]:
    """Outbox rows of the active organisation still owed ``older_than`` after they
    were queued (pending, published but not completed, or failed), and failed rows
    whatever their age. One query.
    """
    now = now or timezone.now()
    rows = OutboxMessage.objects.filter(
        Q(created_at__lt=now - older_than) | Q(failed_at__isnull=False),
        completed_at__isnull=True,
    ).order_by("pk")
    minutes = _minutes(older_than)
    differences = []
    for row in rows:
        expected = (
            _("completed (it is marked failed: it will not be tried again by itself)")
            if row.failed_at is not None
            else _("completed within %(minutes)s minute(s) of being queued")
            % {"minutes": minutes}
        )
        differences.append(
            Difference(OUTBOX, _outbox_subject(row), expected, _outbox_state(row, now))
        )
    return differences


def _email_subject(row: OutboxMessage) -> str:
    kwargs: dict[str, Any] = row.kwargs
    user_id = kwargs.get("user_id")
    if user_id is not None:
        return _('e-mail "%(key)s" to user %(user)s (outbox row %(id)s)') % {
            "key": kwargs.get("key", ""),
            "user": user_id,
            "id": row.pk,
        }
    return _('e-mail "%(key)s" to a bare address (outbox row %(id)s)') % {
        "key": kwargs.get("key", ""),
        "id": row.pk,
    }


def check_emails(
    *, older_than: timedelta, now: datetime | None = None
) -> list[Difference]:
    """Notification e-mails of the active organisation owed but not sent.

    - ``deliver_email`` outbox rows not completed ``older_than`` after they were
      queued: the e-mail is late (or lost, if the row failed);
    - completed ``deliver_email`` rows whose event key has no ``SentEmail`` ledger
      row although the task would have sent it (``receives_email``, judged on the
      recipient as they are now: an opt-in changed since the delivery can make a
      skipped e-mail look owed, or hide one).

    Queries: 2 or 3, plus 2 when some completed rows lack a ledger row.
    """
    now = now or timezone.now()
    minutes = _minutes(older_than)
    emails = OutboxMessage.objects.filter(task=DELIVER_EMAIL_TASK)
    differences = [
        Difference(
            EMAILS,
            _email_subject(row),
            _("sent within %(minutes)s minute(s) of being queued")
            % {"minutes": minutes},
            _("not sent: its outbox row is %(state)s")
            % {"state": _outbox_state(row, now)},
        )
        for row in emails.filter(
            completed_at__isnull=True, created_at__lt=now - older_than
        ).order_by("pk")
    ]
    completed = list(
        emails.filter(completed_at__isnull=False)
        .only("pk", "task", "key", "kwargs", "completed_at")
        .order_by("pk")
    )
    keys = {str(row.kwargs.get("key", "")) for row in completed}
    sent = set(SentEmail.objects.filter(key__in=keys).values_list("key", flat=True))
    unsent = [row for row in completed if row.kwargs.get("key", "") not in sent]
    if not unsent:
        return differences
    user_ids = {row.kwargs["user_id"] for row in unsent if row.kwargs.get("user_id")}
    users = User.objects.filter(pk__in=user_ids).in_bulk()
    members = set(
        Membership.objects.filter(user_id__in=user_ids, is_active=True).values_list(
            "user_id", flat=True
        )
    )
    for row in unsent:
        user_id = row.kwargs.get("user_id")
        essential = bool(row.kwargs.get("essential", False))
        if user_id is not None and not receives_email(
            users.get(user_id), member=user_id in members, essential=essential
        ):
            continue  # the task skipped it on purpose: nothing is owed
        differences.append(
            Difference(
                EMAILS,
                _email_subject(row),
                _(
                    "a ledger row (sent e-mail) for its key, as the recipient receives it"
                ),
                _("its outbox row completed %(minutes)s minute(s) ago, no ledger row")
                % {"minutes": _minutes(now - (row.completed_at or now))},
            )
        )
    return differences
