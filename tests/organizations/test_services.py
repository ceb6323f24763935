"""The services of the organizations app: people, roles, invitations and history."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import signing
from django.utils import timezone

from organizations import selectors, services
from organizations.enums import Role
from organizations.errors import DomainError
from organizations.models import Employee, Invitation, Membership, User
from organizations.services import InvitationError
from organizations.tenancy import tenant_context
from tests.factories import (
    TEST_PASSWORD,
    EmployeeFactory,
    InvitationFactory,
    JobTitleFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _employee_of(membership: Membership) -> Employee:
    with tenant_context(membership.organization):
        return Employee.objects.get(user=membership.user)


def _chain(org, length: int) -> list[Employee]:
    """``length`` people where each one manages the next: [top, ..., bottom]."""
    people = [EmployeeFactory(organization=org, full_name="Person 0")]
    for index in range(1, length):
        people.append(
            EmployeeFactory(
                organization=org,
                full_name=f"Person {index}",
                line_manager=people[-1],
            )
        )
    return people


def _stored(org, employee: Employee) -> dict[str, object]:
    with tenant_context(org):
        return Employee.objects.filter(pk=employee.pk).values().get()


# --- Line managers -------------------------------------------------------------------


def test_line_manager_error_refuses_the_person_themselves(org):
    person = EmployeeFactory(organization=org)

    with tenant_context(org):
        error = services.line_manager_error(employee=person, manager=person)

    assert error == "A person cannot be their own line manager."


def test_line_manager_error_refuses_a_direct_cycle(org):
    boss, report = _chain(org, 2)

    with tenant_context(org):
        error = services.line_manager_error(employee=boss, manager=report)

    assert error is not None
    assert error.startswith("Person 1 reports to Person 0, directly or through others")


def test_line_manager_error_refuses_a_longer_cycle(org):
    top, _middle, bottom = _chain(org, 3)

    with tenant_context(org):
        error = services.line_manager_error(employee=top, manager=bottom)

    assert error is not None
    assert error.startswith("Person 2 reports to Person 0, directly or through others")


def test_line_manager_error_accepts_someone_outside_the_reporting_line(org):
    top, middle, bottom = _chain(org, 3)
    outsider = EmployeeFactory(organization=org)

    with tenant_context(org):
        errors = [
            services.line_manager_error(employee=top, manager=outsider),
            services.line_manager_error(employee=bottom, manager=top),
            services.line_manager_error(employee=middle, manager=None),
            services.line_manager_error(employee=None, manager=bottom),
        ]

    assert errors == [None, None, None, None]


def test_update_employee_refuses_a_cycle_and_saves_nothing(org, hr_admin):
    boss, report = _chain(org, 2)
    before = _stored(org, boss)

    with tenant_context(org), pytest.raises(DomainError) as caught:
        services.update_employee(
            actor=hr_admin, employee=boss, full_name="Renamed", line_manager=report
        )

    assert caught.value.field == "line_manager"
    assert _stored(org, boss) == before


def test_update_employee_accepts_a_manager_outside_the_reporting_line(org, hr_admin):
    boss, _report = _chain(org, 2)
    outsider = EmployeeFactory(organization=org)

    with tenant_context(org):
        services.update_employee(actor=hr_admin, employee=boss, line_manager=outsider)

    assert _stored(org, boss)["line_manager_id"] == outsider.pk


# --- Employees -----------------------------------------------------------------------


def test_create_employee_adds_a_person_to_the_actors_organization(org, hr_admin):
    title = JobTitleFactory(organization=org)
    manager = EmployeeFactory(organization=org)

    with tenant_context(org):
        employee = services.create_employee(
            actor=hr_admin,
            code="N001",
            full_name="New Person",
            email="new.person@example.test",
            job_title=title,
            line_manager=manager,
        )

    stored = _stored(org, employee)
    assert (
        stored["organization_id"],
        stored["code"],
        stored["job_title_id"],
        stored["line_manager_id"],
        stored["user_id"],
    ) == (org.pk, "N001", title.pk, manager.pk, None)


def test_create_employee_links_the_member_with_the_same_email(org, make_member):
    actor = make_member(org, Role.HR_ADMIN)
    member = make_member(org, Role.EMPLOYEE, employee=False)

    with tenant_context(org):
        employee = services.create_employee(
            actor=actor,
            code="N002",
            full_name="Linked Person",
            email=member.user.email.upper(),
        )

    assert _stored(org, employee)["user_id"] == member.user_id


def test_update_employee_changes_fields_and_role(org, hr_admin, employee_member):
    person = _employee_of(employee_member)

    with tenant_context(org):
        services.update_employee(
            actor=hr_admin, employee=person, full_name="Promoted", role=Role.MANAGER
        )
        role = Membership.objects.get(pk=employee_member.pk).role

    assert (_stored(org, person)["full_name"], role) == ("Promoted", Role.MANAGER)


# --- Deactivation ----------------------------------------------------------------------


def test_set_employee_active_false_deactivates_the_membership_too(
    org, hr_admin, employee_member
):
    person = _employee_of(employee_member)

    with tenant_context(org):
        services.set_employee_active(actor=hr_admin, employee=person, active=False)
        membership_active = Membership.objects.get(pk=employee_member.pk).is_active

    assert (_stored(org, person)["is_active"], membership_active) == (False, False)


def test_set_employee_active_true_reactivates_the_membership(
    org, hr_admin, employee_member
):
    person = _employee_of(employee_member)
    with tenant_context(org):
        services.set_employee_active(actor=hr_admin, employee=person, active=False)

    with tenant_context(org):
        services.set_employee_active(actor=hr_admin, employee=person, active=True)
        membership_active = Membership.objects.get(pk=employee_member.pk).is_active

    assert (_stored(org, person)["is_active"], membership_active) == (True, True)


def test_set_employee_active_deactivates_a_person_without_a_login(org, hr_admin):
    person = EmployeeFactory(organization=org)

    with tenant_context(org):
        services.set_employee_active(actor=hr_admin, employee=person, active=False)

    assert _stored(org, person)["is_active"] is False


def test_set_employee_active_refuses_deactivating_yourself(org, hr_admin):
    me = _employee_of(hr_admin)

    with tenant_context(org), pytest.raises(DomainError, match="deactivate yourself"):
        services.set_employee_active(actor=hr_admin, employee=me, active=False)

    with tenant_context(org):
        membership_active = Membership.objects.get(pk=hr_admin.pk).is_active
    assert (_stored(org, me)["is_active"], membership_active) == (True, True)


def test_set_employee_active_reactivating_yourself_is_allowed(org, hr_admin):
    me = _employee_of(hr_admin)

    with tenant_context(org):
        services.set_employee_active(actor=hr_admin, employee=me, active=True)

    assert _stored(org, me)["is_active"] is True


# --- Roles ---------------------------------------------------------------------------


def test_change_role_gives_a_member_another_role(org, hr_admin, employee_member):
    with tenant_context(org):
        services.change_role(
            actor=hr_admin, user_id=employee_member.user_id, role=Role.MANAGER
        )
        role = Membership.objects.get(pk=employee_member.pk).role

    assert role == Role.MANAGER


def test_change_role_refuses_an_unknown_role(org, hr_admin, employee_member):
    with tenant_context(org), pytest.raises(DomainError) as caught:
        services.change_role(
            actor=hr_admin, user_id=employee_member.user_id, role="superuser"
        )

    with tenant_context(org):
        role = Membership.objects.get(pk=employee_member.pk).role
    assert (caught.value.field, role) == ("role", Role.EMPLOYEE)


def test_change_role_refuses_demoting_the_last_active_hr_admin(org, hr_admin):
    with tenant_context(org), pytest.raises(DomainError, match="last HR admin"):
        services.change_role(
            actor=hr_admin, user_id=hr_admin.user_id, role=Role.EMPLOYEE
        )

    with tenant_context(org):
        role = Membership.objects.get(pk=hr_admin.pk).role
    assert role == Role.HR_ADMIN


def test_change_role_counts_only_active_hr_admins(org, hr_admin, make_member):
    make_member(org, Role.HR_ADMIN, is_active=False)

    with tenant_context(org), pytest.raises(DomainError, match="last HR admin"):
        services.change_role(
            actor=hr_admin, user_id=hr_admin.user_id, role=Role.EMPLOYEE
        )


def test_change_role_demotes_an_hr_admin_when_another_is_active(
    org, hr_admin, make_member
):
    make_member(org, Role.HR_ADMIN)

    with tenant_context(org):
        services.change_role(
            actor=hr_admin, user_id=hr_admin.user_id, role=Role.EMPLOYEE
        )
        role = Membership.objects.get(pk=hr_admin.pk).role

    assert role == Role.EMPLOYEE


def test_change_role_ignores_another_organizations_hr_admins(
    org, other_org, hr_admin, make_member
):
    make_member(other_org, Role.HR_ADMIN)

    with tenant_context(org), pytest.raises(DomainError, match="last HR admin"):
        services.change_role(
            actor=hr_admin, user_id=hr_admin.user_id, role=Role.MANAGER
        )


# --- Invitations ---------------------------------------------------------------------


def _invite(actor: Membership, email: str, role: str = Role.EMPLOYEE) -> Invitation:
    with tenant_context(actor.organization):
        return services.invite_member(actor=actor, email=email, role=role)


def test_invite_member_sends_one_email_after_commit(
    org, hr_admin, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        invitation = _invite(hr_admin, " Newcomer@Example.test ")
    sent_before_commit = len(mailoutbox)

    for callback in callbacks:
        callback()

    assert (sent_before_commit, len(callbacks)) == (0, 1)
    assert [m.to for m in mailoutbox] == [["newcomer@example.test"]]
    token = re.search(r"/accounts/invitations/([^/\s]+)/", mailoutbox[0].body)
    assert token is not None
    assert services.load_invitation(token.group(1)) == (org, invitation.pk)


def test_invite_member_records_who_invited_and_when_it_expires(org, hr_admin):
    before = timezone.now()

    invitation = _invite(hr_admin, "someone@example.test", Role.MANAGER)

    assert (invitation.email, invitation.role, invitation.invited_by) == (
        "someone@example.test",
        Role.MANAGER,
        hr_admin.user,
    )
    assert before + timedelta(days=7) <= invitation.expires_at
    assert invitation.expires_at <= timezone.now() + timedelta(days=7)


def test_invite_member_refuses_an_active_member(
    org, hr_admin, employee_member, mailoutbox, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(DomainError, match="already a member") as caught,
    ):
        _invite(hr_admin, employee_member.user.email.upper())

    with tenant_context(org):
        invitations = Invitation.objects.count()
    assert (caught.value.field, invitations, mailoutbox) == ("email", 0, [])


def test_invite_member_accepts_a_former_member(org, hr_admin, make_member):
    former = make_member(org, Role.EMPLOYEE, is_active=False)

    invitation = _invite(hr_admin, former.user.email)

    assert invitation.email == former.user.email


def test_invite_member_accepts_a_member_of_another_organization(
    org, other_org, hr_admin, make_member
):
    elsewhere = make_member(other_org, Role.HR_ADMIN)

    invitation = _invite(hr_admin, elsewhere.user.email)

    assert invitation.organization_id == org.pk


def test_invite_member_refuses_a_second_pending_invitation(
    org, hr_admin, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _invite(hr_admin, "twice@example.test")

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(DomainError, match="already has a pending invitation"),
    ):
        _invite(hr_admin, "TWICE@example.test")

    with tenant_context(org):
        invitations = Invitation.objects.count()
    assert (invitations, len(mailoutbox)) == (1, 1)


def test_invite_member_accepts_a_new_invitation_after_the_old_one_is_revoked(
    org, hr_admin
):
    first = _invite(hr_admin, "again@example.test")
    with tenant_context(org):
        services.revoke_invitation(actor=hr_admin, invitation=first)

    second = _invite(hr_admin, "again@example.test")

    assert second.pk != first.pk


def test_invite_member_accepts_a_new_invitation_after_the_old_one_expired(
    org, hr_admin
):
    InvitationFactory(
        organization=org,
        email="late@example.test",
        expires_at=timezone.now() - timedelta(minutes=1),
    )

    invitation = _invite(hr_admin, "late@example.test")

    assert invitation.is_pending is True


def test_invite_member_links_the_unlinked_directory_entry_with_that_email(
    org, hr_admin
):
    entry = EmployeeFactory(organization=org, email="entry@example.test")

    invitation = _invite(hr_admin, "entry@example.test")

    assert invitation.employee == entry


def test_revoke_invitation_withdraws_it(org, hr_admin):
    invitation = _invite(hr_admin, "withdrawn@example.test")

    with tenant_context(org):
        services.revoke_invitation(actor=hr_admin, invitation=invitation)
        stored = Invitation.objects.get(pk=invitation.pk)

    assert (stored.revoked_at is not None, stored.is_pending) == (True, False)


def test_revoke_invitation_refuses_an_accepted_one(org, hr_admin):
    invitation = InvitationFactory(organization=org, accepted_at=timezone.now())

    with tenant_context(org), pytest.raises(DomainError, match="already accepted"):
        services.revoke_invitation(actor=hr_admin, invitation=invitation)

    with tenant_context(org):
        stored = Invitation.objects.get(pk=invitation.pk)
    assert stored.revoked_at is None


# --- Accepting an invitation -----------------------------------------------------------


def _accept(invitation: Invitation, **kwargs: object) -> Membership:
    return services.accept_invitation(
        organization=invitation.organization, invitation_id=invitation.pk, **kwargs
    )


def test_accept_invitation_creates_the_account_membership_and_directory_entry(org):
    invitation = InvitationFactory(
        organization=org, email="fresh@example.test", role=Role.MANAGER
    )

    membership = _accept(invitation, full_name=" Fresh Person ", password="A-long-pw-1")

    user = User.objects.get(email="fresh@example.test")
    with tenant_context(org):
        employee = Employee.objects.get(user=user)
        accepted_at = Invitation.objects.get(pk=invitation.pk).accepted_at
    assert (membership.user, membership.role, membership.is_active) == (
        user,
        Role.MANAGER,
        True,
    )
    assert (user.full_name, user.check_password("A-long-pw-1")) == (
        "Fresh Person",
        True,
    )
    assert (employee.email, employee.full_name, employee.is_active) == (
        "fresh@example.test",
        "Fresh Person",
        True,
    )
    assert accepted_at is not None


def test_accept_invitation_links_the_invited_directory_entry(org):
    entry = EmployeeFactory(organization=org, email="listed@example.test")
    invitation = InvitationFactory(
        organization=org, email="listed@example.test", employee=entry
    )

    membership = _accept(invitation, full_name="Listed", password="A-long-pw-1")

    assert _stored(org, entry)["user_id"] == membership.user_id


def test_accept_invitation_by_a_logged_in_user_with_the_same_email(
    org, other_org, make_member
):
    elsewhere = make_member(other_org, Role.HR_ADMIN)
    invitation = InvitationFactory(
        organization=org, email=elsewhere.user.email.upper(), role=Role.EMPLOYEE
    )

    membership = _accept(invitation, user=elsewhere.user)

    assert (membership.organization, membership.user, membership.role) == (
        org,
        elsewhere.user,
        Role.EMPLOYEE,
    )
    assert User.objects.filter(email__iexact=elsewhere.user.email).count() == 1
    assert elsewhere.user.check_password(TEST_PASSWORD) is True


def test_accept_invitation_refuses_a_logged_in_user_with_another_email(org):
    intruder = UserFactory()
    invitation = InvitationFactory(organization=org, email="meant@example.test")

    with pytest.raises(DomainError, match="you are logged in as"):
        _accept(invitation, user=intruder)

    with tenant_context(org):
        state = (
            Membership.objects.count(),
            Invitation.objects.get(pk=invitation.pk).accepted_at,
        )
    assert state == (0, None)


def test_accept_invitation_refuses_a_new_account_for_a_known_email(org):
    known = UserFactory(email="known@example.test")
    invitation = InvitationFactory(organization=org, email="known@example.test")

    with pytest.raises(DomainError, match="Log in first"):
        _accept(invitation, full_name="Someone Else", password="A-long-pw-1")

    assert known.check_password(TEST_PASSWORD) is True


def test_accept_invitation_works_only_once(org):
    invitation = InvitationFactory(organization=org, email="once@example.test")
    _accept(invitation, full_name="Once", password="A-long-pw-1")

    with pytest.raises(InvitationError) as caught:
        _accept(invitation, user=User.objects.get(email="once@example.test"))

    assert caught.value.reason == "used"


def test_accept_invitation_refuses_a_revoked_invitation(org):
    invitation = InvitationFactory(organization=org, revoked_at=timezone.now())

    with pytest.raises(InvitationError) as caught:
        _accept(invitation, full_name="Late", password="A-long-pw-1")

    assert caught.value.reason == "revoked"
    assert User.objects.filter(email=invitation.email).exists() is False


def test_accept_invitation_refuses_an_expired_invitation(org):
    invitation = InvitationFactory(
        organization=org, expires_at=timezone.now() - timedelta(seconds=1)
    )

    with pytest.raises(InvitationError) as caught:
        _accept(invitation, full_name="Late", password="A-long-pw-1")

    assert caught.value.reason == "expired"
    assert User.objects.filter(email=invitation.email).exists() is False


def test_accept_invitation_reactivates_a_former_member(org, hr_admin, make_member):
    former = make_member(org, Role.MANAGER)
    person = _employee_of(former)
    with tenant_context(org):
        services.set_employee_active(actor=hr_admin, employee=person, active=False)
    invitation = _invite(hr_admin, former.user.email)

    membership = _accept(invitation, user=former.user)

    with tenant_context(org):
        entries = list(Employee.objects.filter(user=former.user))
    assert (membership.pk, membership.is_active, membership.role) == (
        former.pk,
        True,
        Role.EMPLOYEE,
    )
    assert entries == [person]
    assert entries[0].is_active is True


def test_load_invitation_refuses_a_tampered_token(org):
    invitation = InvitationFactory(organization=org)
    token = services.invitation_token(invitation)

    with pytest.raises(InvitationError) as caught:
        services.load_invitation(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))

    assert caught.value.reason == "tampered"


def test_load_invitation_refuses_an_old_signature(org, settings):
    invitation = InvitationFactory(organization=org)
    settings.INVITATION_MAX_AGE = timedelta(days=7)
    signer = signing.TimestampSigner(salt=services.INVITATION_SALT)
    signer.timestamp = lambda: signing.b62_encode(  # type: ignore[method-assign]  # freeze the signer clock
        int((timezone.now() - timedelta(days=8)).timestamp())
    )
    token = signer.sign_object({"i": invitation.pk, "o": org.pk})

    with pytest.raises(InvitationError) as caught:
        services.load_invitation(token)

    assert caught.value.reason == "expired"


def test_load_invitation_accepts_a_fresh_token(org):
    invitation = InvitationFactory(organization=org)

    loaded = services.load_invitation(services.invitation_token(invitation))

    assert loaded == (org, invitation.pk)


# --- History -----------------------------------------------------------------------


def test_employee_history_records_who_when_before_and_after(org, hr_admin):
    old_manager = EmployeeFactory(organization=org, full_name="Old Boss")
    new_manager = EmployeeFactory(organization=org, full_name="New Boss")
    person = EmployeeFactory(
        organization=org, full_name="Tracked", line_manager=old_manager
    )
    before = timezone.now()

    with tenant_context(org):
        services.update_employee(
            actor=hr_admin,
            employee=person,
            full_name="Tracked Renamed",
            line_manager=new_manager,
        )
    after = timezone.now()

    with tenant_context(org):
        timeline = selectors.employee_history(Employee.objects.get(pk=person.pk))
    latest = timeline[0]
    assert (len(timeline), latest["who"], latest["kind"]) == (
        2,
        hr_admin.user,
        "Changed",
    )
    assert before <= latest["when"] <= after
    assert sorted(latest["changes"], key=lambda c: c["field"]) == [
        {"field": "full name", "old": "Tracked", "new": "Tracked Renamed"},
        {"field": "line manager", "old": "Old Boss", "new": "New Boss"},
    ]


def test_employee_history_records_the_creator(org, hr_admin):
    with tenant_context(org):
        employee = services.create_employee(
            actor=hr_admin, code="H001", full_name="Created", email="c@example.test"
        )

    with tenant_context(org):
        records = list(employee.history.values_list("history_type", "history_user"))
    assert records == [("+", hr_admin.user_id)]


def test_employee_history_records_deactivation(org, hr_admin):
    person = EmployeeFactory(organization=org)

    with tenant_context(org):
        services.set_employee_active(actor=hr_admin, employee=person, active=False)

    with tenant_context(org):
        timeline = selectors.employee_history(Employee.objects.get(pk=person.pk))
    assert (timeline[0]["who"], timeline[0]["changes"]) == (
        hr_admin.user,
        [{"field": "active", "old": "Yes", "new": "No"}],
    )


def test_membership_history_records_a_role_change(org, hr_admin, employee_member):
    before = timezone.now()

    with tenant_context(org):
        services.change_role(
            actor=hr_admin, user_id=employee_member.user_id, role=Role.MANAGER
        )

    with tenant_context(org):
        records = list(
            Membership.history.filter(id=employee_member.pk).order_by("-history_date")
        )
    latest, previous = records[0], records[1]
    assert (previous.role, latest.role) == (Role.EMPLOYEE, Role.MANAGER)
    assert (latest.history_user, latest.history_type) == (hr_admin.user, "~")
    assert latest.history_date >= before
    assert [c.field for c in latest.diff_against(previous).changes] == ["role"]


def test_membership_history_records_deactivation_with_the_actor(
    org, hr_admin, employee_member
):
    person = _employee_of(employee_member)

    with tenant_context(org):
        services.set_employee_active(actor=hr_admin, employee=person, active=False)

    with tenant_context(org):
        latest = Membership.history.filter(id=employee_member.pk).latest("history_date")
    assert (latest.is_active, latest.history_user) == (False, hr_admin.user)
