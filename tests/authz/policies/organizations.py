"""The organizations part of the authorisation policy: what each of its named URLs
answers to whom (``POLICY``) and the body of each URL's POST (``POST_DATA``). Its URLs:
the home page, the health probe and the account pages outside any organisation, and
people, invitations, the pickers' endpoint, search, settings, background work,
business units and job titles under /o/<org_slug>/.
The language of the table is ``tests/authz/policy.py``."""

from __future__ import annotations

from organizations.enums import Role
from tests.authz.policy import (
    ALLOWED,
    APPROVER,
    BAD_TOKEN,
    CONTRIBUTOR,
    E400,
    E404,
    E405,
    EMPLOYEE_CHANGEABLE,
    EMPLOYEE_VISIBLE,
    FOREIGN,
    GET,
    GET_ONLY,
    HR_ONLY,
    HR_ONLY_GET,
    LOGIN,
    MEMBERS,
    NOBODY_FINDS_IT,
    NONE,
    OWN,
    POST,
    POST_ONLY,
    UNCHANGED,
    VALID_TOKEN,
    Actor,
    UrlPolicy,
    everyone,
    hr_only_object,
    signed_in,
    tenant_row,
)
from tests.authz.world import PostBody
from tests.factories import TEST_PASSWORD

NEW_PASSWORD = "violet-harbour-lantern-93"


POLICY: dict[str, UrlPolicy] = {
    # --- Outside any organisation ---------------------------------------------------
    "home": UrlPolicy(
        # Signed-in users are sent to their organisation (or a switcher).
        rows={
            (GET, NONE): signed_in(LOGIN, ALLOWED),
            (POST, NONE): signed_in(LOGIN, ALLOWED),
        },
    ),
    "healthz": UrlPolicy(
        rows={(GET, NONE): everyone(ALLOWED), (POST, NONE): everyone(E405)},
    ),
    "login": UrlPolicy(
        # Anonymous POSTs valid credentials and is signed in; a signed-in user is
        # redirected away without signing in again.
        rows={
            (GET, NONE): everyone(ALLOWED),
            (POST, NONE): signed_in(ALLOWED, UNCHANGED),
        },
        writes=True,
    ),
    "logout": UrlPolicy(
        rows={
            (GET, NONE): everyone(E405),
            (POST, NONE): signed_in(UNCHANGED, ALLOWED),
        },
        writes=True,
    ),
    "password_change": UrlPolicy(
        rows={
            (GET, NONE): signed_in(LOGIN, ALLOWED),
            (POST, NONE): signed_in(LOGIN, ALLOWED),
        },
        writes=True,
    ),
    "password_change_done": UrlPolicy(
        rows={
            (GET, NONE): signed_in(LOGIN, ALLOWED),
            (POST, NONE): signed_in(LOGIN, E405),
        },
    ),
    "password_reset": UrlPolicy(
        # Anyone may ask for a reset e-mail; it goes to the account's own address.
        rows={(GET, NONE): everyone(ALLOWED), (POST, NONE): everyone(ALLOWED)},
        writes=True,
    ),
    "password_reset_done": UrlPolicy(
        rows={(GET, NONE): everyone(ALLOWED), (POST, NONE): everyone(E405)},
    ),
    "password_reset_confirm": UrlPolicy(
        # A valid link moves its token into the session and redirects to the form;
        # a bad one shows the "link is not valid" page. Neither changes a password.
        target_kind="password_reset_token",
        rows={
            (GET, VALID_TOKEN): everyone(ALLOWED),
            (GET, BAD_TOKEN): everyone(UNCHANGED),
            (POST, VALID_TOKEN): everyone(ALLOWED),
            (POST, BAD_TOKEN): everyone(UNCHANGED),
        },
    ),
    "password_reset_complete": UrlPolicy(
        rows={(GET, NONE): everyone(ALLOWED), (POST, NONE): everyone(E405)},
    ),
    "invitation_accept": UrlPolicy(
        # The signed link is the credential. A new person signs up through it; a
        # signed-in account with another e-mail address is told so, and nothing
        # changes.
        target_kind="invitation_token",
        rows={
            (GET, VALID_TOKEN): everyone(ALLOWED),
            (GET, BAD_TOKEN): everyone(E400),
            (POST, VALID_TOKEN): signed_in(ALLOWED, UNCHANGED),
            (POST, BAD_TOKEN): everyone(E400),
        },
        writes=True,
    ),
    # --- /o/<org_slug>/ -----------------------------------------------------------------
    "organizations:home": UrlPolicy(
        # The view ignores the method; a POST renders the page and changes nothing.
        rows={(GET, NONE): MEMBERS, (POST, NONE): MEMBERS},
    ),
    "organizations:people": UrlPolicy(
        rows={
            (GET, NONE): HR_ONLY,
            (POST, NONE): HR_ONLY_GET,
        },
    ),
    "organizations:employee_create": UrlPolicy(
        rows={(GET, NONE): HR_ONLY, (POST, NONE): HR_ONLY},
        writes=True,
    ),
    "organizations:employee_detail": UrlPolicy(
        target_kind="employee",
        rows={
            (GET, OWN): EMPLOYEE_VISIBLE,
            (GET, FOREIGN): NOBODY_FINDS_IT,
            (POST, OWN): EMPLOYEE_VISIBLE,
            (POST, FOREIGN): NOBODY_FINDS_IT,
        },
    ),
    "organizations:employee_edit": UrlPolicy(
        target_kind="employee",
        rows={
            (GET, OWN): EMPLOYEE_CHANGEABLE,
            (GET, FOREIGN): NOBODY_FINDS_IT,
            (POST, OWN): EMPLOYEE_CHANGEABLE,
            (POST, FOREIGN): NOBODY_FINDS_IT,
        },
        writes=True,
    ),
    "organizations:employee_set_active": UrlPolicy(
        target_kind="employee",
        rows={
            (GET, OWN): POST_ONLY,
            (GET, FOREIGN): POST_ONLY,
            (POST, OWN): EMPLOYEE_CHANGEABLE,
            (POST, FOREIGN): NOBODY_FINDS_IT,
        },
        writes=True,
    ),
    "organizations:invitations": UrlPolicy(
        rows={(GET, NONE): HR_ONLY, (POST, NONE): HR_ONLY},
        writes=True,
    ),
    "organizations:invitation_revoke": UrlPolicy(
        target_kind="invitation", rows=hr_only_object(post_only=True), writes=True
    ),
    "organizations:notifications": UrlPolicy(
        # Every member lists their own notifications.
        rows={(GET, NONE): MEMBERS, (POST, NONE): POST_ONLY},
    ),
    "organizations:notification_read_all": UrlPolicy(
        # Every member may; it changes something for those with unread ones: self
        # (the world's notification), and the line manager and reviewer, whom the
        # world's evaluations notified through queue_email.
        rows={
            (GET, NONE): POST_ONLY,
            (POST, NONE): tenant_row(
                UNCHANGED, self=ALLOWED, line_manager=ALLOWED, reviewer=ALLOWED
            ),
        },
        # The approver and contributor the reviewer stands for were notified of
        # nothing.
        roles={
            APPROVER: {(POST, NONE): UNCHANGED},
            CONTRIBUTOR: {(POST, NONE): UNCHANGED},
        },
        writes=True,
    ),
    "organizations:notification_open": UrlPolicy(
        # The world's notification is self's: anyone else's is not found.
        target_kind="notification",
        rows={
            (GET, OWN): POST_ONLY,
            (GET, FOREIGN): POST_ONLY,
            (POST, OWN): tenant_row(E404, self=ALLOWED),
            (POST, FOREIGN): NOBODY_FINDS_IT,
        },
        writes=True,
    ),
    "organizations:picker": UrlPolicy(
        # The pickers' JSON endpoint. OWN is the source "people" (HR admins only);
        # FOREIGN a source that does not exist. Every source's own gate has tests in
        # tests/organizations/test_pickers.py.
        target_kind="picker_source",
        rows={
            (GET, OWN): HR_ONLY,
            (GET, FOREIGN): NOBODY_FINDS_IT,
            (POST, OWN): GET_ONLY,
            (POST, FOREIGN): GET_ONLY,
        },
    ),
    "organizations:search": UrlPolicy(
        # Every member searches; each finds only what they may open (the result
        # scopes have tests in tests/organizations/views/test_search.py). A query too
        # short to search, and one that finds people, engagements and plans.
        rows={(GET, NONE): MEMBERS, (POST, NONE): GET_ONLY},
        queries=("", "q=a", "q=Consultant", "q=Employee"),
    ),
    "organizations:settings": UrlPolicy(
        rows={(GET, NONE): HR_ONLY, (POST, NONE): HR_ONLY},
        writes=True,
    ),
    "organizations:background_work": UrlPolicy(
        # POST retries failed work; the world has none, so it changes nothing.
        rows={(GET, NONE): HR_ONLY, (POST, NONE): HR_ONLY},
    ),
    "organizations:business_units": UrlPolicy(
        rows={(GET, NONE): HR_ONLY, (POST, NONE): HR_ONLY},
        writes=True,
    ),
    "organizations:business_unit_edit": UrlPolicy(
        target_kind="business_unit", rows=hr_only_object(), writes=True
    ),
    "organizations:job_titles": UrlPolicy(
        rows={(GET, NONE): HR_ONLY, (POST, NONE): HR_ONLY},
        writes=True,
    ),
    "organizations:job_title_edit": UrlPolicy(
        target_kind="job_title", rows=hr_only_object(), writes=True
    ),
}


