"""real_schema.py gives the release's exact schema, recorded as Prisma records it, and
refuses a missing or different source archive with a message that says what to do."""

from __future__ import annotations

import hashlib
import tarfile

import pytest

from real_schema import SchemaError, UMAMI_SOURCE_SHA256, apply_schema, read_migrations, source_archive


def test_every_migration_applied_and_recorded_with_prismas_checksum(postgres):
    postgres.psql("postgres", "CREATE DATABASE schema_check OWNER umami;")
    try:
        applied = apply_schema(postgres.url("schema_check"))
        migrations = read_migrations(source_archive())
        assert applied == [m.name for m in migrations]
        assert len(applied) == 19 and applied[-1] == "19_add_session_replay"
        rows = postgres.psql("schema_check", 'SELECT migration_name, checksum, applied_steps_count, '
                             'finished_at IS NOT NULL FROM "_prisma_migrations" ORDER BY migration_name')
        assert rows.splitlines() == [f"{m.name}|{m.checksum}|1|t" for m in migrations]
        # A second run finds nothing left to do (as `prisma migrate deploy` would).
        assert apply_schema(postgres.url("schema_check")) == []
        tables = postgres.psql("schema_check", "SELECT string_agg(table_name, ' ' ORDER BY table_name) "
                               "FROM information_schema.tables WHERE table_schema = 'public'")
        assert "session_replay session_replay_saved" in tables
    finally:
        postgres.psql("postgres", "DROP DATABASE IF EXISTS schema_check WITH (FORCE);")


def test_missing_archive_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("UMAMI_SOURCE", str(tmp_path / "nope.tar.gz"))
    with pytest.raises(SchemaError) as err:
        source_archive()
    assert str(err.value) == (f"Umami 3.1.0 source archive not found (UMAMI_SOURCE={tmp_path / 'nope.tar.gz'}): "
                              "set UMAMI_SOURCE to the umami-3.1.0.tar.gz release archive")


def test_other_archive_is_refused_by_its_hash(monkeypatch, tmp_path):
    other = tmp_path / "umami-3.1.0.tar.gz"
    with tarfile.open(other, "w:gz"):
        pass
    monkeypatch.setenv("UMAMI_SOURCE", str(other))
    digest = hashlib.sha256(other.read_bytes()).hexdigest()
    with pytest.raises(SchemaError) as err:
        source_archive()
    assert str(err.value) == (f"{other}: sha256 {digest} is not the pinned Umami 3.1.0 source "
                              f"({UMAMI_SOURCE_SHA256}); point UMAMI_SOURCE at the release archive")
