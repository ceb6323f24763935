"""The tenant scoping machinery, in one place.

Three layers keep one organisation's rows away from another's:

1. ``TenantModel``'s default manager (``TenantManager``) refuses to query without an
   active organisation scope, and filters by it when one is active.
2. ``tenant_context(org)`` is the one way in: it opens a transaction, enters the scope
   and sets the PostgreSQL row-level-security setting ``app.organization_id`` for that
   transaction. The tenant middleware, Celery tasks and management commands use it.
3. On PostgreSQL every tenant table has RLS enabled and forced with a policy on
   ``organization_id`` (installed by ``install_row_level_security`` after every
   migration), so even raw SQL run by the application role cannot cross tenants.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db import connection, connections, models, transaction
from django.db.models import CharField, F, Func, Value
from django.db.models.functions import Cast
from django_scopes import get_scope, scope
from django_scopes.exceptions import ScopeError

if TYPE_CHECKING:
    from organizations.models import Organization

RLS_SETTING = "app.organization_id"
POLICY_NAME = "tenant_isolation"

# Two passes read across organisations, each one table, each admitted by a setting
# of its own that only its module sets, for its own transaction (set_config(...,
# true)); tests/test_architecture.py checks that:
# - the outbox relay publishes every organisation's owed background work;
# - the report dispatcher finds every organisation's due report subscriptions
#   (reporting.dispatch), then enters each organisation to queue their deliveries.
RELAY_SETTING = "app.outbox_relay"
DISPATCH_SETTING = "app.report_dispatch"
CROSS_TENANT_TABLES = {
    "organizations_outboxmessage": RELAY_SETTING,
    "reporting_reportsubscription": DISPATCH_SETTING,
}

# Tables that carry organization_id but are not tenant-owned rows. Each has a reason.
RLS_EXEMPT_TABLES = {
    # The key that resolves tenancy: looked up by (user, organisation) before a tenant
    # is known, and listed per user by the organisation switcher. The application layer
    # still scopes it (its default manager is a TenantManager); only
    # ``Membership.unscoped.for_user`` reads across organisations, for one user.
    "organizations_membership",
}


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


class UnscopedQuerySet(models.QuerySet):
    """A queryset built without a tenant scope: it may be refined, never run.

    Building stays free (a ModelForm or FilterSet declared at import time works), but
    every way of executing it raises ScopeError, so a forgotten scope is an exception,
    not a leak. Creating a row is allowed: it names its organisation explicitly.
    """

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise ScopeError(
            f"{self.model.__name__} is tenant-owned: enter an organisation scope "
            "(organizations.tenancy.tenant_context) before querying it."
        )

    _fetch_all = _refuse
    iterator = _refuse
    count = _refuse
    exists = _refuse
    aggregate = _refuse
    update = _refuse
    _update = _refuse
    delete = _refuse
    explain = _refuse
    contains = _refuse
    raw = _refuse


class TenantManager(models.Manager):
    """Default manager of tenant models: filters by the active organisation scope.

    Without an active scope it hands out an ``UnscopedQuerySet`` that raises when run.
    ``scopes_disabled()`` (django-scopes) lifts the filter for maintenance code.
    """

    def get_queryset(self) -> models.QuerySet:
        current = get_scope()
        if not current.get("_enabled", True):
            return super().get_queryset()
        organization = current.get("organization")
        if organization is None:
            return UnscopedQuerySet(self.model, using=self._db)
        return super().get_queryset().filter(organization=organization)


class TenantModel(models.Model):
    """Base for every row owned by exactly one organization."""

    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="+"
    )

    objects = TenantManager()  # raises without an active scope

    class Meta:
        abstract = True


def current_organization_id() -> int | None:
    """The id of the organisation whose scope is active, or None."""
    org = get_scope().get("organization")
    if org is None:
        return None
    return org if isinstance(org, int) else org.pk


def set_row_security(organization_id: int | None) -> None:
    """Set the row-security setting ``app.organization_id`` for the current
    transaction (PostgreSQL only; None clears it). One query.

    ``tenant_context`` and the tenant middleware call it; other code enters a tenant
    through ``tenant_context`` instead."""
    if not is_postgresql():
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config(%s, %s, true)",
            [RLS_SETTING, "" if organization_id is None else str(organization_id)],
        )


@contextmanager
def tenant_context(organization: Organization) -> Iterator[Organization]:
    """Run the block inside one organisation: a transaction, the scope and RLS.

    Nested use for another organisation restores the outer one on exit. Cost: one
    ``set_config`` query on entry and one on exit (PostgreSQL only).
    """
    if organization is None or organization.pk is None:
        raise ValueError("tenant_context needs a saved organization.")
    previous = current_organization_id()
    with transaction.atomic(), scope(organization=organization):
        set_row_security(organization.pk)
        yield organization
        # On an exception the savepoint or transaction rollback restores the setting.
        if not connection.needs_rollback:
            set_row_security(previous)


def rls_annotation() -> dict[str, Any]:
    """An annotation that sets the RLS setting from a queried row's organization_id.

    Lets the tenant middleware resolve the Membership *and* set the row-security
    setting in one query. Empty on databases without RLS.
    """
    if not is_postgresql():
        return {}
    return {
        "_rls_set": Func(
            Value(RLS_SETTING),
            Cast(F("organization_id"), CharField()),
            Value(True),
            function="set_config",
            output_field=CharField(),
        )
    }


# --- Row-level security and tenant-consistent references (PostgreSQL) --------------


def tenant_tables() -> list[str]:
    """Every table of ours with an organization_id column, historical ones included."""
    tables = []
    for model in apps.get_models():
        opts = model._meta
        if opts.proxy or not opts.managed:
            continue
        field = next(
            (f for f in opts.concrete_fields if f.column == "organization_id"), None
        )
        if field is None:
            continue
        if opts.db_table not in RLS_EXEMPT_TABLES:
            tables.append(opts.db_table)
    return sorted(set(tables))


def _short_name(prefix: str, *parts: str) -> str:
    digest = hashlib.sha1(  # noqa: S324 - a name, not security
        ".".join(parts).encode()
    ).hexdigest()[:12]
    return f"{prefix}_{digest}"


def install_row_level_security(using: str = "default", app_role: str = "") -> None:
    """Enable and force RLS with the tenant policy on every tenant table (idempotent).

    Also adds a composite ``(organization_id, <fk>)`` foreign key for every reference
    between two tenant tables, so a row can never point at another tenant's row, and
    grants the application role access to every table. Runs after each migration as
    the owner role.
    """
    conn = connections[using]
    if conn.vendor != "postgresql":
        return
    policy_expr = (
        f"organization_id = NULLIF(current_setting('{RLS_SETTING}', true), '')::bigint"
    )
    with conn.cursor() as cursor:
        for table in tenant_tables():
            expr = policy_expr
            if table in CROSS_TENANT_TABLES:
                setting = CROSS_TENANT_TABLES[table]
                expr = f"({policy_expr}) OR current_setting('{setting}', true) = 'on'"
            cursor.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
            cursor.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
            cursor.execute(f'DROP POLICY IF EXISTS {POLICY_NAME} ON "{table}"')
            cursor.execute(
                f'CREATE POLICY {POLICY_NAME} ON "{table}" '
                f"USING ({expr}) WITH CHECK ({expr})"
            )
        _install_tenant_foreign_keys(cursor)
        if app_role:
            cursor.execute(
                f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{app_role}"'
            )
            cursor.execute(
                f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{app_role}"'
            )


def _install_tenant_foreign_keys(cursor: Any) -> None:
    # Looked up in the registry: organizations.models imports this module.
    organization_model = apps.get_model("organizations", "Organization")
    tenant_models = [
        m
        for m in apps.get_models()
        if issubclass(m, TenantModel) and not m._meta.proxy and m._meta.managed
    ]
    tenant_set = set(tenant_models)
    for model in tenant_models:
        for field in model._meta.concrete_fields:
            if not field.is_relation or not getattr(field, "db_constraint", False):
                continue
            target = field.related_model
            if not isinstance(target, type) or target is organization_model:
                continue
            if target not in tenant_set:
                continue
            table, target_table = model._meta.db_table, target._meta.db_table
            unique_name = _short_name("tenant_uq", target_table)
            fk_name = _short_name("tenant_fk", table, field.column)
            cursor.execute(
                "SELECT 1 FROM pg_constraint WHERE conname = %s", [unique_name]
            )
            if cursor.fetchone() is None:
                cursor.execute(
                    f'ALTER TABLE "{target_table}" ADD CONSTRAINT {unique_name} '
                    f"UNIQUE (organization_id, id)"
                )
            cursor.execute("SELECT 1 FROM pg_constraint WHERE conname = %s", [fk_name])
            if cursor.fetchone() is None:
                cursor.execute(
                    f'ALTER TABLE "{table}" ADD CONSTRAINT {fk_name} '
                    f'FOREIGN KEY (organization_id, "{field.column}") '
                    f'REFERENCES "{target_table}" (organization_id, id) '
                    f"DEFERRABLE INITIALLY DEFERRED"
                )
            # Deleting or re-keying a referenced row checks this key; index it.
            index_name = _short_name("tenant_ix", table, field.column)
            cursor.execute(
                f'CREATE INDEX IF NOT EXISTS {index_name} ON "{table}" '
                f'(organization_id, "{field.column}")'
            )
