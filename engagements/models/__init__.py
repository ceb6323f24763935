"""The engagements app's models, by aggregate: clients, engagement types,
engagements and their roles (``clients``); review cycles and their plan tally
(``cycles``); plan templates (``templates``); plans, goals, key activities,
check-ins and plan competencies (``plans``). They hold fields, constraints and
properties over their own fields only; the rules live in ``engagements/services/``.
"""

from engagements.models.clients import (
    ROLE_PERMISSIONS,
    Client,
    Engagement,
    EngagementType,
    RoleAssignment,
    RoleRule,
)
from engagements.models.cycles import CyclePlanTally, ReviewCycle
from engagements.models.plans import (
    Goal,
    GoalCheckIn,
    KeyActivity,
    Plan,
    PlanCompetency,
    attainment,
)
from engagements.models.templates import (
    PlanTemplate,
    TemplateCompetency,
    TemplateGoal,
)
from engagements.models.validation import PERCENT

__all__ = [
    "PERCENT",
    "ROLE_PERMISSIONS",
    "Client",
    "CyclePlanTally",
    "Engagement",
    "EngagementType",
    "Goal",
    "GoalCheckIn",
    "KeyActivity",
    "Plan",
    "PlanCompetency",
    "PlanTemplate",
    "ReviewCycle",
    "RoleAssignment",
    "RoleRule",
    "TemplateCompetency",
    "TemplateGoal",
    "attainment",
]
