"""Operations that change organisations, people, memberships and invitations.

Every function is keyword-only, takes the acting Membership as ``actor`` where a
person acts, runs in one transaction and records history (django-simple-history picks
up the acting user from the request, or ``_history_user`` set here).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from organizations.enums import Role
from organizations.errors import DomainError
from organizations.history import record_author
from organizations.models import (
    Employee,
    Invitation,
    Membership,
    Organization,
    User,
)
from organizations.outbox import enqueue
from organizations.signals import employee_linked
from organizations.tenancy import tenant_context

INVITATION_SALT = "organizations.invitation"
SEND_INVITATION_TASK = "organizations.tasks.send_invitation_email"


# --- Line managers -------------------------------------------------------------------


def line_manager_error(
    *, employee: Employee | None, manager: Employee | None
) -> str | None:
    """Why ``manager`` cannot be ``employee``'s line manager, or None if it can.

    Refuses self-management and cycles through the chain (A manages B manages A).
    One query: the organisation's (id, line_manager_id) pairs.
    """
    if manager is None:
        return None
    if employee is not None and employee.pk is not None and manager.pk == employee.pk:
        return _("A person cannot be their own line manager.")
    if employee is None or employee.pk is None:
        return None
    parents = dict(Employee.objects.values_list("pk", "line_manager_id"))
    seen: set[int] = set()
    current: int | None = manager.pk
    while current is not None and current not in seen:
        if current == employee.pk:
            return _(
                "%(manager)s reports to %(employee)s, directly or through others; "
                "choosing them would make a loop. Pick someone outside "
                "%(employee)s's reporting line."
            ) % {"manager": manager.full_name, "employee": employee.full_name}
        seen.add(current)
        current = parents.get(current)
    return None


# --- Employees -----------------------------------------------------------------------


def create_employee(*, actor: Membership, **fields: Any) -> Employee:
    """Add a person to the directory. Raises DomainError on a line-manager loop."""
    with transaction.atomic():
        employee = Employee(organization=actor.organization, **fields)
        error = line_manager_error(employee=employee, manager=employee.line_manager)
        if error:
            raise DomainError(error, field="line_manager")
        _link_existing_user(employee)
        record_author(employee, actor.user)
        employee.save()
        if employee.user_id is not None:
            employee_linked.send(sender=Employee, employee=employee)
    return employee


def _link_existing_user(employee: Employee) -> None:
    """Connect a new directory entry to the member who has the same e-mail address."""
    if employee.user_id is not None:
        return
    membership = (
        Membership.objects.filter(user__email__iexact=employee.email)
        .exclude(user__employee_records__organization=employee.organization)
        .first()
    )
    if membership is not None:
        employee.user_id = membership.user_id


def update_employee(
    *, actor: Membership, employee: Employee, role: str | None = None, **fields: Any
) -> Employee:
    """Change a directory entry and, if given, the person's tenant role."""
    with transaction.atomic():
        for name, value in fields.items():
            setattr(employee, name, value)
        error = line_manager_error(employee=employee, manager=employee.line_manager)
        if error:
            raise DomainError(error, field="line_manager")
        record_author(employee, actor.user)
        employee.save()
        if role is not None and employee.user_id is not None:
            change_role(actor=actor, user_id=employee.user_id, role=role)
    return employee


def set_employee_active(
    *, actor: Membership, employee: Employee, active: bool
) -> Employee:
    """Deactivate or reactivate a person; their membership follows.

    A deactivated person loses access to this organisation on their next request.
    Refuses to deactivate the actor themselves (so an organisation keeps an admin).
    """
    with transaction.atomic():
        if not active and employee.user_id == actor.user_id:
            raise DomainError(
                _("You cannot deactivate yourself. Ask another HR admin.")
            )
        employee.is_active = active
        record_author(employee, actor.user)
        employee.save(update_fields=["is_active"])
        if employee.user_id is not None:
            membership = Membership.objects.filter(user_id=employee.user_id).first()
            if membership is not None and membership.is_active != active:
                membership.is_active = active
                record_author(membership, actor.user)
                membership.save(update_fields=["is_active"])
    return employee


def change_role(*, actor: Membership, user_id: int, role: str) -> Membership:
    """Give a member another tenant role. The last active HR admin keeps theirs."""
    if role not in Role.values:
        raise DomainError(_("Choose one of the listed roles."), field="role")
    with transaction.atomic():
        membership = Membership.objects.select_for_update().get(user_id=user_id)
        if membership.role == role:
            return membership
        if membership.role == Role.HR_ADMIN and not (
            Membership.objects.filter(role=Role.HR_ADMIN, is_active=True)
            .exclude(pk=membership.pk)
            .exists()
        ):
            raise DomainError(
                _(
                    "This is the organisation's last HR admin. Make someone else an "
                    "HR admin first."
                ),
                field="role",
            )
        membership.role = role
        record_author(membership, actor.user)
        membership.save(update_fields=["role"])
    return membership


# --- Invitations ---------------------------------------------------------------------


def invitation_token(invitation: Invitation) -> str:
    """The signed token of an invitation link; it names the invitation and tenant."""
    return signing.dumps(
        {"i": invitation.pk, "o": invitation.organization_id}, salt=INVITATION_SALT
    )


