"""The organizations app: after each migration, row-level security is (re)installed.
Importing it registers the ``field__any`` lookup (``organizations.lookups``)."""

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate

from organizations import (
    lookups,  # noqa: F401 - registers ``field__any``
    search,
)


def _install_rls(
    sender: AppConfig, using: str = "default", plan: object = None, **kwargs: object
) -> None:
    # `flush` (the reset between transactional tests) sends post_migrate without a
    # plan: the schema is unchanged, and the flushing app role may not alter tables.
    if plan is None:
        return
    # tenancy defines a model base class, which needs the loaded app registry.
    from organizations.tenancy import install_row_level_security  # noqa: PLC0415

    install_row_level_security(using=using, app_role=settings.DATABASE_APP_ROLE)


class OrganizationsConfig(AppConfig):
    name = "organizations"
    verbose_name = "Organizations"

    def ready(self) -> None:
        # Once per migrate run: this app's post_migrate fires after all apps migrated.
        post_migrate.connect(_install_rls, sender=self, dispatch_uid="install_rls")
        from organizations.selectors import (  # noqa: PLC0415 - models are not importable before the app registry is ready
            people_search_group,
        )

        search.register(people_search_group)
