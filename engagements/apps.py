"""The engagements app; ``ready`` wires what it adds to other apps."""

from django.apps import AppConfig

from competencies.usage import register_scale_lock
from organizations.signals import employee_linked


class EngagementsConfig(AppConfig):
    name = "engagements"

    def ready(self) -> None:
        from engagements.pickers import (  # noqa: PLC0415 - models are not importable before the app registry is ready
            SOURCES,
        )
        from engagements.receivers import (  # noqa: PLC0415 - models are not importable before the app registry is ready
            sync_permissions_on_link,
        )
        from engagements.selectors.pages import (  # noqa: PLC0415 - models are not importable before the app registry is ready
            my_work_section,
        )
        from engagements.selectors.search import (  # noqa: PLC0415 - models are not importable before the app registry is ready
            PROVIDERS as SEARCH_PROVIDERS,
        )
        from engagements.services.cycles import (  # noqa: PLC0415 - models are not importable before the app registry is ready
            cycle_scale_lock_reason,
        )
        from organizations import (  # noqa: PLC0415 - models are not importable before the app registry is ready
            home,
            search,
        )
        from organizations.pickers import (  # noqa: PLC0415 - models are not importable before the app registry is ready
            register as register_pickers,
        )

        # Ratings exist only in cycles in review or closed: their scale is fixed.
        register_scale_lock(cycle_scale_lock_reason)
        home.register(my_work_section)
        register_pickers(*SOURCES)
        for provider in SEARCH_PROVIDERS:
            search.register(provider)
        employee_linked.connect(
            sync_permissions_on_link, dispatch_uid="engagements_sync_perms"
        )