# The body of each URL's POST: valid input, so that an allowed POST goes through.
# Each takes the world and the URL's kwargs.
POST_DATA: dict[str, PostBody] = {
    "login": lambda w, k: {
        "username": w.members[Actor.SELF].user.email,
        "password": TEST_PASSWORD,
    },
    "password_change": lambda w, k: {
        "old_password": TEST_PASSWORD,
        "new_password1": NEW_PASSWORD,
        "new_password2": NEW_PASSWORD,
    },
    "password_reset": lambda w, k: {"email": w.members[Actor.SELF].user.email},
    "invitation_accept": lambda w, k: {
        "full_name": "New Joiner",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
    },
    "organizations:employee_create": lambda w, k: {
        "code": "NEW-1",
        "full_name": "New Person",
        "email": "new.person@example.test",
    },
    "organizations:employee_edit": lambda w, k: {
        "code": w.subject.code,
        "full_name": "Renamed Person",
        "email": w.subject.email,
        "line_manager": w.line_manager.pk,
        "role": Role.EMPLOYEE,
    },
    "organizations:employee_set_active": lambda w, k: {"active": "false"},
    "organizations:invitations": lambda w, k: {
        "email": "invitee.new@example.test",
        "role": Role.EMPLOYEE,
    },
    "organizations:settings": lambda w, k: {
        "name": "Renamed Organisation",
        "timezone": "Europe/London",
        "language": "de",
        "general_weight": "40",
        "goal_weight": "70",
        "report_retention_days": "30",
    },
    "organizations:background_work": lambda w, k: {},
    "organizations:business_units": lambda w, k: {"name": "New Unit"},
    "organizations:business_unit_edit": lambda w, k: {"name": "Renamed Unit"},
    "organizations:job_titles": lambda w, k: {"name": "New Title"},
    "organizations:job_title_edit": lambda w, k: {"name": "Renamed Title"},
}
