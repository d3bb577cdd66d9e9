#!/bin/sh
# Runs once, when the primary's data directory is first created (docker-entrypoint-initdb.d).
# For a database that already exists, run the same statement by hand (README.md).
set -eu
: "${REPLICATION_PASSWORD:?REPLICATION_PASSWORD is not set}"
psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" \
  -v pw="$REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'pw';
SQL
