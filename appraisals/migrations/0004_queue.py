"""The evaluation queue at any size (PostgreSQL only for the SQL; other databases
get the table alone).

``appraisals_approvalfallback`` (``models.ApprovalFallback``) holds the submitted
reviews in open appraisals that nobody qualifies to approve, so HR admins do, and
whose approver capacity is not approved in the current submission yet. Statement-level
triggers with transition tables keep it exact in the transaction of every change it
depends on, bulk updates included:

* ``appraisals_evaluation``: a review created, deleted, or changed in kind, status,
  submission, submission time, employee, reviewer, plan or appraisal;
* ``appraisals_appraisal``: status; ``appraisals_evaluationapproval``: any decision;
* ``engagements_plan``: approver, kind, engagement;
* ``engagements_roleassignment``: an engagement's approvers;
* ``organizations_employee``: activity and line manager (the plan approvers, the
  engagement approvers and the line manager's line manager they are).

Each trigger finds the submitted reviews a change may concern through indexes and
calls ``appraisals_approval_fallback_refresh(ids)``. The triggers' statements run
through ``EXECUTE``, so each is planned for the rows of its own statement: PL/pgSQL
would otherwise keep the plan made for the first statement of the session, and a plan
for one changed row (a nested loop over the transition tables) reused for 10,000
took minutes (10,000 appraisals updated after a few single-row updates: 19 s instead
of 0.3 s; 58,000 evaluations: 300 s instead of 1.2 s). ``refresh`` itself plans its
queries for each array of ids (``plan_cache_mode = force_custom_plan``), and judges
just those reviews with the rule of ``permissions.approval_authority`` ("nobody qualifies as approver":
the plan's approver when active and neither employee nor reviewer; else, on an
engagement plan, the engagement's active approvers other than those two; else, on a
general plan, the line manager's line manager under the same conditions). The
function is the rule's only SQL text (its joins match the organisation as well as
the id, to stay on the unique ``(organization_id, id)`` indexes whatever the
statistics: ``0005_progress_tallies`` explains the trap): change it with a new migration, and
``tests/appraisals/test_queue_rule.py`` with ``tests/appraisals/test_approval_fallback.py``
hold it to ``permissions.Authority``. Existing rows are backfilled per organisation
(under its row-security setting).

Each trigger judges the reviews on its transaction's view of the data. The workflow
services lock the evaluation they change; two concurrent transactions that change
different inputs of the same review (say, a person deactivated while their plan's
approver is replaced) could each miss the other's change until the review's next
change refreshes it.

Indexes, declared here only (PostgreSQL):

* ``evaluation_to_write`` ``(organization_id, reviewer_id) WHERE status IN ('draft',
  'returned')``: the "To write" count and tab;
* ``evaluation_without_reviewer`` ``(organization_id, appraisal_id) WHERE kind =
  'review' AND reviewer_id IS NULL``: HR's "Needs a reviewer" count and tab;
* ``approval_line_manager`` on approvals in the line-manager capacity by approver:
  the reviews an HR admin approved as line manager, which they may not also approve
  for lack of an approver.
"""

import django.db.models.deletion
from django.db import migrations, models

FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION appraisals_approval_fallback_refresh(ids bigint[])
RETURNS void LANGUAGE plpgsql SET plan_cache_mode = force_custom_plan AS $fn$
BEGIN
  IF cardinality(ids) = 0 THEN
    RETURN;
  END IF;
  WITH wanted AS (
    SELECT ev.id, ev.organization_id, ev.submitted_at
    FROM appraisals_evaluation ev
    JOIN appraisals_appraisal ap
      ON ap.organization_id = ev.organization_id AND ap.id = ev.appraisal_id
    JOIN engagements_plan p
      ON p.organization_id = ev.organization_id AND p.id = ev.plan_id
    WHERE ev.id = ANY(ids)
      AND ev.kind = 'review' AND ev.status = 'submitted' AND ap.status = 'open'
      AND NOT EXISTS (
        SELECT 1 FROM organizations_employee own
        WHERE own.organization_id = ev.organization_id AND own.id = p.approver_id
          AND own.is_active
          AND own.id <> ev.employee_id AND own.id IS DISTINCT FROM ev.reviewer_id)
      AND NOT (p.kind = 'engagement' AND EXISTS (
        SELECT 1 FROM engagements_roleassignment ra
        JOIN organizations_employee x
          ON x.organization_id = ra.organization_id AND x.id = ra.employee_id
        WHERE ra.organization_id = ev.organization_id
          AND ra.engagement_id = p.engagement_id AND ra.role = 'approver'
          AND x.is_active
          AND x.id <> ev.employee_id AND x.id IS DISTINCT FROM ev.reviewer_id))
      AND NOT (p.kind = 'general' AND EXISTS (
        SELECT 1 FROM organizations_employee emp
        JOIN organizations_employee lm
          ON lm.organization_id = emp.organization_id AND lm.id = emp.line_manager_id
        JOIN organizations_employee lm2
          ON lm2.organization_id = lm.organization_id AND lm2.id = lm.line_manager_id
        WHERE emp.organization_id = ev.organization_id AND emp.id = ev.employee_id
          AND lm2.is_active
          AND lm2.id <> ev.employee_id AND lm2.id IS DISTINCT FROM ev.reviewer_id))
      AND NOT EXISTS (
        SELECT 1 FROM appraisals_evaluationapproval a
        WHERE a.organization_id = ev.organization_id AND a.evaluation_id = ev.id
          AND a.submission = ev.submission
          AND a.decision = 'approved' AND a.capacity = 'approver')
  ), gone AS (
    DELETE FROM appraisals_approvalfallback f
    WHERE f.evaluation_id = ANY(ids)
      AND f.evaluation_id NOT IN (SELECT id FROM wanted)
  )
  INSERT INTO appraisals_approvalfallback (evaluation_id, organization_id, submitted_at)
  SELECT id, organization_id, submitted_at FROM wanted
  ON CONFLICT (evaluation_id) DO UPDATE SET submitted_at = EXCLUDED.submitted_at
  WHERE appraisals_approvalfallback.submitted_at
    IS DISTINCT FROM EXCLUDED.submitted_at;
END
$fn$;

-- next
CREATE OR REPLACE FUNCTION appraisals_approval_fallback_on_evaluation()
RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    EXECUTE $q$SELECT appraisals_approval_fallback_refresh(ARRAY(
      SELECT n.id FROM new_rows n WHERE n.kind = 'review' AND n.status = 'submitted'))$q$;
  ELSIF TG_OP = 'UPDATE' THEN
    EXECUTE $q$SELECT appraisals_approval_fallback_refresh(ARRAY(
      SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
      WHERE (n.kind, n.status, n.submission, n.submitted_at, n.employee_id,
             n.reviewer_id, n.plan_id, n.appraisal_id)
        IS DISTINCT FROM (o.kind, o.status, o.submission, o.submitted_at,
             o.employee_id, o.reviewer_id, o.plan_id, o.appraisal_id)))$q$;
  ELSE
    EXECUTE $q$DELETE FROM appraisals_approvalfallback
    WHERE evaluation_id IN (SELECT o.id FROM old_rows o)$q$;
  END IF;
  RETURN NULL;
END
$fn$;

-- next
CREATE OR REPLACE FUNCTION appraisals_approval_fallback_on_approval()
RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    EXECUTE $q$SELECT appraisals_approval_fallback_refresh(ARRAY(
      SELECT DISTINCT n.evaluation_id FROM new_rows n))$q$;
  ELSIF TG_OP = 'UPDATE' THEN
    EXECUTE $q$SELECT appraisals_approval_fallback_refresh(ARRAY(
      SELECT n.evaluation_id FROM new_rows n UNION SELECT o.evaluation_id FROM old_rows o))$q$;
  ELSE
    EXECUTE $q$SELECT appraisals_approval_fallback_refresh(ARRAY(
      SELECT DISTINCT o.evaluation_id FROM old_rows o))$q$;
  END IF;
  RETURN NULL;
END
$fn$;

-- next
CREATE OR REPLACE FUNCTION appraisals_approval_fallback_on_appraisal()
RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    EXECUTE $q$SELECT appraisals_approval_fallback_refresh(ARRAY(
      SELECT ev.id FROM appraisals_evaluation ev
      WHERE ev.appraisal_id IN (SELECT n.id FROM new_rows n)
        AND ev.kind = 'review' AND ev.status = 'submitted'))$q$;
  ELSIF TG_OP = 'UPDATE' THEN
    EXECUTE $q$SELECT appraisals_approval_fallback_refresh(ARRAY(
      SELECT ev.id FROM appraisals_evaluation ev
      WHERE ev.appraisal_id IN (
          SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
          WHERE n.status IS DISTINCT FROM o.status)
        AND ev.kind = 'review' AND ev.status = 'submitted'))$q$;
  END IF;
  -- A deleted appraisal's evaluations go with it (their own trigger).
  RETURN NULL;
