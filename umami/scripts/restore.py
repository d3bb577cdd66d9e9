#!/usr/bin/env python3
"""Restore an Umami backup made by backup.py into the database.

Replaces the database's contents with the backup's: every table in the dump is
dropped and recreated (pg_restore --clean --if-exists), in one transaction, so a
failed restore leaves the database as it was. Refuses to run without --yes.

Default target: the `db` container; Umami is stopped first and started again
afterwards so it never sees half a database. With --database-url (or
UMAMI_DATABASE_URL) the local pg_restore writes into that database instead (restore
drill into a scratch database, see README.md); nothing is stopped then.

Exit codes: 0 done, 1 the restore failed, 2 bad arguments or an unreadable backup.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _lib import Database, Failure, compose_command, main_guard  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(description="Restore a backup.py dump into Umami's database (replaces its data).")
    p.add_argument("backup", type=Path, help="a .dump file written by backup.py")
    p.add_argument("--database-url", default=os.environ.get("UMAMI_DATABASE_URL"),
                   help="restore into this database directly instead of the `db` container")
    p.add_argument("--yes", action="store_true", help="confirm that the target's current data may be replaced")
    return p.parse_args(argv)


def check_backup(db: Database, path: Path) -> str:
    if not path.is_file():
        raise Failure(f"no such backup file: {path}", 2)
    with open(path, "rb") as dump:
        result = db.run("pg_restore", "--list", stdin=dump, text=False, check=False)
    if result.returncode != 0:
        raise Failure(f"{path} is not a pg_dump custom-format backup: "
                      f"{result.stderr.decode(errors='replace').strip()}", 2)
    listing = result.stdout.decode(errors="replace")
    if "TABLE DATA" not in listing or " website_event" not in listing:
        raise Failure(f"{path} does not look like an Umami backup (no website_event table)", 2)
    return listing


def restore(db: Database, path: Path) -> None:
    with open(path, "rb") as dump:
        db.run("pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
               "--single-transaction", "--exit-on-error", *db.dbname(), stdin=dump, text=False)


def compose(*args: str) -> None:
    cmd = [*compose_command(), *args]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise Failure(f"{' '.join(args)} failed: {result.stderr.strip()}")


@main_guard
def main(argv=None) -> int:
    args = parse_args(argv)
    db = Database(args.database_url)
    check_backup(db, args.backup)
    if not args.yes:
        raise Failure(f"this replaces all data in {db.describe()} with {args.backup}; "
                      "run again with --yes to confirm", 2)
    if args.database_url:
        restore(db, args.backup)
    else:
        compose("stop", "umami")
        try:
            restore(db, args.backup)
        finally:
            compose("start", "umami")
    print(f"restored {args.backup} into {db.describe()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
