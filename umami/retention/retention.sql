-- Retention for Umami on PostgreSQL: delete visitor data older than :days days
-- from every Umami table that holds it. Run with
--   psql -X -v ON_ERROR_STOP=1 -v days=395 -f retention.sql
-- Used by the daily `retention` service (run-daily.sh) and by scripts/retention.py.
-- Umami has no retention of its own and no foreign keys between these tables
-- (Prisma relationMode = "prisma"), so the order below keeps no orphans behind.
\set ON_ERROR_STOP on
SELECT set_config('umami_retention.days', :'days', false) AS retention_days \gset

DO $retention$
DECLARE
  keep_days integer := current_setting('umami_retention.days')::integer;
  cutoff timestamptz;
  uncovered text;
  n bigint;
BEGIN
  IF keep_days IS NULL OR keep_days < 1 THEN
    RAISE EXCEPTION 'retention: days must be a whole number of at least 1, got %',
      current_setting('umami_retention.days');
  END IF;
  cutoff := now() - make_interval(days => keep_days);

  -- Refuse to run half a job: any table that references visitors and is not
  -- handled below (a new Umami release may add one) stops the run loudly.
  SELECT string_agg(DISTINCT c.table_name, ', ' ORDER BY c.table_name) INTO uncovered
    FROM information_schema.columns c
   WHERE c.table_schema = current_schema()
     AND c.column_name IN ('session_id', 'visit_id', 'website_event_id')
     AND c.table_name NOT IN ('website_event', 'event_data', 'session', 'session_data', 'revenue');
  IF uncovered IS NOT NULL THEN
    RAISE EXCEPTION 'retention: table(s) % hold visitor data but retention.sql does not cover them; extend it before running', uncovered;
  END IF;

  DELETE FROM event_data WHERE created_at < cutoff OR created_at IS NULL;
  GET DIAGNOSTICS n = ROW_COUNT;
  RAISE NOTICE 'retention: event_data % rows deleted', n;

  DELETE FROM website_event WHERE created_at < cutoff OR created_at IS NULL;
  GET DIAGNOSTICS n = ROW_COUNT;
  RAISE NOTICE 'retention: website_event % rows deleted', n;

  -- event data whose event is gone (no foreign key keeps them together)
  DELETE FROM event_data d
   WHERE NOT EXISTS (SELECT 1 FROM website_event e WHERE e.event_id = d.website_event_id);
  GET DIAGNOSTICS n = ROW_COUNT;
  RAISE NOTICE 'retention: event_data % orphan rows deleted', n;

  DELETE FROM session_data WHERE created_at < cutoff OR created_at IS NULL;
  GET DIAGNOSTICS n = ROW_COUNT;
  RAISE NOTICE 'retention: session_data % rows deleted', n;

  IF to_regclass('revenue') IS NOT NULL THEN
    EXECUTE 'DELETE FROM revenue WHERE created_at < $1 OR created_at IS NULL' USING cutoff;
    GET DIAGNOSTICS n = ROW_COUNT;
    RAISE NOTICE 'retention: revenue % rows deleted', n;
  END IF;

  -- A session is deleted once it is old and none of its events is left.
  DELETE FROM session s
   WHERE (s.created_at < cutoff OR s.created_at IS NULL)
     AND NOT EXISTS (SELECT 1 FROM website_event e WHERE e.session_id = s.session_id);
  GET DIAGNOSTICS n = ROW_COUNT;
  RAISE NOTICE 'retention: session % rows deleted', n;

  DELETE FROM session_data d
   WHERE NOT EXISTS (SELECT 1 FROM session s WHERE s.session_id = d.session_id);
  GET DIAGNOSTICS n = ROW_COUNT;
  RAISE NOTICE 'retention: session_data % orphan rows deleted', n;

  RAISE NOTICE 'retention: done, kept % days (cutoff %)', keep_days, cutoff;
END
$retention$;
