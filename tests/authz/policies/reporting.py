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
  appraisal page, the engagement PDF by whoever may open the engagement's analytics,
  the cycle PDF by whoever may open the cycle overview; the job runs at once (Celery
  eager in tests).
- **Scheduled e-mails**: every member lists the subscriptions they see and may create
  one (for themselves; HR admins for anyone). The world's subscription
  (``report_subscription``) is the line manager's weekly cycle digest for
  themselves, with one sent delivery (``report_delivery``) whose e-mail carried a PDF
  (``report_email``): HR admins and the line manager see them and may change, send,
  pause or delete the subscription; only a recipient (the line manager) unsubscribes;
  everyone else finds nothing. The e-mails' public unsubscribe page answers its
  signed link, whoever asks, and 404 to a tampered one.
- **Batches**: every appraisal report of a cycle a member may see, as one ZIP, asked
  for (POST) by whoever may open the cycle overview; a failed batch is retried by its
  requester.
"""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from organizations.tenancy import tenant_context
from reporting.enums import FileFormat, JobStatus, PartStatus
from reporting.models import ReportEmail, ReportJob, ReportJobPart
from tests.authz.policy import (
    ALLOWED,
    BAD_TOKEN,
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
    UNCHANGED,
    VALID_TOKEN,
    A,
    Target,
    UrlPolicy,
    everyone,
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


# Who sees the world's subscription: HR admins and the line manager, who made it for
# themselves.
SUBSCRIPTION_VIEWERS = (A.HR_ADMIN, A.LINE_MANAGER)
SUBSCRIPTION_VISIBLE = gated(SUBSCRIPTION_VIEWERS, allowed=SUBSCRIPTION_VIEWERS)


def _subscription_page() -> dict:
    """Rows of a GET page on the world's subscription (POST refused whole)."""
    return get_only({(GET, OWN): SUBSCRIPTION_VISIBLE, (GET, FOREIGN): NOBODY_FINDS_IT})


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
    # The cycle PDF: whoever may open the cycle overview (HR admins and managers with
    # a line; 403 for everyone else, before the lookup), 404 for a cycle the
    # dashboards do not show (another organisation's).
    "reporting:cycle_pdf": UrlPolicy(
        target_kind="review_cycle",
        rows={
            (GET, OWN): POST_ONLY,
            (GET, FOREIGN): POST_ONLY,
            (POST, OWN): tenant_row(
                E403, **dict.fromkeys([v.value for v in LINE_VIEWERS], ALLOWED)
            ),
            (POST, FOREIGN): tenant_row(
                E403, **dict.fromkeys([v.value for v in LINE_VIEWERS], E404)
            ),
        },
        writes=True,
    ),
    # --- Batches ----------------------------------------------------------------------
    # Every appraisal report of the world's cycle a member may see, as one ZIP: whoever
    # may open the cycle overview (HR admins and managers with a line; 403 for everyone
    # else). The other manager's line has no appraisal in the cycle: they are sent
    # back to the overview with the reason, and nothing is made.
    "reporting:appraisal_batch": UrlPolicy(
        rows={
            (GET, NONE): POST_ONLY,
            (POST, NONE): tenant_row(
                E403, hr_admin=ALLOWED, line_manager=ALLOWED, other_manager=UNCHANGED
            ),
        },
        writes=True,
    ),
    # Retrying a failed batch (the world's job, a failed batch of the line manager's
    # once ``PREPARE`` made it one): its requester only; HR admins see the job but
    # may not retry it (403); everyone else finds nothing.
    "reporting:batch_retry": UrlPolicy(
        target_kind="report_job",
        rows={
            (GET, OWN): POST_ONLY,
            (GET, FOREIGN): POST_ONLY,
            (POST, OWN): gated(JOB_VIEWERS, allowed=(A.LINE_MANAGER,)),
            (POST, FOREIGN): NOBODY_FINDS_IT,
        },
        writes=True,
    ),
    # --- Scheduled e-mails ------------------------------------------------------------
    # Every member lists the subscriptions they see and may create one (for
    # themselves; HR admins for anyone). The world's subscription is the line
    # manager's weekly cycle digest for themselves: HR admins and the line manager
    # see it and may change, send, pause or delete it; everyone else finds nothing.
    "reporting:subscriptions": UrlPolicy(
        rows={(GET, NONE): MEMBERS, (POST, NONE): POST_ONLY},
    ),
    "reporting:subscription_create": UrlPolicy(
        rows={(GET, NONE): MEMBERS, (POST, NONE): MEMBERS}, writes=True
    ),
    "reporting:subscription_detail": UrlPolicy(
        target_kind="report_subscription", rows=_subscription_page()
    ),
    "reporting:subscription_preview": UrlPolicy(
        target_kind="report_subscription", rows=_subscription_page()
    ),
    "reporting:subscription_edit": UrlPolicy(
        target_kind="report_subscription",
        rows={
            (GET, OWN): SUBSCRIPTION_VISIBLE,
            (GET, FOREIGN): NOBODY_FINDS_IT,
            (POST, OWN): SUBSCRIPTION_VISIBLE,
            (POST, FOREIGN): NOBODY_FINDS_IT,
        },
        writes=True,
    ),
    **{
        name: UrlPolicy(
            target_kind="report_subscription",
            rows={
                (GET, OWN): POST_ONLY,
                (GET, FOREIGN): POST_ONLY,
                (POST, OWN): SUBSCRIPTION_VISIBLE,
                (POST, FOREIGN): NOBODY_FINDS_IT,
            },
            writes=True,
        )
        for name in (
            "reporting:subscription_send_now",
            "reporting:subscription_toggle",
            "reporting:subscription_delete",
        )
    },
    # Only a recipient stops receiving it (HR admins, who see it, are not one).
    "reporting:subscription_unsubscribe": UrlPolicy(
        target_kind="report_subscription",
        rows={
            (GET, OWN): POST_ONLY,
            (GET, FOREIGN): POST_ONLY,
            (POST, OWN): gated(SUBSCRIPTION_VIEWERS, allowed=(A.LINE_MANAGER,)),
            (POST, FOREIGN): NOBODY_FINDS_IT,
        },
        writes=True,
    ),
    "reporting:delivery_detail": UrlPolicy(
        target_kind="report_delivery", rows=_subscription_page()
    ),
    # The PDF an e-mail carried: HR admins and its recipient, the line manager.
    "reporting:delivery_email_pdf": UrlPolicy(
        target_kind="report_email", rows=_subscription_page()
    ),
    # The e-mails' unsubscribe page, outside any organisation: the signed link is
    # the credential, whoever is signed in (the one-click POST of RFC 8058 comes
    # from a mail client, without a session); a tampered link is not found.
    "reporting_public:unsubscribe": UrlPolicy(
        target_kind="unsubscribe_token",
        rows={
            (GET, VALID_TOKEN): everyone(ALLOWED),
            (GET, BAD_TOKEN): everyone(E404),
            (POST, VALID_TOKEN): everyone(ALLOWED),
            (POST, BAD_TOKEN): everyone(E404),
        },
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
    # --- Batches ----------------------------------------------------------------------
    "reporting:appraisal_batch": lambda w, k: {"cycle": w.refs["review_cycle"]},
    # --- Scheduled e-mails ------------------------------------------------------------
    # Every member may subscribe to their own finalised appraisal (HR admins name the
    # recipient; the others' forms have no such field and name themselves).
    "reporting:subscription_create": lambda w, k: {
        "title": "My appraisal",
        "kind": "my_appraisal",
        "frequency": "cycle_event",
        "cycle_event": "closed",
        "time_of_day": "07:00",
        "recipients": [w.line_manager.pk],
    },
    "reporting:subscription_edit": lambda w, k: {
        "title": "Monthly cycle digest",
        "kind": "cycle_digest",
        "frequency": "monthly",
        "day_of_month": "1",
        "time_of_day": "08:00",
        "recipients": [w.line_manager.pk],
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


def _store_the_email_pdfs(world: World) -> None:
    """The PDFs the world's report e-mails carried, in the test's MEDIA_ROOT."""
    for organization in (world.org, world.other_org):
        with tenant_context(organization):
            names = ReportEmail.objects.exclude(file="").values_list("file", flat=True)
            for name in names:
                if not default_storage.exists(name):
                    default_storage.save(name, ContentFile(b"%PDF-1.7\n"))


def _fail_the_report_job_as_a_batch(world: World) -> None:
    """The world's report job (the line manager's) as a batch of the world's cycle
    whose one document failed, so that a retry has something to make."""
    with tenant_context(world.org):
        job = ReportJob.objects.get(pk=world.objects[Target.OWN]["report_job"]["pk"])
        job.kind = "appraisal_batch"
        job.file_format = FileFormat.ZIP
        job.status = JobStatus.FAILED
        job.file = ""
        job.row_count = 0
        job.parameters = {"cycle": str(world.refs["review_cycle"]), "documents": 1}
        job.error = "The appraisal report could not be made."
        job.save()
        ReportJobPart.objects.create(
            organization=world.org,
            job=job,
            chunk=0,
            subject_id=world.refs["appraisal"],
            name="Appraisal.pdf",
            status=PartStatus.FAILED,
            error="ValueError: no room on the page",
        )


# Changes made before the request (inside the case's savepoint) for URLs that need
# another state than the world's.
PREPARE: dict[str, Prepare] = {
    # --- Exports and report jobs ------------------------------------------------------
    "reporting:job_download": _store_the_report_files,
    # --- Batches ----------------------------------------------------------------------
    "reporting:batch_retry": _fail_the_report_job_as_a_batch,
    # --- Scheduled e-mails ------------------------------------------------------------
    "reporting:delivery_email_pdf": _store_the_email_pdfs,
}
