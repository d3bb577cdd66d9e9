#!/usr/bin/env python3
"""Apply Umami's own database migrations with psql, recorded as Prisma records them.

  migrate.py MIGRATIONS_DIR      (DATABASE_URL in the environment, a libpq/Prisma URL)

Why not `prisma migrate deploy` (what Umami's image runs at start): it downloads a schema
engine binary first, which an offline build or a host with no route out cannot. This applies
the very files it would apply, `MIGRATIONS_DIR/<name>/migration.sql`, in name order, each with
its `_prisma_migrations` row (sha256 checksum, finished_at, one step) in one transaction, and
skips those already recorded; Umami's own checks then see an up-to-date database. The
deployment's image runs it before `node server.js`; the suite's real Umami and the fast SQL
tests' databases are migrated by it too (tests/umami/real_schema.py), so all get the schema
the same way.

Standard library and psql only. Exit codes: 0 done, 1 a migration failed (nothing of it was
kept), 2 bad arguments.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import urllib.parse
import uuid
from pathlib import Path

# Prisma's bookkeeping table, as `prisma migrate deploy` creates it on PostgreSQL.
PRISMA_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
);
"""


class MigrationError(Exception):
    pass


def psql_url(url: str) -> tuple[str, dict[str, str]]:
    """The URL psql gets, and the environment it gets beside it. Prisma's URL may carry
    ?schema=...; libpq does not know that parameter. The password goes in PGPASSWORD, not in
    psql's arguments, which every process of the container can read in /proc/<pid>/cmdline."""
    base, _, query = url.partition("?")
    kept = [p for p in query.split("&") if p and not p.startswith("schema=")]
    parts = urllib.parse.urlsplit(base)
    env = dict(os.environ)
    if parts.password is not None:
        env["PGPASSWORD"] = urllib.parse.unquote(parts.password)
        netloc = parts.netloc.rpartition("@")
        base = parts._replace(netloc=netloc[0].partition(":")[0] + "@" + netloc[2]).geturl()
    return base + ("?" + "&".join(kept) if kept else ""), env


def _psql(url: str, sql: str, psql: str) -> str:
    url, env = psql_url(url)
    result = subprocess.run([psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-1", "-d", url],
                            input=sql, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise MigrationError(result.stderr.strip() or f"psql exited with {result.returncode}")
    return result.stdout.strip()


def migrate(url: str, migrations: Path, psql: str = "psql", log=print) -> list[str]:
    """Apply every migration under `migrations` not yet recorded; return the names applied."""
    files = sorted(migrations.glob("*/migration.sql"), key=lambda p: p.parent.name)
    if not files:
        raise MigrationError(f"{migrations}: no <name>/migration.sql inside; not Umami's prisma/migrations")
    _psql(url, PRISMA_MIGRATIONS_TABLE, psql)
    done = set(_psql(url, 'SELECT migration_name FROM "_prisma_migrations" '
                          "WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL", psql).split())
    applied = []
    for path in files:
        name = path.parent.name
        if name in done:
            continue
        data = path.read_bytes()
        record = (f'INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, '
                  f"started_at, applied_steps_count) VALUES ('{uuid.uuid4()}', "
                  f"'{hashlib.sha256(data).hexdigest()}', now(), '{name}', now(), 1);\n")
        try:
            _psql(url, f"{data.decode('utf-8')}\n;\n{record}", psql)
        except MigrationError as exc:
            raise MigrationError(f"Umami migration {name} failed: {exc}") from None
        log(f"migrate: applied {name}")
        applied.append(name)
    return applied


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: migrate.py MIGRATIONS_DIR   (DATABASE_URL in the environment)", file=sys.stderr)
        return 2
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        print("migrate: DATABASE_URL is not set", file=sys.stderr)
        return 2
    try:
        applied = migrate(url, Path(argv[0]))
    except MigrationError as exc:
        print(f"migrate: {exc}", file=sys.stderr)
        return 1
    print(f"migrate: database up to date ({len(applied)} applied now)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
