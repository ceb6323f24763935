"""Tenants, accounts, memberships and the employee directory."""

from __future__ import annotations

import zoneinfo
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import (
    AbstractBaseUser,
    BaseUserManager,
    PermissionsMixin,
)
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q, Value, lookups
from django.db.models.functions import Concat, Upper
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from organizations.enums import NotificationKind, Role
from organizations.tenancy import TenantManager, TenantModel

TIMEZONE_CHOICES = [(tz, tz) for tz in sorted(zoneinfo.available_timezones())]


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(
        self, email: str, password: str | None = None, **extra: Any
    ) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str, **extra: Any) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who can log in. Belongs to organisations through Membership."""

    email = models.EmailField(_("e-mail address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("platform staff"), default=False)
    optional_emails = models.BooleanField(
        _("e-mail me about feedback and reminders"),
        default=True,
        help_text=_(
            "Untick to stop non-essential e-mails. E-mails you need to act on "
            "(evaluations assigned to you, finalised appraisals) still arrive."
        ),
    )
    # Kinds (NotificationKind values) the user switched off in-app; e-mail is
    # governed by ``optional_emails`` alone.
    muted_notification_kinds = models.JSONField(
        _("in-app notifications switched off"), default=list, blank=True
    )
    # Blank: the language of the organisation being viewed (Organization.language).
    language = models.CharField(
        _("language"),
        max_length=10,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=_(
            "The language of pages, e-mails and PDF reports for you. Leave it on "
            "the organisation's language to follow what HR chose."
        ),
    )
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["full_name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    def language_in(self, organization: Organization) -> str:
        """The language of this user's pages, e-mails and PDF reports in
        ``organization``: their own choice, else the organisation's. Pure."""
        return self.language or organization.language or settings.LANGUAGE_CODE


