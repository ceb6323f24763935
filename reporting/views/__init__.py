"""The reporting app's pages: the dashboards (``dashboards``) and the report jobs
that exports run as (``jobs``)."""
