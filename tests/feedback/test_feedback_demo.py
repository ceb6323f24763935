"""The demo feedback: every kind and both visibilities on the acme demo engagements,
written by people the rules allow, one edited, one withdrawn, a general note from the
line manager; idempotent; nothing for an organisation without engagement plans."""

from __future__ import annotations

import pytest

from demo import engagements as engagements_demo
from demo import feedback as feedback_demo
from demo import people
from feedback.models import Feedback
from organizations.tenancy import tenant_context

pytestmark = pytest.mark.django_db


def test_demo_feedback_covers_every_kind_and_visibility_and_is_idempotent():
    acme, globex = people.acme(), people.globex()
    with tenant_context(acme):
        engagements_demo.seed(acme)
        feedback_demo.seed(acme)
        feedback_demo.seed(acme)
        rows = list(Feedback.objects.select_related("author__user", "subject__user"))
        edited = [f for f in rows if f.edited_at is not None]
        withdrawn = [f for f in rows if f.withdrawn_at is not None]
        versions = {f.pk: Feedback.history.filter(id=f.pk).count() for f in edited}
    with tenant_context(globex):
        feedback_demo.seed(globex)
        globex_rows = Feedback.objects.count()

    assert len(rows) == 8
    assert {f.kind for f in rows} == {"praise", "improvement", "note"}
    assert {f.visibility for f in rows} == {"shared", "managers_only"}
    about_employee = [
        f
        for f in rows
        if f.subject.user and f.subject.user.email == "employee@acme.test"
    ]
    assert len(about_employee) >= 3
    general = [f for f in rows if f.engagement_id is None]
    assert [(f.author.user.email, f.subject.user.email) for f in general] == [
        ("manager@acme.test", "employee@acme.test")
    ]
    assert len(edited) == 1
    assert list(versions.values()) == [2]
    assert len(withdrawn) == 1
    assert globex_rows == 0
