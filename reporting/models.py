"""Models of the reporting app: report jobs, the exports that run in Celery with
visible progress (see docs/architecture.md, "Reporting")."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from organizations.tenancy import TenantModel
from reporting.enums import FINISHED_STATUSES, FileFormat, JobStatus


def report_file_path(job: ReportJob, filename: str) -> str:
    """Where a job's file is stored under MEDIA_ROOT: the organisation's folder and a
    random name, so that neither a path nor a name can be guessed or collide. The
    name the member downloads it under is ``ReportJob.download_name``."""
    extension = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
    return f"reports/{job.organization_id}/{secrets.token_urlsafe(24)}.{extension}"


class ReportJob(TenantModel):
    """One export asked for by a member: what (``kind`` with its ``parameters``), in
    which format, and how far it got. The file is served only through the download
    view, which checks access again, and deleted at ``expires_at``."""

    kind = models.CharField(_("report"), max_length=60)
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    file_format = models.CharField(
        _("format"), max_length=4, choices=FileFormat.choices, default=FileFormat.CSV
    )
    requested_by = models.ForeignKey(
        "organizations.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=8, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    file = models.FileField(
        _("file"), upload_to=report_file_path, max_length=200, blank=True
    )
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("requested"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    expires_at = models.DateTimeField(_("deleted after"))

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["organization", "requested_by", "-created_at"],
                name="report_job_requester",
            ),
            models.Index(
                fields=["organization", "expires_at"], name="report_job_expiry"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="report_job_progress_range"
            ),
            models.CheckConstraint(
                condition=~Q(status=JobStatus.FAILED) | Q(file=""),
                name="report_job_failed_has_no_file",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} · {self.get_status_display()}"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    def is_expired(self, now: Any = None) -> bool:
        return (now or timezone.now()) >= self.expires_at

    @property
    def download_name(self) -> str:
        """The file name offered to the browser: the report and the day requested."""
        day = timezone.localtime(self.created_at).date().isoformat()
        return f"{self.kind}-{day}.{self.file_format}"
