"""Faults on the real deployment under steady tracker traffic (tests/umami/load_client.py from
the visitor namespace, through umami/Caddyfile): PostgreSQL stopped for 10 s, the retention job
and a backup run during load, backups that fail (database down, disk full). Each is bounded in
time; the figures (events lost in the outage) are printed and recorded as test properties.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from load_client import add_visitor_addresses, finish_load, lost_and_extra, start_load, stored_by_path
from umami_support import REPO, free_port, run_script

LEAK = re.compile(r"(\n\s+at |node_modules|/app/|/root/|/tmp/|/usr/|/work/|\.tsx?:\d|\.js:\d|Prisma|ECONNREFUSED)")
RUN_DAILY = REPO / "umami" / "retention" / "run-daily.sh"
RETENTION_SQL = REPO / "umami" / "retention" / "retention.sql"
RATE = 20  # page views per second: steady, well under what one host holds (benchmark)


def pg_stop(pg) -> None:
    subprocess.run([*pg.as_user, str(pg.bindir / "pg_ctl"), "-D", str(pg.data), "-m", "fast", "-w",
                    "stop"], check=True, capture_output=True)


def pg_start(pg) -> None:
    """Start the suite's PostgreSQL again on the same port and data (as umami_support starts it)."""
    opts = (f"-c listen_addresses=127.0.0.1 -c port={pg.port} -c unix_socket_directories={pg.sock} "
            "-c fsync=off -c full_page_writes=off")
    subprocess.run([*pg.as_user, str(pg.bindir / "pg_ctl"), "-D", str(pg.data), "-o", opts, "-w",
                    "-t", "60", "-l", str(pg.root / "log"), "start"], check=True, capture_output=True)


def retention_health_command(ok_file: Path) -> list[str]:
    """compose.yaml's healthcheck of the retention service, pointed at `ok_file`."""
    test = yaml.safe_load((REPO / "umami" / "compose.yaml").read_text())["services"]["retention"]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    return ["sh", "-c", test[1].replace("/tmp/retention.ok", str(ok_file))]


def daily_retention(real_umami, ok_file: Path, days: int = 30, batch: int = 1000):
    """One pass of the retention service's own loop (run-daily.sh, RETENTION_ONCE=1)."""
    env = {"PATH": os.environ["PATH"], **real_umami.postgres.env(real_umami.database),
           "RETENTION_DAYS": str(days), "RETENTION_ONCE": "1", "RETENTION_SQL": str(RETENTION_SQL),
           "RETENTION_OK_FILE": str(ok_file), "RETENTION_BATCH": str(batch)}
    return subprocess.run(["sh", str(RUN_DAILY)], env=env, capture_output=True, text=True, timeout=300)


def backup(real_umami, directory: Path, url: str | None = None, keep: int = 3):
    return run_script("backup.py", "--dir", str(directory), "--keep", str(keep),
                      "--database-url", url or real_umami.dsn, timeout=300)


def traffic(real_umami, website: str, duration: float, sources: list[str]):
    return start_load(real_umami.ns, {
        "url": real_umami.caddy_url + "/api/p", "website": website, "hostname": "legal.example.org",
        "rate": RATE, "duration": duration, "sources": sources, "seed": 7, "timeout": 15})


@pytest.fixture(scope="module")
def sources(real_umami):
    return add_visitor_addresses(real_umami.ns, 3)


