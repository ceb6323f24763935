from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "feedback"

    def ready(self) -> None:
        from feedback import demo, home, receivers  # noqa: F401  (registers)
        from organizations.demo import register as register_seeder

        register_seeder(demo.seed)
