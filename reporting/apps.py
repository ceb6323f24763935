"""The reporting app; ``ready`` registers its pickers, its home page section and
the dashboards' exports."""

from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "reporting"

    def ready(self) -> None:
        from organizations import (  # noqa: PLC0415 - models are not importable before the app registry is ready
            home,
        )
        from organizations.pickers import (  # noqa: PLC0415 - models are not importable before the app registry is ready
            register as register_pickers,
        )
        from reporting.exports.dashboards import (  # noqa: PLC0415 - models are not importable before the app registry is ready
            register_dashboard_exports,
        )
        from reporting.headlines import (  # noqa: PLC0415 - models are not importable before the app registry is ready
            headline_section,
        )
        from reporting.pickers import (  # noqa: PLC0415 - models are not importable before the app registry is ready
            SOURCES,
        )

        register_pickers(*SOURCES)
        home.register(headline_section)
        register_dashboard_exports()
