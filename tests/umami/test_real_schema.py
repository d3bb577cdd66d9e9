"""real_schema.py gives the release's exact schema, applied by the deployment's own
umami/build/migrate.py and recorded as Prisma records it; a missing archive or a failing
migration is a message that says what to do."""

from __future__ import annotations

import hashlib
import shutil

import pytest

from real.source import SetupError, read_lock, source_archive
from real_schema import SchemaError, apply_schema, extract_migrations, run_migrate


def test_every_migration_applied_and_recorded_with_prismas_checksum(postgres, tmp_path):
    postgres.psql("postgres", "CREATE DATABASE schema_check OWNER umami;")
    try:
        applied = apply_schema(postgres.url("schema_check"))
        files = sorted(extract_migrations(source_archive(read_lock()), tmp_path).glob("*/migration.sql"))
        assert applied == [f.parent.name for f in files]
        assert len(applied) == 19 and applied[-1] == "19_add_session_replay"
        rows = postgres.psql("schema_check", 'SELECT migration_name, checksum, applied_steps_count, '
                             'finished_at IS NOT NULL FROM "_prisma_migrations" ORDER BY migration_name')
        assert rows.splitlines() == [f"{f.parent.name}|{hashlib.sha256(f.read_bytes()).hexdigest()}|1|t"
                                     for f in files]
        # A second run finds nothing left to do (as `prisma migrate deploy` would).
        assert apply_schema(postgres.url("schema_check")) == []
        tables = postgres.psql("schema_check", "SELECT string_agg(table_name, ' ' ORDER BY table_name) "
                               "FROM information_schema.tables WHERE table_schema = 'public'")
        assert "session_replay session_replay_saved" in tables
    finally:
        postgres.psql("postgres", "DROP DATABASE IF EXISTS schema_check WITH (FORCE);")


def test_a_missing_archive_is_the_harness_message(monkeypatch, tmp_path):
    """The same setting and verification as the real-Umami harness (real/source.py)."""
    monkeypatch.setenv("UMAMI_SOURCE", str(tmp_path / "nope.tar.gz"))
    with pytest.raises(SetupError) as setup:
        source_archive(read_lock())
    with pytest.raises(SchemaError) as err:
        apply_schema("postgresql://umami@127.0.0.1:1/none")
    assert str(err.value) == str(setup.value) != ""


def test_a_failing_migration_names_migrate_py_and_the_migration(postgres, tmp_path):
    (tmp_path / "01_init").mkdir()
    (tmp_path / "01_init" / "migration.sql").write_text("CREATE TABLE ok (id int);\n")
    (tmp_path / "02_broken").mkdir()
    (tmp_path / "02_broken" / "migration.sql").write_text("CREATE TABLE nope (id no_such_type);\n")
    postgres.psql("postgres", "CREATE DATABASE schema_broken OWNER umami;")
    try:
        with pytest.raises(SchemaError) as err:
            run_migrate(postgres.url("schema_broken"), tmp_path)
        assert str(err.value) == ('umami/build/migrate.py failed: migrate: Umami migration 02_broken failed: '
                                  'ERROR:  type "no_such_type" does not exist\n'
                                  'LINE 1: CREATE TABLE nope (id no_such_type);\n'
                                  '                              ^')
        # 01 stays applied and recorded; nothing of 02 was kept.
        assert postgres.psql("schema_broken", 'SELECT migration_name FROM "_prisma_migrations"') == "01_init"
        assert postgres.psql("schema_broken", "SELECT to_regclass('nope') IS NULL") == "t"
    finally:
        postgres.psql("postgres", "DROP DATABASE IF EXISTS schema_broken WITH (FORCE);")


def test_the_database_password_is_never_in_psqls_arguments(postgres, tmp_path):
    """Every process of the container can read another's /proc/<pid>/cmdline: migrate.py gives
    psql the password in its environment (PGPASSWORD), the URL without it. A wrapper records
    what the real psql is started with, then runs it."""
    real = shutil.which("psql")
    log = tmp_path / "psql.log"
    wrapper = tmp_path / "bin" / "psql"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\nprintf "%s|%s\\n" "$*" "$PGPASSWORD" >> {log}\nexec {real} "$@"\n')
    wrapper.chmod(0o755)
    (tmp_path / "m" / "01_init").mkdir(parents=True)
    (tmp_path / "m" / "01_init" / "migration.sql").write_text("CREATE TABLE ok (id int);\n")
    postgres.psql("postgres", "CREATE DATABASE schema_secret OWNER umami;")
    try:
        url = postgres.url("schema_secret", password="umami-test") + "?schema=public"
        assert run_migrate(url, tmp_path / "m", psql=str(wrapper)) == ["01_init"]
        calls = log.read_text().splitlines()
        assert len(calls) == 3  # the bookkeeping table, what is recorded, the migration
        for call in calls:
            args, password = call.rsplit("|", 1)
            assert "umami-test" not in args and f"postgresql://umami@127.0.0.1:{postgres.port}/schema_secret" in args
            assert password == "umami-test"
    finally:
        postgres.psql("postgres", "DROP DATABASE IF EXISTS schema_secret WITH (FORCE);")
