from django.apps import AppConfig

from feedback.receivers import feedback_asked_section
from organizations.home import register


class FeedbackConfig(AppConfig):
    name = "feedback"

    def ready(self) -> None:
        from feedback.pickers import (  # noqa: PLC0415 - models are not importable before the app registry is ready
            SOURCES,
        )
        from organizations.pickers import (  # noqa: PLC0415 - models are not importable before the app registry is ready
            register as register_pickers,
        )

        register(feedback_asked_section)
        register_pickers(*SOURCES)
