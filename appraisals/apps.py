"""The appraisals app; ``ready`` connects its receivers and registers its home page
sections."""

from django.apps import AppConfig

from engagements.signals import (
    cycle_status_changed,
    cycle_weights_changed,
    plan_weights_changed,
)
from organizations import home


class AppraisalsConfig(AppConfig):
    name = "appraisals"

    def ready(self) -> None:
        from appraisals import (  # noqa: PLC0415 - models are not importable before the app registry is ready
            receivers,
        )

        cycle_status_changed.connect(
            receivers.open_on_review, dispatch_uid="appraisals.open_on_review"
        )
        cycle_weights_changed.connect(
            receivers.recompute_cycle_on_weights,
            dispatch_uid="appraisals.cycle_weights_changed",
        )
        plan_weights_changed.connect(
            receivers.recompute_plan_appraisal,
            dispatch_uid="appraisals.plan_weights_changed",
        )
        home.register(receivers.evaluations_section)
        home.register(receivers.appraisals_section)
