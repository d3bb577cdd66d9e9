#!/bin/sh
# Daily retention loop of the `retention` service in compose.yaml.
# Runs retention.sql now and then every RETENTION_INTERVAL seconds (default one day).
# Connection comes from libpq's PG* environment variables. The healthcheck reads
# /tmp/retention.ok, which exists only while the last run succeeded.
# RETENTION_ONCE=1 runs a single pass and exits with its status (used by the tests).
# RETENTION_BATCH: rows deleted per committed transaction (default 5000).
set -u
: "${RETENTION_DAYS:?RETENTION_DAYS is not set (days of visitor data to keep)}"
sql="${RETENTION_SQL:-/retention/retention.sql}"
interval="${RETENTION_INTERVAL:-86400}"
ok_file="${RETENTION_OK_FILE:-/tmp/retention.ok}"

case "$RETENTION_DAYS" in
  ''|*[!0-9]*) echo "retention: RETENTION_DAYS must be a whole number, got '$RETENTION_DAYS'" >&2; exit 2 ;;
esac

while :; do
  echo "retention: $(date -u +%Y-%m-%dT%H:%M:%SZ) deleting visitor data older than $RETENTION_DAYS days"
  if psql -X -q -v ON_ERROR_STOP=1 -v days="$RETENTION_DAYS" -v batch="${RETENTION_BATCH:-5000}" -f "$sql"; then
    : > "$ok_file"
    status=0
  else
    rm -f "$ok_file"
    echo "retention: FAILED, will retry in one hour" >&2
    status=1
  fi
  if [ "${RETENTION_ONCE:-}" = 1 ]; then exit "$status"; fi
  if [ "$status" -eq 0 ]; then sleep "$interval"; else sleep 3600; fi
done
