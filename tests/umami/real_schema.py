"""Umami's real PostgreSQL schema for the fast SQL tests, from the pinned source archive,
applied by the deployment's own umami/build/migrate.py.

Why: a schema written by hand for the tests drifts from the release silently (it once
lacked `session_replay`, so retention looked fine in the tests and failed on every real
run). And one implementation migrates everything: the image runs migrate.py before Umami
starts (umami/Dockerfile), the suite's real Umami is migrated by it (real/session.py), and
so are these databases, so the fast tests cannot pass on a schema the deployment never makes.

The archive is found and verified the way the harness finds it (real/source.py: the
setting UMAMI_SOURCE or the release URL of umami/umami.lock, sha256 pinned there). Only its
`prisma/migrations/<name>/migration.sql` files are taken out, into a temporary folder, so
the fast tests need no Umami build.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from real.source import REPO, SetupError, read_lock, source_archive

MIGRATE = REPO / "umami" / "build" / "migrate.py"
APPLIED = "migrate: applied "  # migrate.py's line for each migration it applied


class SchemaError(Exception):
    """The source archive is missing or wrong, or a migration failed; the message says which."""


def extract_migrations(archive: Path, dest: Path) -> Path:
    """Write every prisma/migrations/<name>/migration.sql of the archive to
    dest/<name>/migration.sql (nothing else, no path from the archive used as is); return dest."""
    count = 0
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            parts = Path(member.name).parts
            if member.isfile() and len(parts) == 5 and parts[1:3] == ("prisma", "migrations") \
                    and parts[4] == "migration.sql" and parts[3] not in (".", ".."):
                folder = dest / parts[3]
                folder.mkdir(parents=True, exist_ok=True)
                (folder / "migration.sql").write_bytes(tar.extractfile(member).read())
                count += 1
    if not count:
        raise SchemaError(f"{archive}: no prisma/migrations/*/migration.sql inside; not an Umami source archive")
    return dest


def run_migrate(dsn: str, migrations: Path, psql: str = "psql") -> list[str]:
    """Run umami/build/migrate.py as the image runs it (DATABASE_URL, the migrations folder);
    return the names it applied. `psql` may be a path: its folder goes first on PATH."""
    path = os.environ.get("PATH", "")
    if os.sep in psql:
        path = f"{Path(psql).parent}{os.pathsep}{path}"
    result = subprocess.run([sys.executable, str(MIGRATE), str(migrations)],
                            env={**os.environ, "DATABASE_URL": dsn, "PATH": path},
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise SchemaError(f"umami/build/migrate.py failed: {result.stderr.strip()}")
    return [line[len(APPLIED):] for line in result.stdout.splitlines() if line.startswith(APPLIED)]


def apply_schema(dsn: str, archive: Path | None = None, psql: str = "psql") -> list[str]:
    """Apply every migration of the pinned archive not yet recorded to the database at `dsn`
    (a libpq URI) with migrate.py; return the names applied."""
    try:
        archive = archive or source_archive(read_lock())
    except SetupError as exc:
        raise SchemaError(str(exc)) from None
    with tempfile.TemporaryDirectory(prefix="umami-migrations-") as tmp:
        return run_migrate(dsn, extract_migrations(archive, Path(tmp)), psql)
