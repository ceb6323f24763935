from django.apps import AppConfig


class AppraisalsConfig(AppConfig):
    name = "appraisals"

    def ready(self) -> None:
        from appraisals import (  # noqa: F401  (modules register receivers/sections)
            demo,
            home,
            home_appraisals,
            receivers_scores,
            receivers_workflow,
        )
        from organizations.demo import register as register_seeder

        register_seeder(demo.seed)