def test_postgresql_stopped_for_10_seconds_during_traffic(real_umami, sources, tmp_path, record_property):
    website = real_umami.add_website(name="outage")
    good = backup(real_umami, tmp_path / "backups")
    assert good.returncode == 0, good.stderr
    (last_good,) = (tmp_path / "backups").glob("umami-*.dump")
    last_good_bytes = last_good.read_bytes()
    ok_file = tmp_path / "retention.ok"
    assert daily_retention(real_umami, ok_file).returncode == 0 and ok_file.exists()

    load = traffic(real_umami, website, 30, sources)
    started = time.monotonic()
    time.sleep(6)
    pg_stop(real_umami.postgres)
    down_at = time.monotonic() - started
    try:
        # The daily jobs while the database is down: both fail visibly, the last backup stays.
        retention = daily_retention(real_umami, ok_file)
        health = subprocess.run(retention_health_command(ok_file), capture_output=True)
        failed_backup = backup(real_umami, tmp_path / "backups")
        time.sleep(max(0.0, down_at + 10 - (time.monotonic() - started)))
    finally:
        pg_start(real_umami.postgres)
    up_at = time.monotonic() - started
    summary = finish_load(load, timeout=120)

    assert (retention.returncode, ok_file.exists(), health.returncode != 0) == (1, False, True)
    assert "retention: FAILED, will retry in one hour" in retention.stderr
    assert failed_backup.returncode == 1 and failed_backup.stderr.startswith("error: pg_dump failed")
    assert [p.name for p in (tmp_path / "backups").iterdir()] == [last_good.name]
    assert last_good.read_bytes() == last_good_bytes

    # Umami never shows a traceback or a path, and recovers by itself: every page view sent
    # from 5 s after the database is back is stored, with no restart of anything.
    assert [f for f in summary["failures"] if LEAK.search(f["body"])] == []
    late = [f for f in summary["failures"] if f["at"] > up_at + 5]
    assert late == []
    lost_in_outage = summary["sent"] - summary["accepted"]
    lost, extra = lost_and_extra(summary, stored_by_path(real_umami, website))
    record_property("page_views_sent", summary["sent"])
    record_property("page_views_lost_in_10s_outage", lost_in_outage)
    print(f"\nPostgreSQL down {down_at:.1f}-{up_at:.1f} s of {summary['sent']} page views at "
          f"{RATE}/s: {lost_in_outage} lost (answers {summary['statuses']})")
    assert lost == 0  # every page view Umami accepted is in the database
    assert 0 < lost_in_outage <= RATE * (up_at - down_at + 5)
    assert {s for s in summary["statuses"] if s != "200"} <= {"500", "503"}

    # The daily job, rerun after the outage, succeeds and is healthy again.
    assert daily_retention(real_umami, ok_file).returncode == 0
    assert subprocess.run(retention_health_command(ok_file)).returncode == 0


def seed_old_page_views(real_umami, website: str, count: int) -> None:
    """`count` page views (and their sessions) dated 400 days back, as Umami would have stored them."""
    real_umami.psql(f"""
        INSERT INTO session (session_id, website_id, browser, os, device, country, created_at)
        SELECT gen_random_uuid(), '{website}', 'firefox', 'Linux', 'desktop', 'IS',
               now() - interval '400 days' FROM generate_series(1, {count // 10});
        INSERT INTO website_event (event_id, website_id, session_id, visit_id, created_at, url_path,
                                   hostname, event_type)
        SELECT gen_random_uuid(), '{website}', s.session_id, gen_random_uuid(),
               now() - interval '400 days', '/privacy', 'legal.example.org', 1
        FROM session s CROSS JOIN generate_series(1, 10) WHERE s.website_id = '{website}';""")


def test_retention_during_load_fails_no_request_and_deletes_in_batches(real_umami, sources, tmp_path):
    old_site, live_site = real_umami.add_website(name="old"), real_umami.add_website(name="live")
    seed_old_page_views(real_umami, old_site, 20000)
    due = int(real_umami.psql("SELECT count(*) FROM website_event WHERE created_at < now() - interval "
                              "'30 days' OR created_at > now() + interval '1 day'"))
    assert due >= 20000
    load = traffic(real_umami, live_site, 15, sources)
    time.sleep(3)
    first = daily_retention(real_umami, tmp_path / "ok", batch=1000)
    summary = finish_load(load, timeout=120)
    assert first.returncode == 0, first.stderr
    assert f"retention: website_event {due} rows deleted in {due // 1000 + 1} batch(es)" in first.stderr
    assert summary["statuses"] == {"200": summary["planned"]}  # no request failed because of it
    assert lost_and_extra(summary, stored_by_path(real_umami, live_site)) == (0, 0)
    assert real_umami.psql(f"SELECT count(*) FROM website_event WHERE website_id = '{old_site}'") == "0"
    assert real_umami.psql(f"SELECT count(*) FROM session WHERE website_id = '{old_site}'") == "0"
    second = daily_retention(real_umami, tmp_path / "ok", batch=1000)
    assert second.returncode == 0
    deleted = re.findall(r"retention: (.+?) (\d+) rows deleted", second.stderr)
    assert deleted and all(n == "0" for _, n in deleted), second.stderr


