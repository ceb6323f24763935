"""The reporting app; ``ready`` registers its pickers, its home page section and
the dashboards' exports, and connects the receiver that queues the report e-mails
following a cycle's move."""

from django.apps import AppConfig

from engagements.signals import cycle_status_changed


class ReportingConfig(AppConfig):
    name = "reporting"

    def ready(self) -> None:
        from organizations import (  # noqa: PLC0415 - models are not importable before the app registry is ready
            home,
        )
        from organizations.pickers import (  # noqa: PLC0415 - models are not importable before the app registry is ready
            register as register_pickers,
        )
        from reporting.dispatch import (  # noqa: PLC0415 - models are not importable before the app registry is ready
            queue_cycle_event,
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

        # Deliveries of the subscriptions that follow a cycle's move, queued in the
        # move's transaction (docs/reporting.md, "Scheduled reports").
        cycle_status_changed.connect(
            queue_cycle_event, dispatch_uid="reporting.queue_cycle_event"
        )
        register_pickers(*SOURCES)
        home.register(headline_section)
        register_dashboard_exports()