def invite_member(
    *,
    actor: Membership | None,
    email: str,
    role: str,
    employee: Employee | None = None,
    organization: Organization | None = None,
) -> Invitation:
    """Invite a person by e-mail to join with ``role``; the e-mail goes out after commit.

    ``actor`` is the inviting HR admin; ``None`` with ``organization`` is the platform
    operator bootstrapping a new tenant. Refuses an address that is already an active
    member or has a pending invitation.
    """
    organization = actor.organization if actor is not None else organization
    if organization is None:
        raise ValueError("invite_member needs an actor or an organization.")
    email = email.strip().lower()
    with transaction.atomic():
        if Membership.objects.filter(
            user__email__iexact=email, is_active=True
        ).exists():
            raise DomainError(
                _("%(email)s is already a member of this organisation.")
                % {"email": email},
                field="email",
            )
        now = timezone.now()
        if Invitation.objects.filter(
            email__iexact=email,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=now,
        ).exists():
            raise DomainError(
                _(
                    "%(email)s already has a pending invitation. Withdraw it first "
                    "to send a new one."
                )
                % {"email": email},
                field="email",
            )
        if employee is None:
            employee = Employee.objects.filter(
                email__iexact=email, user__isnull=True
            ).first()
        invitation = Invitation.objects.create(
            organization=organization,
            email=email,
            role=role,
            employee=employee,
            invited_by=actor.user if actor is not None else None,
            created_at=now,
            expires_at=now + settings.INVITATION_MAX_AGE,
        )
        enqueue(
            SEND_INVITATION_TASK,
            organization=organization,
            idempotency_key=f"invitation:{invitation.pk}",
            invitation_id=invitation.pk,
        )
    return invitation


def revoke_invitation(*, actor: Membership, invitation: Invitation) -> Invitation:
    with transaction.atomic():
        if invitation.accepted_at is not None:
            raise DomainError(_("This invitation was already accepted."))
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
    return invitation


class InvitationError(DomainError):
    """The link is unusable; ``reason`` is one of tampered, expired, used, revoked."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def load_invitation(token: str) -> tuple[Organization, int]:
    """Check an invitation token's signature and age; return its tenant and id.

    Raises InvitationError("tampered" | "expired").
    """
    max_age = settings.INVITATION_MAX_AGE
    try:
        data = signing.loads(token, salt=INVITATION_SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise InvitationError(
            "expired",
            _("This invitation has expired. Ask your HR team to send a new one."),
        ) from exc
    except signing.BadSignature as exc:
        raise InvitationError(
            "tampered",
            _(
                "This invitation link is not valid. Check that you copied the whole "
                "link from the e-mail, or ask your HR team for a new invitation."
            ),
        ) from exc
    organization = Organization.objects.filter(pk=data.get("o")).first()
    if organization is None:
        raise InvitationError("tampered", _("This invitation link is not valid."))
    return organization, int(data["i"])


def check_invitation_usable(invitation: Invitation | None) -> Invitation:
    if invitation is None:
        raise InvitationError("tampered", _("This invitation link is not valid."))
    if invitation.accepted_at is not None:
        raise InvitationError(
            "used",
            _(
                "This invitation has already been used. Log in with your e-mail address."
            ),
        )
    if invitation.revoked_at is not None:
        raise InvitationError(
            "revoked",
            _(
                "This invitation was withdrawn. Ask your HR team if you still need access."
            ),
        )
    if invitation.expires_at <= timezone.now():
        raise InvitationError(
            "expired",
            _("This invitation has expired. Ask your HR team to send a new one."),
        )
    return invitation


def accept_invitation(
    *,
    organization: Organization,
    invitation_id: int,
    user: User | None = None,
    full_name: str = "",
    password: str = "",
) -> Membership:
    """Join the organisation through an invitation, once.

    Either ``user`` (an existing, logged-in account with the invited address) or
    ``full_name`` and ``password`` for a new account. The invitation row is locked so
    two concurrent submits cannot both succeed. Raises InvitationError or DomainError.
    """
    with tenant_context(organization):
        invitation = check_invitation_usable(
            Invitation.objects.select_for_update().filter(pk=invitation_id).first()
        )
        if user is None:
            if User.objects.filter(email__iexact=invitation.email).exists():
                raise DomainError(
                    _(
                        "An account with this e-mail address already exists. Log in "
                        "first, then open the invitation link again."
                    )
                )
            user = User.objects.create_user(
                invitation.email, password, full_name=full_name.strip()
            )
        elif user.email.lower() != invitation.email.lower():
            raise DomainError(
                _(
                    "This invitation is for %(email)s, but you are logged in as "
                    "%(me)s. Log out and open the link again."
                )
                % {"email": invitation.email, "me": user.email}
            )
        membership = Membership.objects.filter(user=user).first()
        if membership is None:
            membership = Membership(organization=organization, user=user)
        membership.role = invitation.role
        membership.is_active = True
        record_author(membership, user)
        membership.save()
        # A returning member keeps their own entry (one entry per user and tenant).
        invited_entry = invitation.employee
        if invited_entry is not None and invited_entry.user_id not in (None, user.pk):
            invited_entry = None  # linked to someone else since: never take it over
        employee = (
            Employee.objects.filter(user=user).first()
            or invited_entry
            or Employee.objects.filter(
                email__iexact=invitation.email, user__isnull=True
            ).first()
        )
        if employee is None:
            employee = Employee(
                organization=organization,
                code=_next_code(),
                full_name=user.full_name or invitation.email,
                email=invitation.email,
            )
        employee.user = user
        employee.is_active = True
        record_author(employee, user)
        employee.save()
        employee_linked.send(sender=Employee, employee=employee)
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
    return membership


def _next_code() -> str:
    """A free employee code for someone who joined without a directory entry."""
    existing = set(Employee.objects.values_list("code", flat=True))
    number = len(existing) + 1
    while f"E{number:04d}" in existing:
        number += 1
    return f"E{number:04d}"
