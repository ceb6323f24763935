"""Who a report counts: the viewer's scope, built from the access functions that
guard the detail pages, so an aggregate never counts a person the viewer could not
open.

- **HR admins**: the whole organisation.
- **Line managers** (anyone with reports): the appraisals ``appraisals_visible_to``
  gives them, their own left out (a manager's figures are about their line, and
  their own open appraisal is not theirs to see scored). The reporting line is the
  one the appraisal pages grant: when those pages open indirect reports, the
  dashboards follow without a change here.
- **Engagement role holders** (planner, reviewer, approver): the engagements where
  they hold one of those roles. Reviewers and approvers count the review
  evaluations there (they may open them) and read the client surveys; planners
  count the plans and goals.
- **Employees**: their own figures only (their trend on their appraisal page).

For HR admins every method builds a queryset and runs no query. For anyone else the
scope first reads, in one query (``_facts``, the first time it is needed), the
viewer's direct reports and the engagements of each of their roles; every method then
filters by those ids as one array parameter (``field__any``), so that each figure's
query stays small to build and to plan, however many figures the page shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import BooleanField, CharField, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.http import Http404

from appraisals.enums import EvaluationKind
from appraisals.models import Appraisal, Evaluation
from appraisals.selectors.access import appraisals_visible_to
from engagements.enums import PlanKind
from engagements.models import Engagement, Plan, ReviewCycle
from engagements.selectors.access import engagement_perm_parts
from feedback.permissions import READER_PERMS
from organizations.lookups import Ids
from organizations.models import Employee, Membership

# The engagement permissions that make someone a planner, reviewer or approver.
PLANNER_PERM = "plan_engagement"
ROLE_PERMS = (PLANNER_PERM, *READER_PERMS)
# ``_facts``' key of the direct reports (no permission is named so), and where the
# facts are kept on the membership object of the request.
LINE = "line"
FACTS_ATTRIBUTE = "_report_scope_facts"
# The keys of what ``_rows`` reads.
PLANS, REVIEWS = "plans", "reviews"


@dataclass(frozen=True)
class ReportScope:
    """The viewer of a report and what of the organisation they may count."""

    membership: Membership
    # The ids ``_rows`` reads once per scope and cycle (None: every cycle).
    _ids: dict[int | None, dict[str, Ids]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def is_hr(self) -> bool:
        return self.membership.is_hr_admin

    @property
    def user_id(self) -> int:
        return self.membership.user_id

    # --- People and their appraisals --------------------------------------------

    def appraisals(self) -> QuerySet[Appraisal]:
        """The appraisals whose scores count: HR all; others those of the people in
        their line (their own left out)."""
        if self.is_hr:
            return Appraisal.objects.all()
        # The access function decides; the explicit list of the people it admits
        # (their reports) lets PostgreSQL start from them through the employee
        # index instead of testing every appraisal of the organisation.
        return appraisals_visible_to(self.membership).filter(
            employee_id__any=self._facts()[LINE]
        )

    def _facts(self) -> dict[str, Ids]:
        """The viewer's direct reports (``"line"``) and, per role permission, the
        engagements they hold it on. One query, the first time per membership
        object: every scope of a request (the page's, its menu's, its pickers')
        shares the answer.

        The permission rows are the login's, and a login may hold roles in two
        organisations: the engagement ids may name another organisation's
        engagements. They only ever narrow this organisation's rows (read through
        its tenant managers, under row-level security), where such an id matches
        nothing; never count or show them as they are."""
        facts: dict[str, Ids] | None = getattr(self.membership, FACTS_ATTRIBUTE, None)
        if facts is None:
            line = (
                Employee.objects.filter(line_manager__user_id=self.user_id)
                .order_by()  # a part of a UNION (SQLite refuses an ORDER BY there)
                .annotate(tag=Value(LINE, output_field=CharField()))
                .values_list("tag", "pk")
            )
            found: dict[str, list[int]] = {LINE: [], **{p: [] for p in ROLE_PERMS}}
            for tag, pk in line.union(
                *engagement_perm_parts(self.membership, ROLE_PERMS), all=True
            ):
                found[tag].append(pk)
            facts = {tag: Ids(ids) for tag, ids in found.items()}
            setattr(self.membership, FACTS_ATTRIBUTE, facts)
        return facts

    def _line(self) -> QuerySet[Any, Any]:
        return Employee.objects.filter(pk__any=self._facts()[LINE]).values("pk")

    def employee_ids(self) -> QuerySet[Any, Any]:
        """The ids of the people whose figures count, as a subquery: HR everyone;
        others the people of their line (those whose appraisals ``appraisals``
        counts)."""
        if self.is_hr:
            return Employee.objects.values("pk")
        return self._line()

    # --- Engagements ---------------------------------------------------------------

    def role_engagement_ids(self, perms: tuple[str, ...] = ROLE_PERMS) -> Ids:
        """The ids of the engagements where the viewer holds one of ``perms``
        (``_facts``: possibly another organisation's too), to narrow this
        organisation's rows with ``field__any`` (empty for nobody; HR admins need
        none: see ``engagements``)."""
        facts = self._facts()
        return Ids(sorted({pk for perm in perms for pk in facts[perm]}))

    def engagements(self) -> QuerySet[Engagement]:
        """The engagements the viewer sees analytics of: HR all; others those where
        they are planner, reviewer or approver, and those where someone of their
        line is staffed (counting only that person: see ``plans``)."""
        if self.is_hr:
            return Engagement.objects.all()
        return Engagement.objects.filter(
            Q(pk__any=self.role_engagement_ids())
            | Q(pk__in=self._line_plans().values("engagement_id"))
        )

    def survey_engagement_ids(self) -> Ids | None:
        """Engagements whose client surveys the viewer reads (HR all, reviewers and
        approvers theirs), for ``field__any``; None for HR (no restriction)."""
        if self.is_hr:
            return None
        return self.role_engagement_ids(READER_PERMS)

    # --- Plans and evaluations -----------------------------------------------------------

    def _line_plans(self) -> QuerySet[Plan]:
        return Plan.objects.filter(employee_id__any=self._facts()[LINE])

    def plans(self) -> QuerySet[Plan]:
        """Plans whose goals count, of every cycle: HR all; others those of their
        line and the engagement plans where they hold a role (read once:
        ``_rows``)."""
        if self.is_hr:
            return Plan.objects.all()
        return Plan.objects.filter(pk__any=self._rows(None)[PLANS])

    def plans_in(self, cycle: ReviewCycle) -> QuerySet[Plan]:
        """``plans`` of ``cycle`` (read once per cycle for a viewer other than HR:
        ``_rows``)."""
        if self.is_hr:
            return Plan.objects.filter(cycle=cycle)
        return Plan.objects.filter(pk__any=self._rows(cycle)[PLANS])

    def reviews(self) -> QuerySet[Evaluation]:
        """Review evaluations whose scores and ratings count (never
        self-assessments), of every cycle: HR all; others those of their line and
        those on engagements they review or approve (read once: ``_rows``)."""
        reviews = Evaluation.objects.filter(kind=EvaluationKind.REVIEW)
        if self.is_hr:
            return reviews
        return reviews.filter(pk__any=self._rows(None)[REVIEWS])

    def reviews_in(self, cycle: ReviewCycle) -> QuerySet[Evaluation]:
        """``reviews`` of the plans of ``cycle``. For a viewer other than HR, read by
        key from the ids of ``_rows`` (the same query as ``plans_in``'s): PostgreSQL
        then probes the reviews by key, where a join on the plans' cycle would scan
        the cycle's plans to meet them."""
        if self.is_hr:
            return self.reviews().filter(plan__cycle=cycle)
        return Evaluation.objects.filter(
            kind=EvaluationKind.REVIEW, pk__any=self._rows(cycle)[REVIEWS]
        )

    def _rows(self, cycle: ReviewCycle | None) -> dict[str, Ids]:
        """The ids of the plans and review evaluations a viewer other than HR counts,
        of ``cycle`` (None: of every cycle). One query, the first time per scope
        and cycle: one UNION of four branches, each read from an index (line plans,
        role plans, line reviews, role reviews). With their exact number in hand,
        PostgreSQL probes each figure's rows by primary key instead of scanning a
        whole cycle to meet a set it cannot size; a dashboard of one cycle reads
        that cycle's only (a third of them, with three cycles)."""
        key = cycle.pk if cycle is not None else None
        if key not in self._ids:
            line_plans = self._line_plans()
            role_plans = Plan.objects.filter(
                kind=PlanKind.ENGAGEMENT, engagement_id__any=self.role_engagement_ids()
            )
            reviews = Evaluation.objects.filter(kind=EvaluationKind.REVIEW)
            appraisals = self.appraisals()
            role_reviews = reviews.filter(
                plan__kind=PlanKind.ENGAGEMENT,
                plan__engagement_id__any=self.role_engagement_ids(READER_PERMS),
            )
            if cycle is not None:
                line_plans = line_plans.filter(cycle=cycle)
                role_plans = role_plans.filter(cycle=cycle)
                appraisals = appraisals.filter(cycle=cycle)
                role_reviews = role_reviews.filter(plan__cycle=cycle)
            line_reviews = reviews.filter(
                appraisal_id__in=appraisals.order_by().values("pk")
            )
            parts: list[QuerySet[Any, Any]] = [
                rows.order_by()
                .annotate(tag=Value(kind, output_field=CharField()))
                .values_list("tag", "pk")
                for kind, rows in (
                    (PLANS, line_plans),
                    (PLANS, role_plans),
                    (REVIEWS, line_reviews),
                    (REVIEWS, role_reviews),
                )
            ]
            found: dict[str, set[int]] = {PLANS: set(), REVIEWS: set()}
            for kind, pk in parts[0].union(*parts[1:], all=True):
                found[kind].add(pk)
            self._ids[key] = {kind: Ids(sorted(ids)) for kind, ids in found.items()}
        return self._ids[key]

    # --- Which dashboards -------------------------------------------------------

    def has_line(self) -> bool:
        """Whether the viewer has a direct report (HR: True): whether their line
        may count anyone. One query, the first time per scope (``_facts``)."""
        if self.is_hr:
            return True
        return bool(self._facts()[LINE])


def get_engagement_for_report(scope: ReportScope, pk: int) -> Engagement:
    """Engagement ``pk`` if the member sees its analytics (``scope.engagements``),
    else 404 (another organisation's looks like one that does not exist). One
    query."""
    engagement = (
        scope.engagements()
        .select_related("client", "engagement_type")
        .filter(pk=pk)
        .first()
    )
    if engagement is None:
        raise Http404("No such engagement.")
    return engagement


def may_read_surveys(scope: ReportScope, engagement: Engagement) -> bool:
    """Whether the member reads the client surveys of ``engagement`` (one of this
    organisation's: HR admins, its reviewers and approvers). No query of its own
    (``_facts``)."""
    ids = scope.survey_engagement_ids()
    return ids is None or engagement.pk in set(ids)


def ids_in(table: str, column: str, ids: QuerySet[Any, Any]) -> Q | RawSQL:
    """``table.column`` among the ids of the subquery ``ids``, computed once.

    PostgreSQL estimates a viewer's scoped set (a UNION through their line or roles)
    at one row, and then compares every row of the organisation's table with each of
    its members: 3.4 million comparisons for a manager's heatmap at 1,000 employees.
    ``= ANY(ARRAY(subquery))`` is evaluated once, as an array, and the column's index
    serves the rest. For small sets only (the organisation's whole set would make a
    large array); SQLite gets the plain ``IN``."""
    if connection.vendor != "postgresql":
        return Q(**{f"{column}__in": ids})
    # Without the model's ordering: its joins would be read for nothing.
    sql, params = ids.order_by().query.sql_with_params()
    return RawSQL(  # noqa: S611 - the subquery is Django's, compiled with its params
        f'"{table}"."{column}" = ANY(ARRAY({sql}))',
        params,
        output_field=BooleanField(),
    )
