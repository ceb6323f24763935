"""The engine of the authorisation matrix: send one case's request as one actor, put
the answer in the policy's terms, tell whether it changed anything, and compare every
case of a URL with its policy row, and across targets.

Every case runs in a savepoint of its own inside the world's transaction, so one case's
writes never reach the next. ``AppMatrix`` holds the tests each app's module
(``test_<app>.py``) runs over its own table.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.core.cache import cache
from django.core.signals import request_finished
from django.db import close_old_connections, connection, transaction
from django.http import HttpResponse
from django.test import Client, TestCase
from django.urls import reverse

from feedback.views.surveys import rate_limit_key
from tests.authz.changes import WriteWatch, db_state
from tests.authz.policy import ACTORS, Actor, Outcome, Target, UrlPolicy
from tests.authz.table import POLICY, POST_DATA, PREPARE
from tests.authz.targets import url_kwargs
from tests.authz.world import World

# Public pages rate-limited per client address, and the address the matrix uses there.
RATE_LIMITED = frozenset({"survey:answer"})
MATRIX_ADDRESS = "192.0.2.61"
# Targets that name an object of the organisation the request is made in.
HOME_TARGETS = (Target.OWN, Target.GENERAL_PLAN, Target.OTHER_PARENT, Target.PRIVATE)


@functools.cache
def _shared_client() -> Client:
    # A view that crashes is reported as "unexpected 500" in the case's cell.
    return Client(raise_request_exception=False)


def client_for(world: World, actor: str) -> Client:
    """The test client, signed in as ``actor``: one client for every case (making one
    per case would load the middleware each time), its cookies reset per case."""
    client = _shared_client()
    client.cookies.clear()
    if actor in world.sessions:
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[actor]
    return client


def _observed(response: HttpResponse, path: str) -> str:
    """The response in the policy's terms: "success" or a refusal outcome."""
    if response.status_code == 302:
        location = urlsplit(response["Location"])
        if location.path == reverse("login") and parse_qs(location.query).get(
            "next"
        ) == [path]:
            return Outcome.LOGIN.value
    if response.status_code in (400, 403, 404, 405):
        return str(response.status_code)
    if 200 <= response.status_code < 400:
        return "success"
    return f"unexpected {response.status_code}"


def _expected(outcome: Outcome) -> str:
    if outcome in (Outcome.ALLOWED, Outcome.UNCHANGED):
        return "success"
    return outcome.value


# What differs between two renderings of the same page: the masked CSRF token and the
# CSP nonce.
_PER_REQUEST = re.compile(rb'(csrfmiddlewaretoken" value=|nonce=)"[^"]*"')


@dataclass(frozen=True)
class Answer:
    """One case's response in the policy's terms, and whether it changed anything."""

    observed: str
    changed: bool
    # The status and the body without what differs per request: two answers with
    # the same fingerprint tell the caller nothing apart.
    fingerprint: tuple[int, bytes]
    shown: str  # status and Location, for the failure message


def _request(
    world: World,
    client: Client,
    name: str,
    method: str,
    target: Target,
    query: str = "",
) -> tuple[HttpResponse, str]:
    """Send the case's request; returns the response and the path with its query."""
    policy = POLICY[name]
    kwargs = url_kwargs(world, name, policy, target)
    path = reverse(name, kwargs=kwargs) + (f"?{query}" if query else "")
    extra: dict[str, str] = {}
    if name in RATE_LIMITED:
        # The matrix asks more often than the limit allows one address; the limit
        # has tests of its own. An address of its own leaves others' counters alone.
        extra["REMOTE_ADDR"] = MATRIX_ADDRESS
        cache.delete(rate_limit_key(MATRIX_ADDRESS))
    if method == "POST":
        data = POST_DATA.get(name, lambda w, k: {})(world, kwargs)
        return client.post(path, data, **extra), path
    return client.get(path, **extra), path


