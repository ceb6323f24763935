-- Roles and database of Engagement HRMS, run once by the postgres image on an empty
-- data directory (mounted into /docker-entrypoint-initdb.d by docker-compose.yml).
--
--   hrms_owner  owns the database and every table; `manage.py migrate` connects as it.
--   hrms_app    what web, worker and beat connect as: not superuser, not BYPASSRLS,
--               owns nothing, so PostgreSQL row-level security applies to it. It gets
--               table access from the post-migrate hook (DATABASE_APP_ROLE=hrms_app).
--
-- Passwords come from the container's environment (psql 15+ \getenv); a missing one
-- stops initialisation instead of creating a role without a password.

\set ON_ERROR_STOP on
\getenv owner_password HRMS_OWNER_PASSWORD
\getenv app_password HRMS_APP_PASSWORD

\if :{?owner_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'HRMS_OWNER_PASSWORD is not set'; END $$;
\endif
\if :{?app_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'HRMS_APP_PASSWORD is not set'; END $$;
\endif

CREATE ROLE hrms_owner LOGIN PASSWORD :'owner_password'
  NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION;
CREATE ROLE hrms_app LOGIN PASSWORD :'app_password'
  NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION;

CREATE DATABASE hrms OWNER hrms_owner ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE hrms FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE hrms TO hrms_owner, hrms_app;

\connect hrms
-- PostgreSQL 15+ already keeps CREATE on schema public from PUBLIC; say so anyway.
-- The owner role owns the database, hence (pg_database_owner) the schema public.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO hrms_app;
-- Tables the owner creates later are usable by the application role even before the
-- post-migrate hook re-grants; row-level security still applies to every tenant table.
ALTER DEFAULT PRIVILEGES FOR ROLE hrms_owner IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO hrms_app;
ALTER DEFAULT PRIVILEGES FOR ROLE hrms_owner IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO hrms_app;