END
$fn$;

-- next
CREATE OR REPLACE FUNCTION appraisals_approval_fallback_on_plan()
RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    EXECUTE $q$SELECT appraisals_approval_fallback_refresh(ARRAY(
      SELECT ev.id FROM appraisals_evaluation ev
      WHERE ev.plan_id IN (SELECT n.id FROM new_rows n)
        AND ev.kind = 'review' AND ev.status = 'submitted'))$q$;
  ELSIF TG_OP = 'UPDATE' THEN
    EXECUTE $q$SELECT appraisals_approval_fallback_refresh(ARRAY(
      SELECT ev.id FROM appraisals_evaluation ev
      WHERE ev.plan_id IN (
          SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
          WHERE (n.approver_id, n.kind, n.engagement_id)
            IS DISTINCT FROM (o.approver_id, o.kind, o.engagement_id))
        AND ev.kind = 'review' AND ev.status = 'submitted'))$q$;
  END IF;
  -- A plan with evaluations cannot be deleted (they protect it).
  RETURN NULL;
END
$fn$;

-- next
CREATE OR REPLACE FUNCTION appraisals_approval_fallback_on_role()
RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  engagements bigint[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    EXECUTE $q$SELECT ARRAY(
      SELECT n.engagement_id FROM new_rows n WHERE n.role = 'approver')$q$ INTO engagements;
  ELSIF TG_OP = 'UPDATE' THEN
    EXECUTE $q$SELECT ARRAY(
      SELECT n.engagement_id FROM new_rows n WHERE n.role = 'approver'
      UNION SELECT o.engagement_id FROM old_rows o WHERE o.role = 'approver')$q$ INTO engagements;
  ELSE
    EXECUTE $q$SELECT ARRAY(
      SELECT o.engagement_id FROM old_rows o WHERE o.role = 'approver')$q$ INTO engagements;
  END IF;
  IF cardinality(engagements) > 0 THEN
    EXECUTE $q$SELECT appraisals_approval_fallback_refresh(ARRAY(
      SELECT ev.id FROM engagements_plan p
      JOIN appraisals_evaluation ev ON ev.plan_id = p.id
      WHERE p.engagement_id = ANY($1)
        AND ev.kind = 'review' AND ev.status = 'submitted'))$q$ USING engagements;
  END IF;
  RETURN NULL;
END
$fn$;

-- next
CREATE OR REPLACE FUNCTION appraisals_approval_fallback_on_employee()
RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  people bigint[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    EXECUTE $q$SELECT ARRAY(SELECT n.id FROM new_rows n)$q$ INTO people;
  ELSIF TG_OP = 'UPDATE' THEN
    EXECUTE $q$SELECT ARRAY(
      SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
      WHERE (n.is_active, n.line_manager_id)
        IS DISTINCT FROM (o.is_active, o.line_manager_id))$q$ INTO people;
  ELSE
    EXECUTE $q$SELECT ARRAY(SELECT o.id FROM old_rows o)$q$ INTO people;
  END IF;
  IF cardinality(people) = 0 THEN
    RETURN NULL;
  END IF;
  -- The reviews whose approvers the people may be: about them (their line manager's
  -- line manager), about their reports (them as that), about their reports'
  -- reports; of plans they approve; on engagements they approve.
  EXECUTE $q$SELECT appraisals_approval_fallback_refresh(ARRAY(
    WITH reach AS (
      SELECT unnest($1) AS id
      UNION SELECT e1.id FROM organizations_employee e1
        WHERE e1.line_manager_id = ANY($1)
      UNION SELECT e2.id FROM organizations_employee e1
        JOIN organizations_employee e2 ON e2.line_manager_id = e1.id
        WHERE e1.line_manager_id = ANY($1)
    )
    SELECT ev.id FROM appraisals_evaluation ev
    WHERE ev.employee_id IN (SELECT id FROM reach)
      AND ev.kind = 'review' AND ev.status = 'submitted'
    UNION
    SELECT ev.id FROM engagements_plan p
    JOIN appraisals_evaluation ev ON ev.plan_id = p.id
    WHERE p.approver_id = ANY($1)
      AND ev.kind = 'review' AND ev.status = 'submitted'
    UNION
    SELECT ev.id FROM engagements_roleassignment ra
    JOIN engagements_plan p ON p.engagement_id = ra.engagement_id
    JOIN appraisals_evaluation ev ON ev.plan_id = p.id
    WHERE ra.employee_id = ANY($1) AND ra.role = 'approver'
      AND ev.kind = 'review' AND ev.status = 'submitted'))$q$ USING people;
  RETURN NULL;
END
$fn$;
"""

# (table, function suffix): one trigger per event, as transition tables require.
WATCHED = [
    ("appraisals_evaluation", "evaluation"),
    ("appraisals_evaluationapproval", "approval"),
    ("appraisals_appraisal", "appraisal"),
    ("engagements_plan", "plan"),
    ("engagements_roleassignment", "role"),
    ("organizations_employee", "employee"),
]
EVENTS = {
    "insert": "REFERENCING NEW TABLE AS new_rows",
    "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "delete": "REFERENCING OLD TABLE AS old_rows",
}


def _trigger_name(suffix: str, event: str) -> str:
    return f"appraisals_approval_fallback_{suffix}_{event}"


TRIGGERS = [
    f"CREATE TRIGGER {_trigger_name(suffix, event)} AFTER {event.upper()} ON {table} "
    f"{referencing} FOR EACH STATEMENT "
    f"EXECUTE FUNCTION appraisals_approval_fallback_on_{suffix}()"
    for table, suffix in WATCHED
    for event, referencing in EVENTS.items()
]
DROP_TRIGGERS = [
    f"DROP TRIGGER IF EXISTS {_trigger_name(suffix, event)} ON {table}"
    for table, suffix in WATCHED
    for event in EVENTS
]
DROP_FUNCTIONS = [
    "DROP FUNCTION IF EXISTS appraisals_approval_fallback_refresh(bigint[])",
    *(
        f"DROP FUNCTION IF EXISTS appraisals_approval_fallback_on_{s}()"
        for _, s in WATCHED
    ),
]

BACKFILL = """
DO $fill$
DECLARE
  organization bigint;
BEGIN
  FOR organization IN SELECT id FROM organizations_organization LOOP
    PERFORM set_config('app.organization_id', organization::text, true);
    PERFORM appraisals_approval_fallback_refresh(ARRAY(
      SELECT ev.id FROM appraisals_evaluation ev
      WHERE ev.organization_id = organization
        AND ev.kind = 'review' AND ev.status = 'submitted'));
  END LOOP;
  PERFORM set_config('app.organization_id', '', true);
END
$fill$
"""

INDEXES = [
    (
        "evaluation_to_write",
        "ON appraisals_evaluation (organization_id, reviewer_id) "
        "WHERE status IN ('draft', 'returned')",
    ),
    (
        "evaluation_without_reviewer",
        "ON appraisals_evaluation (organization_id, appraisal_id) "
        "WHERE kind = 'review' AND reviewer_id IS NULL",
    ),
    (
        "approval_line_manager",
        "ON appraisals_evaluationapproval "
        "(organization_id, approver_id, evaluation_id, submission) "
        "WHERE capacity = 'line_manager' AND decision = 'approved'",
    ),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definition in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} {definition}")
    for function in FUNCTIONS.split("\n\n-- next\n"):
        schema_editor.execute(function)
    for statement in DROP_TRIGGERS + TRIGGERS:
        schema_editor.execute(statement)
    schema_editor.execute(BACKFILL)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in DROP_TRIGGERS + DROP_FUNCTIONS:
        schema_editor.execute(statement)
    for name, _definition in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("appraisals", "0003_progress_indexes"),
        ("engagements", "0001_initial"),
        ("organizations", "0004_people_directory_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="ApprovalFallback",
            fields=[
                (
                    "evaluation",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="appraisals.evaluation",
                    ),
                ),
                ("submitted_at", models.DateTimeField(null=True)),
                (
                    "organization",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="organizations.organization",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["organization", "submitted_at", "evaluation"],
                        name="approval_fallback_order",
                    )
                ],
            },
        ),
        migrations.RunPython(create, drop, elidable=False),
    ]