def _answer(
    world: World,
    name: str,
    query: str,
    method: str,
    target: Target,
    actor: str,
    state: tuple[Any, ...],
) -> Answer:
    """One case, in a savepoint rolled back afterwards, so that every case starts
    from ``state``: the database as the world and the URL's ``PREPARE`` left it."""
    client = client_for(world, actor)
    with transaction.atomic():
        mails = len(mail.outbox)
        watch = WriteWatch()
        # Work queued for after the commit (e-mails, recomputations) is a change too;
        # the world's transaction never commits, so it would not show otherwise.
        with (
            TestCase.captureOnCommitCallbacks() as queued,
            connection.execute_wrapper(watch),
        ):
            response, path = _request(world, client, name, method, target, query)
        # A request that ran no statement able to write changed nothing (sessions
        # are stored in the database too).
        changed = (len(mail.outbox) != mails or bool(queued)) or (
            watch.wrote
            and (
                db_state(world) != state
                or client.session.get(SESSION_KEY) != world.signed_in.get(actor)
            )
        )
        transaction.set_rollback(True)
    answer = Answer(
        observed=_observed(response, path),
        changed=changed,
        fingerprint=(
            response.status_code,
            _PER_REQUEST.sub(rb"\1", getattr(response, "content", b"")),
        ),
        shown=f"{response.status_code} {response.get('Location', '')}".strip(),
    )
    if getattr(response, "streaming", False):
        close_download(response)
    return answer


def close_download(response: HttpResponse) -> None:
    """Close a streamed download's file, as the server does once it is sent. Closing
    a response also ends its request, which closes the database connection (and the
    world's transaction with it): held off here, as the test client does."""
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)


def _prepared(world: World, name: str) -> tuple[Any, ...]:
    """Make the changes ``PREPARE`` names for the URL (in the test's transaction,
    rolled back after it) and return the state every case of the URL starts from."""
    if name not in PREPARE:
        return world.baseline
    PREPARE[name](world)
    return db_state(world)


def _mismatch(
    policy: UrlPolicy, method: str, expected: Outcome, answer: Answer
) -> str | None:
    """How ``answer`` differs from ``expected``, or None when it does not."""
    must_change = expected is Outcome.ALLOWED and method == "POST" and policy.writes
    if (answer.observed, answer.changed) == (_expected(expected), must_change):
        return None
    return (
        f"expected {expected}{' and a change' if must_change else ''}, "
        f"got {answer.shown}{' and a change' if answer.changed else ''}"
    )


def _targets(policy: UrlPolicy, method: str) -> list[Target]:
    targets = [target for m, target in policy.rows if m == method]
    if Target.FOREIGN in targets:
        targets.append(Target.MISSING)
    return targets


def _matrix_items(table: dict[str, UrlPolicy]) -> Iterator[Any]:
    """The matrix's cases of ``table``'s URLs: one per URL, method and query."""
    for name, policy in table.items():
        for method in ("GET", "POST"):
            for query in policy.queries if method == "GET" else ("",):
                shown = f"{name}?{query}" if query else name
                yield pytest.param(name, query, method, id=f"{shown}-{method}")


def _where_the_role_counts() -> Iterator[tuple[str, str, str, Target]]:
    """The cases in which the reviewer's answer is not a plain member's, and those in
    which the policy gives the other roles an answer of their own."""
    reviewer, member = ACTORS.index(Actor.REVIEWER), ACTORS.index(Actor.OTHER_EMPLOYEE)
    for name, policy in POLICY.items():
        for (method, target), row in policy.rows.items():
            own = any((method, target) in rows for rows in policy.roles.values())
            if row[reviewer] != row[member] or own:
                for query in policy.queries if method == "GET" else ("",):
                    yield name, query, method, target


def check_role_like_the_reviewer(world: World, role: str) -> None:
    """``role`` gets the reviewer's answer wherever holding a role on the engagement
    makes a difference, on every app's URLs, except where the policy's ``roles`` give
    it its own."""
    cases = list(_where_the_role_counts())
    wrong = []

    for name, query, method, target in cases:
        policy = POLICY[name]
        expected = policy.expected_for_role(method, target, role)
        with transaction.atomic():
            state = _prepared(world, name)
            answer = _answer(world, name, query, method, target, role, state)
            transaction.set_rollback(True)
        if mismatch := _mismatch(policy, method, expected, answer):
            wrong.append(f"{method} {name} {query} {target}: {mismatch}")

    assert len(cases) > 10
    if wrong:
        pytest.fail("\n".join([f"as {role}:", *wrong]), False)


