"""The competencies app; ``ready`` registers its picker source."""

from django.apps import AppConfig


class CompetenciesConfig(AppConfig):
    name = "competencies"

    def ready(self) -> None:
        from competencies.pickers import (  # noqa: PLC0415 - models are not importable before the app registry is ready
            SOURCES,
        )
        from organizations.pickers import (  # noqa: PLC0415 - models are not importable before the app registry is ready
            register as register_pickers,
        )

        register_pickers(*SOURCES)
