"""Clients, engagement types, engagements and who plays which role on an engagement."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from engagements.enums import (
    AssignmentSource,
    EngagementRole,
    EngagementStatus,
)
from organizations.tenancy import TenantModel

# The django-guardian object permission each engagement role grants on the engagement.
ROLE_PERMISSIONS: dict[str, str] = {
    EngagementRole.PLANNER: "plan_engagement",
    EngagementRole.REVIEWER: "review_engagement",
    EngagementRole.APPROVER: "approve_engagement",
    EngagementRole.CONTRIBUTOR: "contribute_engagement",
}


class Client(TenantModel):
    name = models.CharField(_("name"), max_length=200)
    industry = models.CharField(_("industry"), max_length=120, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="client_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class EngagementType(TenantModel):
    """A kind of engagement (e.g. "Client delivery", "Internal"), with the competency
    set its plans use unless the engagement names its own."""

    name = models.CharField(_("name"), max_length=120)
    competency_set = models.ForeignKey(
        "competencies.CompetencySet",
        verbose_name=_("competency set"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="engagement_types",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="engagement_type_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Engagement(TenantModel):
    """A client project that people are staffed on, each with their own plan."""

    client = models.ForeignKey(
        Client,
        verbose_name=_("client"),
        on_delete=models.PROTECT,
        related_name="engagements",
    )
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    business_unit = models.ForeignKey(
        "organizations.BusinessUnit",
        verbose_name=_("business unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="engagements",
    )
    engagement_type = models.ForeignKey(
        EngagementType,
        verbose_name=_("engagement type"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="engagements",
    )
    competency_set = models.ForeignKey(
        "competencies.CompetencySet",
        verbose_name=_("competency set"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="engagements",
        help_text=_("Leave empty to use the engagement type's set."),
    )
    start_date = models.DateField(_("start"))
    end_date = models.DateField(_("end"))
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=EngagementStatus.choices,
        default=EngagementStatus.PLANNED,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(excluded_fields=["created_at"])

    class Meta:
        ordering = ["-start_date", "name"]
        permissions = [
            ("plan_engagement", "Can write plans on this engagement"),
            ("review_engagement", "Can review plans on this engagement"),
            ("approve_engagement", "Can approve evaluations on this engagement"),
            ("contribute_engagement", "Can contribute to this engagement"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "code"], name="engagement_unique_code"
            ),
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")),
                name="engagement_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    def get_absolute_url(self) -> str:
        return reverse(
            "engagements:engagement_detail", args=[self.organization.slug, self.pk]
        )


class RoleAssignment(TenantModel):
    """An engagement role held by an employee; grants guardian object permissions."""

    engagement = models.ForeignKey(
        Engagement,
        verbose_name=_("engagement"),
        on_delete=models.CASCADE,
        related_name="role_assignments",
    )
    employee = models.ForeignKey(
        "organizations.Employee",
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="engagement_roles",
    )
    role = models.CharField(_("role"), max_length=12, choices=EngagementRole.choices)
    source = models.CharField(
        _("assigned by"),
        max_length=10,
        choices=AssignmentSource.choices,
        default=AssignmentSource.MANUAL,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(excluded_fields=["created_at"])

    class Meta:
        ordering = ["role", "employee__full_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["engagement", "employee", "role"], name="role_assignment_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.employee} · {self.get_role_display()} · {self.engagement}"


class RoleRule(TenantModel):
    """ "Every <job title> staffed on an engagement holds <role> on it"."""

    job_title = models.ForeignKey(
        "organizations.JobTitle",
        verbose_name=_("job title"),
        on_delete=models.CASCADE,
        related_name="role_rules",
    )
    role = models.CharField(_("role"), max_length=12, choices=EngagementRole.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(excluded_fields=["created_at"])

    class Meta:
        ordering = ["job_title__name", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "job_title", "role"], name="role_rule_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.job_title} → {self.get_role_display()}"
