"""Seed data in Umami's tables for the database and upgrade tests."""

from __future__ import annotations

import uuid

WEBSITE = "11111111-1111-4111-8111-111111111111"
VISITOR_TABLES = ["website_event", "event_data", "session", "session_data", "revenue",
                  "session_replay", "session_replay_saved"]


def u() -> str:
    return str(uuid.uuid4())


def seed(pg, db) -> dict:
    """Sessions and events of three ages: 400 days, 40 days and 1 day old."""
    ids = {"old_session": u(), "mid_session": u(), "new_session": u(), "long_session": u(),
           "old_event": u(), "mid_event": u(), "new_event": u(), "long_event": u(), "orphan_data": u()}
    pg.psql(db, f"""
    INSERT INTO "user" (user_id, username, password, role) VALUES ('{u()}', 'seed-owner', 'x', 'user');  -- migration 01 already made 'admin'
    INSERT INTO website (website_id, name, domain, created_at) VALUES ('{WEBSITE}', 'site', 'example.org', now() - interval '500 days');
    INSERT INTO report (report_id, user_id, website_id, type, name, description, parameters, created_at)
      VALUES ('{u()}', '{u()}', '{WEBSITE}', 'funnel', 'r', '', '{{}}', now() - interval '450 days');
    INSERT INTO session (session_id, website_id, browser, os, device, screen, language, country, created_at) VALUES
      ('{ids['old_session']}', '{WEBSITE}', 'firefox', 'Linux', 'desktop', '1920x1080', 'en-US', 'DE', now() - interval '400 days'),
      ('{ids['mid_session']}', '{WEBSITE}', 'chrome', 'Mac OS', 'laptop', '1440x900', 'fr-FR', 'FR', now() - interval '40 days'),
      ('{ids['new_session']}', '{WEBSITE}', 'safari', 'iOS', 'mobile', '390x844', 'de-DE', 'AT', now() - interval '1 day'),
      ('{ids['long_session']}', '{WEBSITE}', 'edge', 'Windows 10', 'desktop', '2560x1440', 'it-IT', 'IT', now() - interval '45 days');
    INSERT INTO website_event (event_id, website_id, session_id, visit_id, created_at, url_path, referrer_domain, page_title, hostname) VALUES
      ('{ids['old_event']}', '{WEBSITE}', '{ids['old_session']}', '{u()}', now() - interval '400 days', '/privacy/', 'news.example', 'Privacy', 'example.org'),
      ('{ids['mid_event']}', '{WEBSITE}', '{ids['mid_session']}', '{u()}', now() - interval '40 days', '/terms/', NULL, 'Terms', 'example.org'),
      ('{ids['new_event']}', '{WEBSITE}', '{ids['new_session']}', '{u()}', now() - interval '1 day', '/', NULL, 'Home', 'example.org'),
      ('{ids['long_event']}', '{WEBSITE}', '{ids['long_session']}', '{u()}', now() - interval '2 days', '/cookies/', NULL, 'Cookies', 'example.org');
    INSERT INTO event_data (event_data_id, website_id, website_event_id, data_key, string_value, data_type, created_at) VALUES
      ('{u()}', '{WEBSITE}', '{ids['old_event']}', 'k', 'old', 1, now() - interval '400 days'),
      ('{u()}', '{WEBSITE}', '{ids['new_event']}', 'k', 'new', 1, now() - interval '1 day'),
      ('{ids['orphan_data']}', '{WEBSITE}', '{u()}', 'k', 'orphan', 1, now() - interval '1 day');
    INSERT INTO session_data (session_data_id, website_id, session_id, data_key, string_value, data_type, created_at) VALUES
      ('{u()}', '{WEBSITE}', '{ids['old_session']}', 'k', 'old', 1, now() - interval '400 days'),
      ('{u()}', '{WEBSITE}', '{ids['new_session']}', 'k', 'new', 1, now() - interval '1 day');
    INSERT INTO revenue (revenue_id, website_id, session_id, event_id, event_name, currency, revenue, created_at) VALUES
      ('{u()}', '{WEBSITE}', '{ids['old_session']}', '{ids['old_event']}', 'buy', 'EUR', 1, now() - interval '400 days'),
      ('{u()}', '{WEBSITE}', '{ids['new_session']}', '{ids['new_event']}', 'buy', 'EUR', 2, now() - interval '1 day');
    """)
    return ids


def seed_future(pg, db, ids) -> dict:
    """Rows a client dated ahead (payload.timestamp), replays old, new and ahead, and one
    event a few hours ahead (clock skew, kept)."""
    f = {"session": u(), "website_event": u(), "event_data": u(), "session_data": u(), "revenue": u(),
         "replay_new": u(), "skew_event": u()}
    ahead = "now() + interval '400 days'"
    pg.psql(db, f"""
    INSERT INTO session (session_id, website_id, browser, created_at) VALUES ('{f['session']}', '{WEBSITE}', 'chrome', {ahead});
    INSERT INTO website_event (event_id, website_id, session_id, visit_id, created_at, url_path) VALUES
      ('{f['website_event']}', '{WEBSITE}', '{f['session']}', '{u()}', {ahead}, '/privacy'),
      ('{f['skew_event']}', '{WEBSITE}', '{ids['new_session']}', '{u()}', now() + interval '3 hours', '/terms');
    INSERT INTO event_data (event_data_id, website_id, website_event_id, data_key, string_value, data_type, created_at)
      VALUES ('{f['event_data']}', '{WEBSITE}', '{f['website_event']}', 'k', 'ahead', 1, {ahead});
    INSERT INTO session_data (session_data_id, website_id, session_id, data_key, string_value, data_type, created_at)
      VALUES ('{f['session_data']}', '{WEBSITE}', '{ids['new_session']}', 'k', 'ahead', 1, {ahead});
    INSERT INTO revenue (revenue_id, website_id, session_id, event_id, event_name, currency, revenue, created_at)
      VALUES ('{f['revenue']}', '{WEBSITE}', '{ids['new_session']}', '{ids['new_event']}', 'buy', 'EUR', 3, {ahead});
    INSERT INTO session_replay (replay_id, website_id, session_id, visit_id, chunk_index, events, event_count,
                                started_at, ended_at, created_at) VALUES
      ('{u()}', '{WEBSITE}', '{ids['old_session']}', '{u()}', 0, '\\x00', 1, now() - interval '400 days', now() - interval '400 days', now() - interval '400 days'),
      ('{f['replay_new']}', '{WEBSITE}', '{ids['new_session']}', '{u()}', 0, '\\x00', 1, now() - interval '1 day', now() - interval '1 day', now() - interval '1 day'),
      ('{u()}', '{WEBSITE}', '{ids['new_session']}', '{u()}', 1, '\\x00', 1, now(), now(), {ahead});
    INSERT INTO session_replay_saved (saved_replay_id, name, website_id, visit_id, created_at) VALUES
      ('{u()}', 'old', '{WEBSITE}', '{u()}', now() - interval '400 days'),
      ('{u()}', 'recent', '{WEBSITE}', '{u()}', now() - interval '1 day');
    """)
    return f


def snapshot(pg, db) -> dict:
    tables = VISITOR_TABLES + ["website", "report", '"user"']
    return {t: pg.psql(db, f"SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) || ':' || count(*) FROM {t} x")
            for t in tables}


def count(pg, db, table, where="true") -> int:
    return int(pg.psql(db, f"SELECT count(*) FROM {table} WHERE {where}"))


