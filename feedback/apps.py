from django.apps import AppConfig

from feedback.receivers import feedback_asked_section
from organizations.home import register


class FeedbackConfig(AppConfig):
    name = "feedback"

    def ready(self) -> None:
        register(feedback_asked_section)