class Organization(models.Model):
    """A tenant. Every tenant-owned row points at exactly one."""

    slug = models.SlugField(_("short name"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    timezone = models.CharField(
        _("time zone"), max_length=64, default="UTC", choices=TIMEZONE_CHOICES
    )
    language = models.CharField(
        _("language"),
        max_length=10,
        default="en-gb",
        choices=settings.LANGUAGES,
        help_text=_(
            "The language of members who have not chosen one in their preferences."
        ),
    )
    general_weight = models.DecimalField(
        _("general weight (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("40"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("Default share of the general evaluation in the final score."),
    )
    goal_weight = models.DecimalField(
        _("goal weight (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("70"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("Default share of goals (versus competencies) in a plan's score."),
    )
    report_retention_days = models.PositiveSmallIntegerField(
        _("keep report files for (days)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text=_(
            "Exported files are deleted this many days after they were requested "
            "(1 to 3650). A new value applies to reports requested from now on."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(report_retention_days__gte=1)
                & Q(report_retention_days__lte=3650),
                name="org_report_retention_range",
            ),
            models.CheckConstraint(
                condition=Q(general_weight__gte=0) & Q(general_weight__lte=100),
                name="org_general_weight_range",
            ),
            models.CheckConstraint(
                condition=Q(goal_weight__gte=0) & Q(goal_weight__lte=100),
                name="org_goal_weight_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("organizations:home", args=[self.slug])


class TenantScopedManager(models.Manager["Membership"]):
    """Unscoped access to memberships, for the two places that need it.

    Only the tenant middleware (one user, one organisation slug) and the organisation
    switcher (one user's memberships) use this; everything else goes through the
    scoped default manager.
    """

    def for_user(self, user: User) -> models.QuerySet[Membership]:
        return self.filter(user=user, is_active=True, user__is_active=True)


class Membership(models.Model):
    """A user's place in one organisation, with their tenant role."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="memberships"
    )
    user = models.ForeignKey(
        User,
        verbose_name=_("login"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = TenantManager()
    unscoped = TenantScopedManager()
    history = HistoricalRecords()

    class Meta:
        base_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="membership_unique_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.get_role_display()})"

    @property
    def is_hr_admin(self) -> bool:
        return self.role == Role.HR_ADMIN

    @property
    def is_manager(self) -> bool:
        return self.role == Role.MANAGER


class BusinessUnit(TenantModel):
    """A department or practice. Units nest."""

    name = models.CharField(_("name"), max_length=120)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="business_unit_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class JobTitle(TenantModel):
    name = models.CharField(_("name"), max_length=120)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="job_title_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class _UpperContains(lookups.IContains):
    """``icontains`` on a column stored in upper case: ``UPPER`` on the pattern only,
    not on every row it is compared with."""

    def process_lhs(
        self, compiler: Any, connection: Any, lhs: Any = None
    ) -> tuple[str, list[Any]]:
        sql, params = lookups.Lookup.process_lhs(self, compiler, connection, lhs)
        return sql, list(params)


class UpperTextField(models.TextField):
    """Text kept in upper case (the output of a generated column): its ``icontains``
    upper-cases only the pattern."""


UpperTextField.register_lookup(_UpperContains)


class Employee(TenantModel):
    """A person in the organisation's directory, with or without a login."""

    user = models.ForeignKey(
        User,
        verbose_name=_("login"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="employee_records",
    )
    code = models.CharField(_("employee code"), max_length=40)
    full_name = models.CharField(_("full name"), max_length=200)
    email = models.EmailField(_("e-mail address"))
    job_title = models.ForeignKey(
        JobTitle,
        verbose_name=_("job title"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="employees",
    )
    business_unit = models.ForeignKey(
        BusinessUnit,
        verbose_name=_("business unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="employees",
    )
    line_manager = models.ForeignKey(
        "self",
        verbose_name=_("line manager"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="direct_reports",
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # What the directory search and the people pickers match: the name, code and
    # e-mail address in upper case, one per line. Upper-casing three columns of every
    # row was most of a search's cost (``UPPER`` is not leakproof, so under row-level
    # security no index can serve a substring search; docs/performance.md).
    search_text = models.GeneratedField(
        expression=Concat(
            Upper("full_name"),
            Value("\n"),
            Upper("code"),
            Value("\n"),
            Upper("email"),
            output_field=models.TextField(),
        ),
        output_field=UpperTextField(),
        db_persist=True,
    )

    history = HistoricalRecords(excluded_fields=["created_at", "search_text"])

    class Meta:
        ordering = ["full_name", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "code"], name="employee_unique_code"
            ),
            models.UniqueConstraint(
                fields=["organization", "user"],
                condition=Q(user__isnull=False),
                name="employee_unique_user",
            ),
            models.CheckConstraint(
                condition=~Q(line_manager=models.F("id")),
                name="employee_not_own_manager",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    def get_absolute_url(self) -> str:
        return reverse(
            "organizations:employee_detail", args=[self.organization.slug, self.pk]
        )


class Invitation(TenantModel):
    """An invitation to join an organisation with a role, accepted through a signed link."""

    email = models.EmailField(_("e-mail address"))
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    employee = models.ForeignKey(
        Employee,
        verbose_name=_("directory entry"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="invitations",
    )
    invited_by = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_role_display()})"

    @property
    def is_pending(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )


class SentEmail(TenantModel):
    """Ledger of notification e-mails: one row per event and recipient, so a task that
    runs twice (Celery delivers at least once) sends once. ``key`` names the event."""

    key = models.CharField(max_length=200)
    recipient = models.EmailField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "key"], name="sent_email_unique_key"
            ),
        ]

    def __str__(self) -> str:
        return self.key


class Notification(TenantModel):
    """An in-app notification: one row per event and recipient (``key`` as the
    e-mail's), written by ``organizations.notifications.queue_email`` in the event's
    transaction. ``path`` is the site-relative target; ``title`` is the e-mail's
    subject, rendered when the event happened."""

    recipient = models.ForeignKey(
        "organizations.User", on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    key = models.CharField(max_length=200)
    title = models.CharField(max_length=300)
    path = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "recipient", "key"],
                name="notification_once_per_event",
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "recipient"],
                condition=Q(read_at__isnull=True),
                name="notification_unread",
            ),
            models.Index(
                fields=["organization", "recipient", "-created_at"],
                name="notification_list",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_unread(self) -> bool:
        return self.read_at is None


class OutboxMessage(TenantModel):
    """Background work owed after a commit: one row per Celery task to run.

    Written by ``organizations.outbox.enqueue`` in the same transaction as the change
    that makes the work owed, so the work exists exactly when the change does. The
    relay (``organizations.outbox.relay``) publishes due rows to Celery and the task
    marks its row completed in the transaction of its own effect, so a broker outage
    delays work but never loses it, and a message delivered twice acts once.

    Lifecycle: pending (``dispatched_at`` empty) → dispatched (published, awaiting the
    worker; republished if not completed by ``next_attempt_at``) → completed, or
    failed after ``OUTBOX_MAX_ATTEMPTS`` publications (shown to HR, retried on
    request).
    """

    task = models.CharField(max_length=200)
    kwargs = models.JSONField(default=dict)
    # Idempotency key: two pending rows never share one (the second enqueue is a
    # no-op); empty for work that may be owed several times over.
    key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    # Only the relay (organizations.outbox) reads across organisations, inside a
    # transaction that sets the relay's row-security setting (docs/tenancy.md).
    all_organizations = models.Manager()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "key"],
                condition=~Q(key="") & Q(dispatched_at__isnull=True),
                name="outbox_one_pending_per_key",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(completed_at__isnull=True, failed_at__isnull=True),
                name="outbox_due",
            ),
            models.Index(
                fields=["organization", "created_at"], name="outbox_org_created"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task} #{self.pk}"

    @property
    def state(self) -> str:
        if self.completed_at is not None:
            return "completed"
        if self.failed_at is not None:
            return "failed"
        if self.dispatched_at is not None:
            return "dispatched"
        return "pending"


class RateLimitCounter(models.Model):
    """A fixed-window request counter kept in the database, where rate limits count
    while the cache (Redis) is unavailable, so a limit never fails open. Not tenant
    data: the key names a limit and a hashed client address."""

    key = models.CharField(max_length=200, unique=True)
    window_started_at = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
