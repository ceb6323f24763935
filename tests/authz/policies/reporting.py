"""The reporting part of the authorisation policy: what each of its named URLs answers
to whom (``POLICY``), the body of each URL's POST (``POST_DATA``) and the state a URL
needs before its request (``PREPARE``). The language of the table is
``tests/authz/policy.py``.

- **Dashboards**: the reports' home (every member: the dashboards they may open, or
  where their own figures are), the line dashboards (cycle overview, score
  distribution, competency heatmap, trends) open to HR admins and to managers with a
  line (the line manager, and the other manager, whose line is ``other_employee``);
  the engagement analytics also to planners, reviewers and approvers (their
  engagements); reviewer consistency to HR admins only. Employees without a line or a
  role get 403, and so does an engagement's contributor. One engagement's report
  (``engagement``) is 404 for members whose scope does not reach it, after the
  dashboard gate (403 first for those who may open no engagement analytics). The
  export button posts the dashboard's name and filters: HR admins and managers may
  export the score distribution; others get 403.

Sections, one per page family; a new family adds its entries in a section of its own
(and its POST bodies and preparations below, under the same heading):

- **Exports and report jobs**: the exports page (every member reads it; starting an
  export needs something to export: HR admins, and managers with a line: the line
  manager, whose line is ``self``, and the other manager, ``other_employee``'s), the job list (every member, each their own jobs) and one job's page,
  progress partial and download. The world's job (``report_job``) was asked for by
  the line manager and is ready: HR admins and the line manager see it, everyone
  else gets 404, as for another organisation's job.
- **PDF documents**: the appraisal PDF is asked for (POST) by whoever may open the
  appraisal page; the job runs at once (Celery eager in tests).
"""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from organizations.tenancy import tenant_context
from reporting.models import ReportJob
from tests.authz.policy import (
    ALLOWED,
    CONTRIBUTOR,
    E403,
    E404,
    EMPLOYEE_VISIBLE,
    FOREIGN,
    GET,
    MEMBERS,
    NOBODY_FINDS_IT,
    NONE,
    OWN,
    POST,
    POST_ONLY,
    A,
    UrlPolicy,
    gated,
    get_only,
    tenant_row,
)
from tests.authz.world import PostBody, Prepare, World

# Who sees the world's report job: HR admins and its requester, the line manager.
JOB_VIEWERS = (A.HR_ADMIN, A.LINE_MANAGER)
JOB_VISIBLE = gated(JOB_VIEWERS, allowed=JOB_VIEWERS)


def _job_page() -> dict:
    """Rows of a GET page on one report job (POST refused whole)."""
    return get_only({(GET, OWN): JOB_VISIBLE, (GET, FOREIGN): NOBODY_FINDS_IT})


# --- Dashboards ------------------------------------------------------------------------
LINE_VIEWERS = (A.HR_ADMIN, A.LINE_MANAGER, A.OTHER_MANAGER)
ROLE_VIEWERS = (*LINE_VIEWERS, A.PLANNER, A.OTHER_PLANNER, A.REVIEWER)
# Contributors hold no role the analytics count (plan, review, approve).
NOT_FOR_CONTRIBUTORS = {CONTRIBUTOR: {(GET, NONE): E403}}


def _dashboard(viewers: tuple[A, ...]) -> dict:
    return get_only(
        {
            (GET, NONE): tenant_row(
                E403, **dict.fromkeys([v.value for v in viewers], ALLOWED)
            )
        }
    )


def _engagement_report() -> dict:
    """One engagement's report: its viewers see it; members who may open engagement
    analytics elsewhere get 404; members who may open none, 403 (before the lookup,
    so the same for another organisation's engagement)."""
    elsewhere = (A.OTHER_MANAGER, A.OTHER_PLANNER)
    reaching = (A.HR_ADMIN, A.LINE_MANAGER, A.PLANNER, A.REVIEWER)
    return get_only(
        {
            (GET, OWN): tenant_row(
                E403,
                **dict.fromkeys([a.value for a in reaching], ALLOWED),
                **dict.fromkeys([a.value for a in elsewhere], E404),
            ),
            (GET, FOREIGN): tenant_row(
                E403, **dict.fromkeys([a.value for a in ROLE_VIEWERS], E404)
            ),
        }
    )


