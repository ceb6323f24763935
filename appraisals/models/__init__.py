"""The appraisals app's models: appraisals, evaluations, ratings, approvals and
the scoring settings (``core``), and the tables the database keeps from them
(``derived``)."""

from appraisals.models.calibration import (
    CalibrationAdjustment,
    CalibrationParticipant,
    CalibrationSession,
    CalibrationSessionJobTitle,
    CalibrationSessionUnit,
)
from appraisals.models.core import (
    DEFAULT_BANDS,
    Appraisal,
    AppraisalSettings,
    AttainmentBand,
    CompetencyRating,
    Evaluation,
    EvaluationApproval,
    GoalRating,
    RecomputeRun,
    delta_field,
    rating_field,
    score_field,
)
from appraisals.models.derived import (
    GENERAL,
    AppraisalReviewTally,
    ApprovalFallback,
    CycleAppraisalTally,
    CycleReviewTally,
    EngagementReviewTally,
    EngagementWorkload,
)

__all__ = [
    "DEFAULT_BANDS",
    "GENERAL",
    "Appraisal",
    "AppraisalReviewTally",
    "AppraisalSettings",
    "ApprovalFallback",
    "AttainmentBand",
    "CalibrationAdjustment",
    "CalibrationParticipant",
    "CalibrationSession",
    "CalibrationSessionJobTitle",
    "CalibrationSessionUnit",
    "CompetencyRating",
    "CycleAppraisalTally",
    "CycleReviewTally",
    "EngagementReviewTally",
    "EngagementWorkload",
    "Evaluation",
    "EvaluationApproval",
    "GoalRating",
    "RecomputeRun",
    "delta_field",
    "rating_field",
    "score_field",
]
