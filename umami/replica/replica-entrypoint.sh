#!/bin/sh
# Entrypoint of db-replica: on first start, clone the primary with pg_basebackup
# (-R writes standby.signal and primary_conninfo), then run PostgreSQL as a hot
# standby through the image's own entrypoint.
set -eu
: "${REPLICATION_PASSWORD:?REPLICATION_PASSWORD is not set}"
: "${PRIMARY_HOST:=db}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  echo "db-replica: cloning $PRIMARY_HOST"
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA"
  chmod 700 "$PGDATA"
  su-exec postgres env PGPASSWORD="$REPLICATION_PASSWORD" \
    pg_basebackup -h "$PRIMARY_HOST" -U replicator -D "$PGDATA" -R -X stream \
      -C -S db_replica --checkpoint=fast
fi
exec docker-entrypoint.sh postgres -c hot_standby=on
