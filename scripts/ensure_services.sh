#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on localhost, and that the database roles the
# test suite needs exist: an owner that migrates, and a plain application role that
# row-level security applies to. Starts the local services only when they are down.
set -euo pipefail

PGHOST=127.0.0.1
OWNER_ROLE=${HRMS_OWNER_ROLE:-hrms_owner}
APP_ROLE=${HRMS_APP_ROLE:-hrms_app}

if ! pg_isready -h "$PGHOST" -p 5432 -q; then
  echo "PostgreSQL is down; starting it."
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  for _ in $(seq 1 30); do pg_isready -h "$PGHOST" -p 5432 -q && break; sleep 1; done
fi
pg_isready -h "$PGHOST" -p 5432 -q || { echo "PostgreSQL did not start." >&2; exit 1; }

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "Redis is down; starting it."
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
fi
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null || { echo "Redis did not start." >&2; exit 1; }

psql_admin() { psql -h "$PGHOST" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtAc "$1"; }

if [ -z "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname = '$OWNER_ROLE'")" ]; then
  psql_admin "CREATE ROLE \"$OWNER_ROLE\" LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS"
fi
if [ -z "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname = '$APP_ROLE'")" ]; then
  psql_admin "CREATE ROLE \"$APP_ROLE\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS"
fi
# Keep the application role plain even if someone changed it by hand.
psql_admin "ALTER ROLE \"$APP_ROLE\" NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
if [ -z "$(psql_admin "SELECT 1 FROM pg_database WHERE datname = 'hrms'")" ]; then
  psql_admin "CREATE DATABASE hrms OWNER \"$OWNER_ROLE\""
fi
echo "PostgreSQL and Redis are up; roles $OWNER_ROLE (owner) and $APP_ROLE (application) exist."
