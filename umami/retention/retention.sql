-- Retention for Umami on PostgreSQL: delete visitor data older than :days days, or
-- dated in the future, from every Umami table that holds it. Run with
--   psql -X -v ON_ERROR_STOP=1 -v days=395 -f retention.sql
-- Used by the daily `retention` service (run-daily.sh) and by scripts/retention.py.
-- Optional: -v batch=N (rows per deleting transaction, default 5000),
--           -v dry_run=1 (inside a transaction the caller rolls back: no COMMITs).
--
-- Why it is shaped like this:
-- * Every table in the database is classified below, read from the catalog at each run.
--   A table nobody classified (a new Umami release adds one) stops the run loudly before
--   anything is deleted: a list of "visitor tables" would silently go stale instead
--   (it did: 3.x added session_replay and session_replay_saved).
-- * A client can date its data (payload.timestamp sets created_at), so a row dated more
--   than a day ahead of the clock is deleted too; otherwise it would escape the window.
-- * Umami has no retention of its own and no foreign keys (Prisma relationMode =
--   "prisma"); the order below leaves no orphans. Deletes run in batches, each committed
--   on its own, so a big backlog never holds one long transaction or lock.
\set ON_ERROR_STOP on
\if :{?batch}
\else
  \set batch 5000
\endif
\if :{?dry_run}
\else
  \set dry_run 0
\endif
SELECT set_config('umami_retention.days', :'days', false) AS retention_days,
       set_config('umami_retention.batch', :'batch', false) AS retention_batch,
       set_config('umami_retention.dry_run', :'dry_run', false) AS retention_dry_run \gset

DO $retention$
DECLARE
  keep_days integer := current_setting('umami_retention.days')::integer;
  batch integer := current_setting('umami_retention.batch')::integer;
  dry boolean := current_setting('umami_retention.dry_run') = '1';
  cutoff timestamptz;
  ahead timestamptz;
  unknown text;
  visitor text[];
  kept text[];
  step record;
  n bigint;
  total bigint;
  batches integer;
BEGIN
  IF keep_days IS NULL OR keep_days < 1 THEN
    RAISE EXCEPTION 'retention: days must be a whole number of at least 1, got %',
      current_setting('umami_retention.days');
  END IF;
  IF batch IS NULL OR batch < 1 THEN
    RAISE EXCEPTION 'retention: batch must be a whole number of at least 1, got %',
      current_setting('umami_retention.batch');
  END IF;
  cutoff := now() - make_interval(days => keep_days);
  ahead := now() + interval '1 day';

  -- Every table of Umami 3.1.0's schema (prisma/migrations 01-19), by what it holds.
  visitor := ARRAY['website_event', 'event_data', 'session', 'session_data', 'revenue',
                   'session_replay', 'session_replay_saved'];   -- deleted past the window
  kept := ARRAY['_prisma_migrations', 'user', 'team', 'team_user', 'website', 'report', 'segment',
                'link', 'pixel', 'share', 'board'];   -- configuration the site's owners write

  SELECT string_agg(t.table_name, ', ' ORDER BY t.table_name) INTO unknown
    FROM information_schema.tables t
   WHERE t.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
     AND NOT t.table_name = ANY (visitor || kept);
  IF unknown IS NOT NULL THEN
    RAISE EXCEPTION 'retention: unknown table(s) in the database: %. Nothing was deleted. Classify each in umami/retention/retention.sql (visitor data or kept) and umami/DATA.md, then run again', unknown;
  END IF;

  -- What to delete, in this order; steps on a table the database lacks are skipped.
  FOR step IN
    SELECT s.ord, s.tbl, s.label, s.cond FROM (VALUES
      (1, 'event_data', 'event_data', 'created_at < $1 OR created_at > $2 OR created_at IS NULL'),
      (2, 'website_event', 'website_event', 'created_at < $1 OR created_at > $2 OR created_at IS NULL'),
      (3, 'event_data', 'event_data (orphans)',
          'NOT EXISTS (SELECT 1 FROM website_event e WHERE e.event_id = x.website_event_id)'),
      (4, 'session_data', 'session_data', 'created_at < $1 OR created_at > $2 OR created_at IS NULL'),
      (5, 'revenue', 'revenue', 'created_at < $1 OR created_at > $2 OR created_at IS NULL'),
      (6, 'session_replay', 'session_replay', 'created_at < $1 OR created_at > $2 OR created_at IS NULL'),
      (7, 'session_replay_saved', 'session_replay_saved',
          'created_at < $1 OR created_at > $2 OR created_at IS NULL'),
      -- a session goes once it is outside the window and none of its events is left
      (8, 'session', 'session', '(created_at < $1 OR created_at > $2 OR created_at IS NULL) AND NOT EXISTS '
          '(SELECT 1 FROM website_event e WHERE e.session_id = x.session_id)'),
      (9, 'session_data', 'session_data (orphans)',
          'NOT EXISTS (SELECT 1 FROM session s WHERE s.session_id = x.session_id)'),
      (10, 'session_replay', 'session_replay (orphans)',
          'NOT EXISTS (SELECT 1 FROM session s WHERE s.session_id = x.session_id)')
    ) AS s(ord, tbl, label, cond)
    WHERE to_regclass(quote_ident(s.tbl)) IS NOT NULL
    ORDER BY s.ord
  LOOP
    total := 0;
    batches := 0;
    LOOP
      EXECUTE format('DELETE FROM %1$I WHERE ctid = ANY (ARRAY(SELECT x.ctid FROM %1$I x WHERE %2$s LIMIT %3$s))',
                     step.tbl, step.cond, batch)
        USING cutoff, ahead;
      GET DIAGNOSTICS n = ROW_COUNT;
      total := total + n;
      batches := batches + 1;
      IF NOT dry THEN
        COMMIT;
      END IF;
      EXIT WHEN n < batch;
    END LOOP;
    RAISE NOTICE 'retention: % % rows deleted in % batch(es)', step.label, total, batches;
  END LOOP;

  RAISE NOTICE 'retention: done, kept % days (cutoff %)', keep_days, cutoff;
END
$retention$;
