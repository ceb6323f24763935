"""The authorisation policy as a whole, against the URLconf: every named URL has an
entry in exactly one app's table (a URL without one fails the build), every entry
names a URL that exists, and the entries keep the rules the tables encode. Last, the
engagement roles the reviewer stands for answer like the reviewer on every app's URLs.

Each app's URLs are checked against its table in ``tests/authz/test_<app>.py``.
"""

from __future__ import annotations

import pytest

from tests.authz.engine import HOME_TARGETS, check_role_like_the_reviewer
from tests.authz.policy import ACTORS, ORG_KWARG, Actor, Outcome, Target
from tests.authz.routes import named_routes, url_routes
from tests.authz.table import APP_TABLES, POLICY
from tests.authz.targets import TARGET_KINDS, WORLD_KINDS
from tests.authz.world import ROLES_LIKE_THE_REVIEWER

REFUSALS = (
    Outcome.LOGIN,
    Outcome.FORBIDDEN,
    Outcome.NOT_FOUND,
    Outcome.METHOD_NOT_ALLOWED,
    Outcome.BAD_REQUEST,
)


# --- The URLconf ------------------------------------------------------------------------


def test_urlconf_every_url_pattern_has_a_name():
    unnamed = [r.route for r in url_routes() if r.name is None]

    assert unnamed == []


def test_urlconf_url_names_are_unique():
    names = [r.name for r in url_routes() if r.name is not None]

    assert sorted({n for n in names if names.count(n) > 1}) == []


def test_urlconf_every_named_url_has_a_policy_entry():
    names = set(named_routes())

    missing = sorted(names - set(POLICY))

    assert missing == [], (
        f"Declare these URLs in their app's tests/authz/policies/<app>.py: {missing}"
    )


def test_policy_every_url_is_declared_by_one_app_only():
    declared = [name for table in APP_TABLES.values() for name in table]

    twice = sorted({name for name in declared if declared.count(name) > 1})

    assert twice == []


def test_policy_every_entry_names_a_url_that_exists():
    names = set(named_routes())

    stale = sorted(set(POLICY) - names)

    assert stale == [], f"These POLICY entries name no URL: {stale}"


def test_policy_every_entry_covers_get_and_post_for_each_target():
    gaps = []

    for name, policy in POLICY.items():
        targets = {target for _, target in policy.rows}
        wanted = {(m, t) for m in ("GET", "POST") for t in targets}
        if set(policy.rows) != wanted:
            gaps.append(name)

    assert gaps == []


def test_policy_every_row_has_one_outcome_per_actor():
    wrong = [
        (name, method, str(target))
        for name, policy in POLICY.items()
        for (method, target), row in policy.rows.items()
        if len(row) != len(ACTORS) or not all(isinstance(o, Outcome) for o in row)
    ]

    assert wrong == []


def test_policy_target_kind_matches_the_url_kwargs():
    routes = named_routes()
    wrong = []

    for name, policy in POLICY.items():
        if name not in routes:
            continue  # reported by test_policy_every_entry_names_a_url_that_exists
        kwargs = set(routes[name].kwargs) - {ORG_KWARG}
        declared = TARGET_KINDS[policy.target_kind].kwargs if policy.target_kind else ()
        if kwargs != set(declared):
            wrong.append((name, sorted(kwargs), policy.target_kind))

    assert wrong == []


def test_policy_targets_exist_for_the_target_kind():
    """GENERAL_PLAN, OTHER_PARENT and PRIVATE rows need such an object in the world."""
    wrong = [
        (name, str(target))
        for name, policy in POLICY.items()
        for _, target in policy.rows
        if target in WORLD_KINDS and policy.target_kind not in WORLD_KINDS[target]
    ]

    assert wrong == []


def test_policy_organisation_urls_send_anonymous_to_login_and_outsiders_to_404():
    routes = named_routes()
    wrong = []

    for name, policy in POLICY.items():
        if name not in routes or ORG_KWARG not in routes[name].kwargs:
            continue
        for (method, target), row in policy.rows.items():
            anonymous = row[ACTORS.index(Actor.ANONYMOUS)]
            outsider = row[ACTORS.index(Actor.OUTSIDER)]
            if (anonymous, outsider) != (Outcome.LOGIN, Outcome.NOT_FOUND):
                wrong.append((name, method, str(target)))

    assert wrong == []


def test_policy_foreign_objects_are_reachable_by_nobody():
    reachable = []

    for name, policy in POLICY.items():
        for (method, target), row in policy.rows.items():
            if target is not Target.FOREIGN:
                continue
            hr_admin = row[ACTORS.index(Actor.HR_ADMIN)]
            if hr_admin not in (Outcome.NOT_FOUND, Outcome.METHOD_NOT_ALLOWED) or any(
                outcome not in REFUSALS for outcome in row
            ):
                reachable.append((name, method))

    assert reachable == []


def test_policy_a_403_for_a_foreign_id_is_a_403_for_every_id():
    """A 403 for another organisation's id is safe only when the role is checked
    before the lookup; then every id of this organisation answers 403 as well, and
    the answer reveals nothing about which ids exist."""
    wrong = []

    for name, policy in POLICY.items():
        for (method, target), row in policy.rows.items():
            if target is not Target.FOREIGN:
                continue
            for index, outcome in enumerate(row):
                if outcome is not Outcome.FORBIDDEN:
                    continue
                home = [
                    policy.rows[(m, t)][index]
                    for m, t in policy.rows
                    if m == method and t in HOME_TARGETS
                ]
                if any(other is not Outcome.FORBIDDEN for other in home):
                    wrong.append((name, method, str(ACTORS[index])))

    assert wrong == []


def test_policy_role_exceptions_name_a_row_and_differ_from_the_reviewer():
    """``UrlPolicy.roles`` only for the roles the reviewer stands for, on rows the
    entry has, and only where the answer is not the reviewer's anyway."""
    roles = {str(role) for role in ROLES_LIKE_THE_REVIEWER}
    reviewer = ACTORS.index(Actor.REVIEWER)
    wrong = [
        (name, role, method, str(target))
        for name, policy in POLICY.items()
        for role, rows in policy.roles.items()
        for (method, target), outcome in rows.items()
        if role not in roles
        or (method, target) not in policy.rows
        or policy.rows[(method, target)][reviewer] is outcome
    ]

    assert wrong == []


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES_LIKE_THE_REVIEWER)
def test_other_engagement_roles_answer_like_the_reviewer(world, role):
    """Approvers and contributors of the engagement get the reviewer's answer wherever
    holding a role on it makes a difference (and a plain member's elsewhere, which
    the matrix shows for the reviewer), except where the policy's ``roles`` give
    them their own (approving evaluations, reading feedback and surveys)."""
    check_role_like_the_reviewer(world, role)
