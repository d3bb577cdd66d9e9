"""Umami's real PostgreSQL schema, from its own migrations in the pinned source archive.

Why: a schema written by hand for the tests drifts from the release silently (it once
lacked `session_replay`, so retention looked fine in the tests and failed on every real
run). Prisma's `migrate deploy` cannot run offline (it downloads an engine binary), so
this applies the very same files it would apply - `prisma/migrations/*/migration.sql`,
in name order, each in one transaction with psql - and records each in
`_prisma_migrations` the way Prisma does (same table, sha256 checksum of the file,
finished_at, one applied step), so Umami's own start check sees an up-to-date database.

Where the archive comes from is a setting: UMAMI_SOURCE (a path to the release's
`git archive` tarball); by default ../shared/umami/umami-3.1.0.tar.gz beside the repo.
Its sha256 must be the pinned one: a different file is refused with a clear message.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tarfile
import uuid
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UMAMI_VERSION = "3.1.0"
# sha256 of the v3.1.0 tag's `git archive --prefix=umami-3.1.0/` (../shared/umami/README.md).
UMAMI_SOURCE_SHA256 = "9863b6d929221def153cf20b52219888fe08fe23eb54f8412aa3283e17263227"
DEFAULT_SOURCE = REPO.parent / "shared" / "umami" / f"umami-{UMAMI_VERSION}.tar.gz"

# Prisma's own bookkeeping table, as `prisma migrate deploy` creates it on PostgreSQL.
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


class SchemaError(Exception):
    """The source archive is missing or wrong, or a migration failed; the message says which."""


@dataclass(frozen=True)
class Migration:
    name: str       # the folder name, e.g. "19_add_session_replay"
    sql: str
    checksum: str   # sha256 hex of migration.sql, as Prisma records it


def source_archive() -> Path:
    """The archive named by UMAMI_SOURCE, else the default; verified by its pinned sha256."""
    setting = os.environ.get("UMAMI_SOURCE")
    path = Path(setting).expanduser() if setting else DEFAULT_SOURCE
    if not path.is_file():
        where = f"UMAMI_SOURCE={setting}" if setting else f"the default {path}"
        raise SchemaError(f"Umami {UMAMI_VERSION} source archive not found ({where}): "
                          f"set UMAMI_SOURCE to the umami-{UMAMI_VERSION}.tar.gz release archive")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != UMAMI_SOURCE_SHA256:
        raise SchemaError(f"{path}: sha256 {digest} is not the pinned Umami {UMAMI_VERSION} "
                          f"source ({UMAMI_SOURCE_SHA256}); point UMAMI_SOURCE at the release archive")
    return path


def read_migrations(archive: Path) -> list[Migration]:
    """Every prisma/migrations/<name>/migration.sql of the archive, in Prisma's (name) order."""
    found = []
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            parts = Path(member.name).parts
            if member.isfile() and len(parts) == 5 and parts[1:3] == ("prisma", "migrations") \
                    and parts[4] == "migration.sql":
                data = tar.extractfile(member).read()
                found.append(Migration(parts[3], data.decode("utf-8"), hashlib.sha256(data).hexdigest()))
    if not found:
        raise SchemaError(f"{archive}: no prisma/migrations/*/migration.sql inside; not an Umami source archive")
    return sorted(found, key=lambda m: m.name)


def _psql(dsn: str, sql: str, psql: str) -> str:
    result = subprocess.run([psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-1", "-d", dsn],
                            input=sql, capture_output=True, text=True)
    if result.returncode != 0:
        raise SchemaError(result.stderr.strip() or f"psql exited with {result.returncode}")
    return result.stdout.strip()


def apply_schema(dsn: str, archive: Path | None = None, psql: str = "psql") -> list[str]:
    """Apply every migration not yet recorded to the database at `dsn` (a libpq URI);
    return the names applied. Each migration and its record commit together."""
    migrations = read_migrations(archive or source_archive())
    _psql(dsn, PRISMA_MIGRATIONS_TABLE, psql)
    done = set(_psql(dsn, 'SELECT migration_name FROM "_prisma_migrations" '
                          "WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL", psql).split())
    applied = []
    for m in migrations:
        if m.name in done:
            continue
        record = (f'INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, '
                  f"started_at, applied_steps_count) VALUES ('{uuid.uuid4()}', '{m.checksum}', now(), "
                  f"'{m.name}', now(), 1);\n")
        try:
            _psql(dsn, f"{m.sql}\n;\n{record}", psql)
        except SchemaError as exc:
            raise SchemaError(f"Umami migration {m.name} failed: {exc}") from None
        applied.append(m.name)
    return applied