def ids_listed(world: World, actor: str, name: str, pk: int, key: str) -> set[int]:
    """The ids of the objects the page ``name`` of object ``pk`` lists to ``actor``
    (its context's ``key``)."""
    url = reverse(name, args=[world.org.slug, pk])
    return {row.pk for row in client_for(world, actor).get(url).context[key]}


class AppMatrix:
    """The authorisation matrix over one app's URLs. Each ``tests/authz/test_<app>.py``
    subclasses it as ``Test<App>Matrix`` with the app's table (``policy``) and the POSTs
    whose fields name another organisation's object (``foreign_references``: URL name,
    field, target kind of the object it names)."""

    policy: ClassVar[dict[str, UrlPolicy]]
    foreign_references: ClassVar[list[tuple[str, str, str]]]

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "query" in metafunc.fixturenames:
            metafunc.parametrize(
                ("name", "query", "method"), list(_matrix_items(self.policy))
            )
        if "field" in metafunc.fixturenames:
            metafunc.parametrize(
                ("name", "field", "kind"),
                [
                    pytest.param(name, field, kind, id=f"{name}-{field}")
                    for name, field, kind in self.foreign_references
                ],
            )

    @pytest.mark.django_db
    def test_authorization_matrix_response_matches_the_policy(
        self, world, name, query, method
    ):
        """Every target x every actor for one URL and method, each case on its own.

        Besides each case's outcome: another organisation's ids answer exactly like ids
        that exist nowhere, and where the role is refused before the lookup (403 for a
        foreign id) this organisation's ids answer exactly like them too.
        """
        policy = POLICY[name]
        state = _prepared(world, name)
        answers = {
            (target, actor): _answer(world, name, query, method, target, actor, state)
            for target in _targets(policy, method)
            for actor in ACTORS
        }

        wrong = [
            f"{target} as {actor}: {mismatch}"
            for (target, actor), answer in answers.items()
            if (
                mismatch := _mismatch(
                    policy, method, policy.expected(method, target, actor), answer
                )
            )
        ]
        for actor in ACTORS:
            foreign = answers.get((Target.FOREIGN, actor))
            if foreign is None:
                continue
            alike = [Target.MISSING]
            if policy.expected(method, Target.FOREIGN, actor) is Outcome.FORBIDDEN:
                alike += [t for t in HOME_TARGETS if (t, actor) in answers]
            for target in alike:
                if answers[(target, actor)].fingerprint != foreign.fingerprint:
                    wrong.append(
                        f"{target} as {actor}: answers unlike {Target.FOREIGN}"
                    )
        if wrong:
            pytest.fail("\n".join([f"{method} {name} {query}".strip(), *wrong]), False)

    @pytest.mark.django_db
    def test_a_post_naming_another_organisations_object_is_refused(
        self, world, name, field, kind
    ):
        """A valid POST with one reference replaced by another organisation's object:
        forms offer this organisation's objects only, so the POST is refused (a form
        error, 400) and changes nothing. The matrix has the twin: the same POST with
        this organisation's objects, which the HR admin may make, goes through."""
        policy = POLICY[name]
        target = Target.OWN if policy.target_kind else Target.NONE
        assert policy.expected("POST", target, Actor.HR_ADMIN) is Outcome.ALLOWED
        kwargs = url_kwargs(world, name, policy, target)
        state = _prepared(world, name)
        data = POST_DATA[name](world, kwargs)
        assert field in data
        data[field] = world.objects[Target.FOREIGN][kind]["pk"]
        client = client_for(world, Actor.HR_ADMIN)
        watch = WriteWatch()

        with connection.execute_wrapper(watch):
            response = client.post(reverse(name, kwargs=kwargs), data)

        changed = watch.wrote and db_state(world) != state
        assert (response.status_code, changed) == (400, False)
