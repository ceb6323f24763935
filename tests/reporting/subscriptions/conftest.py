"""Shared pieces of the scheduled report e-mail tests: the report world in an
organisation in Berlin beside a rival organisation, report files in the test's own
folder, the outbox's work run as it would be after each commit, and the text of a
PDF."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from organizations.tenancy import tenant_context
from reporting.dispatch import dispatch_due
from reporting.models import ReportDelivery, ReportEmail, ReportSubscription
from tests.factories import OrganizationFactory
from tests.reporting.worlds import ReportWorld, build_world

T = TypeVar("T")

# Monday 7 December 2026, 07:00 in Berlin (CET): when the weekly digests are due.
MONDAY_7AM = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    """Report files go to a folder of the test's own."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def rival(db: None) -> ReportWorld:
    """Another organisation with the same people's names and two more ("Extra 0",
    "Extra 1"), whose rows must never reach the home organisation's e-mails."""
    return build_world(OrganizationFactory(slug="rival", name="Rival"), extra_people=2)


@pytest.fixture
def world(rival: ReportWorld) -> ReportWorld:
    return build_world(
        OrganizationFactory(slug="home", name="Home", timezone="Europe/Berlin")
    )


@pytest.fixture
def after_commit(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Run an action, then the work it owes through the outbox as it would run after
    its commit (tasks run eagerly in the tests), and the work that work owes."""

    def run(action: Callable[[], T]) -> T:
        with django_capture_on_commit_callbacks(execute=True):
            return action()

    return run


@pytest.fixture
def dispatch(after_commit: Callable[..., Any]) -> Callable[[datetime], int]:
    """The dispatcher at ``now``, with the deliveries it queues sent."""
    return lambda now: after_commit(lambda: dispatch_due(now))


def due_at(subscription: ReportSubscription, moment: datetime) -> None:
    """Make ``subscription`` next due at ``moment``."""
    with tenant_context(subscription.organization):
        ReportSubscription.objects.filter(pk=subscription.pk).update(next_run_at=moment)


def deliveries(subscription: ReportSubscription) -> list[ReportDelivery]:
    with tenant_context(subscription.organization):
        return list(
            ReportDelivery.objects.filter(subscription=subscription).order_by("pk")
        )


def emails(subscription: ReportSubscription) -> list[ReportEmail]:
    with tenant_context(subscription.organization):
        return list(
            ReportEmail.objects.filter(delivery__subscription=subscription)
            .select_related("recipient__user")
            .order_by("pk")
        )


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    """The text of a PDF, as poppler's ``pdftotext`` reads it."""
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run(  # noqa: S603 - poppler's tool on the test's own file
        [shutil.which("pdftotext") or "pdftotext", "-layout", str(path), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
