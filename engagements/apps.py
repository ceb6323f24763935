from typing import Any

from django.apps import AppConfig


def _on_employee_linked(sender: Any, employee: Any, **kwargs: Any) -> None:
    from engagements.services import sync_permissions_for

    sync_permissions_for(employee)


class EngagementsConfig(AppConfig):
    name = "engagements"

    def ready(self) -> None:
        from competencies.usage import register_scale_lock
        from engagements.home import my_work_section
        from engagements.services import cycle_scale_lock_reason
        from organizations import home
        from organizations.signals import employee_linked

        # Ratings exist only in cycles in review or closed: their scale is fixed.
        register_scale_lock(cycle_scale_lock_reason)
        home.register(my_work_section)

        employee_linked.connect(
            _on_employee_linked, dispatch_uid="engagements_sync_perms"
        )
