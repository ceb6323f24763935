from django.apps import AppConfig


class AppraisalsConfig(AppConfig):
    name = "appraisals"

    def ready(self) -> None:
        from appraisals import (  # noqa: F401  (modules register receivers/sections)
            home,
            home_appraisals,
            receivers_scores,
            receivers_workflow,
        )
