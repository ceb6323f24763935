from django.apps import AppConfig


class CompetenciesConfig(AppConfig):
    name = "competencies"

    def ready(self) -> None:
        from competencies import demo
        from organizations.demo import register as register_seeder

        # Runs before the engagements seeder (INSTALLED_APPS order), which links
        # engagement types and plans to the sets created here.
        register_seeder(demo.seed)
