"""Finished report jobs, so that the job list, a download and a PDF are there to
look at: the employee login's PDF of their latest finalised appraisal, and the HR
admin's export of the cycle in review's appraisals (XLSX). Made as members make
them (``create_job``, then the job run as its task runs it); a second run adds
nothing."""

from __future__ import annotations

from appraisals.enums import FINAL_STATUSES
from appraisals.models import Appraisal
from engagements.enums import CycleStatus
from engagements.models import ReviewCycle
from organizations.enums import Role
from organizations.models import Membership, Organization
from reporting.documents.appraisal import APPRAISAL_REPORT
from reporting.enums import FileFormat
from reporting.models import ReportJob
from reporting.services import create_job, run_report_job


def seed(organization: Organization) -> None:
    if ReportJob.objects.exists():
        return
    members = Membership.objects.select_related("organization").filter(
        organization=organization, is_active=True
    )
    hr = members.filter(role=Role.HR_ADMIN).order_by("pk").first()
    employees = members.filter(role=Role.EMPLOYEE)
    appraisal = (
        Appraisal.objects.filter(
            status__in=FINAL_STATUSES,
            employee__user_id__in=employees.values("user_id"),
        )
        .select_related("employee", "cycle")
        .order_by("-cycle__start_date", "employee__full_name", "pk")
        .first()
    )
    user_id = appraisal.employee.user_id if appraisal is not None else None
    owner = employees.filter(user_id=user_id).first() if user_id else None
    if owner is not None and appraisal is not None:
        _run(
            organization,
            create_job(
                actor=owner,
                kind=APPRAISAL_REPORT.kind,
                file_format=FileFormat.PDF,
                parameters={
                    "appraisal": appraisal.pk,
                    "title": APPRAISAL_REPORT.title(appraisal),
                },
            ),
        )
    cycle = ReviewCycle.objects.filter(status=CycleStatus.REVIEW).first()
    if hr is not None and cycle is not None:
        _run(
            organization,
            create_job(
                actor=hr,
                kind="appraisals",
                file_format=FileFormat.XLSX,
                parameters={"cycle": cycle.pk},
            ),
        )


def _run(organization: Organization, job: ReportJob) -> None:
    # At once, so that the demo shows it done (its task, owed through the outbox
    # when the seed commits, then finds it finished and does nothing).
    run_report_job(organization=organization, job_id=job.pk)