POLICY: dict[str, UrlPolicy] = {
    # --- Dashboards -------------------------------------------------------------------
    # Every member: the dashboards they may open, or where their own figures are.
    "reporting:home": UrlPolicy(rows=get_only({(GET, NONE): MEMBERS})),
    "reporting:overview": UrlPolicy(rows=_dashboard(LINE_VIEWERS)),
    "reporting:scores": UrlPolicy(
        rows=_dashboard(LINE_VIEWERS), queries=("", "columns=job_title")
    ),
    "reporting:competencies": UrlPolicy(
        rows=_dashboard(LINE_VIEWERS), queries=("", "columns=engagement_type")
    ),
    "reporting:trends": UrlPolicy(rows=_dashboard(LINE_VIEWERS)),
    "reporting:engagements": UrlPolicy(
        rows=_dashboard(ROLE_VIEWERS), roles=NOT_FOR_CONTRIBUTORS
    ),
    "reporting:reviewers": UrlPolicy(rows=_dashboard((A.HR_ADMIN,))),
    "reporting:engagement": UrlPolicy(
        target_kind="engagement",
        rows=_engagement_report(),
        roles={CONTRIBUTOR: {(GET, OWN): E403, (GET, FOREIGN): E403}},
    ),
    # The appraisal page's trend: whoever may open the appraisal (HR admins, ``self``
    # and their line manager), as the appraisal page itself.
    "reporting:appraisal_trend": UrlPolicy(
        target_kind="appraisal",
        rows=get_only({(GET, OWN): EMPLOYEE_VISIBLE, (GET, FOREIGN): NOBODY_FINDS_IT}),
        queries=("",),
    ),
    "reporting:export": UrlPolicy(
        rows={
            (GET, NONE): POST_ONLY,
            (POST, NONE): tenant_row(
                E403, **dict.fromkeys([v.value for v in LINE_VIEWERS], ALLOWED)
            ),
        },
        writes=True,
    ),
    # --- Exports and report jobs ------------------------------------------------------
    "reporting:exports": UrlPolicy(
        # Every member reads the page (it says when there is nothing to export);
        # asking for the appraisals of the world's cycle needs a line (or HR).
        rows={
            (GET, NONE): MEMBERS,
            (POST, NONE): tenant_row(
                E403, **dict.fromkeys([v.value for v in LINE_VIEWERS], ALLOWED)
            ),
        },
        writes=True,
    ),
    "reporting:jobs": UrlPolicy(
        rows={(GET, NONE): MEMBERS, (POST, NONE): POST_ONLY},
    ),
    "reporting:job_detail": UrlPolicy(target_kind="report_job", rows=_job_page()),
    "reporting:job_progress": UrlPolicy(
        target_kind="report_job", rows=_job_page(), queries=("",)
    ),
    "reporting:job_download": UrlPolicy(target_kind="report_job", rows=_job_page()),
    # --- PDF documents ----------------------------------------------------------------
    # The appraisal PDF: whoever may open the appraisal page (HR admins, ``self`` and
    # their line manager) asks for it; nobody else finds the appraisal.
    "reporting:appraisal_pdf": UrlPolicy(
        target_kind="appraisal",
        rows={
            (GET, OWN): POST_ONLY,
            (GET, FOREIGN): POST_ONLY,
            (POST, OWN): EMPLOYEE_VISIBLE,
            (POST, FOREIGN): NOBODY_FINDS_IT,
        },
        writes=True,
    ),
    # The engagement PDF: whoever may open the engagement's analytics page (403 for
    # members who may open no engagement analytics, 404 beyond their scope).
    "reporting:engagement_pdf": UrlPolicy(
        target_kind="engagement",
        rows={
            (GET, OWN): POST_ONLY,
            (GET, FOREIGN): POST_ONLY,
            # The page's answers, to a POST.
            **{
                (POST, target): row
                for (method, target), row in _engagement_report().items()
                if method == GET
            },
        },
        roles={CONTRIBUTOR: {(POST, OWN): E403, (POST, FOREIGN): E403}},
        writes=True,
    ),
}


# The body of each URL's POST: valid input, so that an allowed POST goes through.
POST_DATA: dict[str, PostBody] = {
    # --- Dashboards -------------------------------------------------------------------
    "reporting:export": lambda w, k: {"dashboard": "scores", "file_format": "xlsx"},
    # --- Exports and report jobs ------------------------------------------------------
    "reporting:exports": lambda w, k: {
        "kind": "appraisals",
        "cycle": w.refs["review_cycle"],
        "file_format": "csv",
    },
}


def _store_the_report_files(world: World) -> None:
    """The world's report jobs' files, in the test's MEDIA_ROOT (the jobs name them;
    the matrix's test module points MEDIA_ROOT at a folder of its own)."""
    for organization in (world.org, world.other_org):
        with tenant_context(organization):
            names = ReportJob.objects.exclude(file="").values_list("file", flat=True)
            for name in names:
                if not default_storage.exists(name):
                    default_storage.save(name, ContentFile(b"Employee\r\n"))


# Changes made before the request (inside the case's savepoint) for URLs that need
# another state than the world's.
PREPARE: dict[str, Prepare] = {
    # --- Exports and report jobs ------------------------------------------------------
    "reporting:job_download": _store_the_report_files,
}