def test_a_backup_taken_during_load_restores_to_a_consistent_database(real_umami, sources, tmp_path):
    website = real_umami.add_website(name="backup")
    load = traffic(real_umami, website, 12, sources)
    time.sleep(4)
    before = int(real_umami.psql(f"SELECT count(*) FROM website_event WHERE website_id = '{website}'"))
    made = backup(real_umami, tmp_path / "b")
    summary = finish_load(load, timeout=120)
    assert made.returncode == 0, made.stderr
    assert summary["statuses"] == {"200": summary["planned"]}
    after = int(real_umami.psql(f"SELECT count(*) FROM website_event WHERE website_id = '{website}'"))

    pg = real_umami.postgres
    pg.psql("postgres", "DROP DATABASE IF EXISTS restored WITH (FORCE); CREATE DATABASE restored OWNER umami;")
    try:
        (dump,) = (tmp_path / "b").glob("umami-*.dump")
        restored = run_script("restore.py", str(dump), "--yes", "--database-url", pg.url("restored"),
                              timeout=300)
        assert restored.returncode == 0, restored.stderr

        def q(db: str, sql: str) -> str:
            return pg.psql(db, sql, user="umami")

        n = int(q("restored", f"SELECT count(*) FROM website_event WHERE website_id = '{website}'"))
        assert before <= n <= after
        # One snapshot: every page view's session is there; same constraints, indexes, migrations.
        assert q("restored", "SELECT count(*) FROM website_event e WHERE NOT EXISTS "
                             "(SELECT 1 FROM session s WHERE s.session_id = e.session_id)") == "0"
        catalog = ("SELECT string_agg(c, ',' ORDER BY c) FROM (SELECT conrelid::regclass::text || ':' || "
                   "conname || ':' || pg_get_constraintdef(oid) AS c FROM pg_constraint "
                   "WHERE connamespace = 'public'::regnamespace) x")
        assert q("restored", catalog) == q(real_umami.database, catalog)
        indexes = "SELECT string_agg(indexdef, ',' ORDER BY indexdef) FROM pg_indexes WHERE schemaname = 'public'"
        assert q("restored", indexes) == q(real_umami.database, indexes)
        migrations = "SELECT string_agg(migration_name || checksum, ',' ORDER BY migration_name) FROM _prisma_migrations"
        assert q("restored", migrations) == q(real_umami.database, migrations)
        for table in ("website", "user"):
            assert q("restored", f'SELECT count(*) FROM "{table}"') == q(real_umami.database, f'SELECT count(*) FROM "{table}"')
    finally:
        pg.psql("postgres", "DROP DATABASE IF EXISTS restored WITH (FORCE);")


def test_a_backup_on_a_full_disk_fails_and_keeps_the_last_good_one(real_umami, tmp_path):
    good = backup(real_umami, tmp_path / "good")
    assert good.returncode == 0, good.stderr
    (last_good,) = (tmp_path / "good").glob("umami-*.dump")
    disk = tmp_path / "disk"
    disk.mkdir()
    size = last_good.stat().st_size + 8192  # room for the last good backup and hardly more
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(disk)],
                             capture_output=True, text=True)
    assert mounted.returncode == 0, f"a tiny tmpfs is needed (root): {mounted.stderr}"
    try:
        kept = disk / "umami-20000101T000000Z.dump"
        shutil.copyfile(last_good, kept)
        # Rotation would delete `kept` (keep 1) if this run wrote a backup: it must not.
        failed = backup(real_umami, disk, keep=1)
        assert failed.returncode == 1
        assert failed.stderr.startswith("error: ") and "No space left on device" in failed.stderr
        assert "Traceback" not in failed.stderr
        assert sorted(p.name for p in disk.iterdir()) == [kept.name]
        assert kept.read_bytes() == last_good.read_bytes()
        # Database down (nothing listens there): same.
        down = backup(real_umami, disk, url=f"postgresql://umami:x@127.0.0.1:{free_port()}/umami", keep=1)
        assert down.returncode == 1 and down.stderr.startswith("error: pg_dump failed")
        assert sorted(p.name for p in disk.iterdir()) == [kept.name]
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


def test_the_daily_backups_health_check_fails_once_the_newest_backup_is_stale(tmp_path):
    """backup.py --check HOURS: what monitoring runs (README, section 13)."""
    none = run_script("backup.py", "--dir", str(tmp_path), "--check", "26")
    assert (none.returncode, none.stdout) == (1, "")
    assert none.stderr == f"error: no backup in {tmp_path}: the daily backup has never succeeded\n"
    now = time.gmtime()
    fresh = time.strftime("umami-%Y%m%dT%H%M%SZ.dump", now)
    stale = time.strftime("umami-%Y%m%dT%H%M%SZ.dump", time.gmtime(time.time() - 30 * 3600))
    (tmp_path / stale).write_bytes(b"x")
    old = run_script("backup.py", "--dir", str(tmp_path), "--check", "26")
    assert old.returncode == 1
    assert old.stderr.startswith(f"error: the newest backup {stale} is 30.0 hours old (limit 26)")
    (tmp_path / fresh).write_bytes(b"x")
    ok = run_script("backup.py", "--dir", str(tmp_path), "--check", "26")
    assert (ok.returncode, ok.stdout) == (0, f"ok: newest backup {fresh} is 0.0 hours old\n")
