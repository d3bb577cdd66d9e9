#!/usr/bin/env python3
"""Back up Umami's PostgreSQL database with pg_dump, timestamped, and rotate old backups.

Writes BACKUP_DIR/umami-YYYYMMDDTHHMMSSZ.dump (pg_dump custom format, compressed),
first to a .partial file, checks it with pg_restore --list, then renames it, so a
file with the final name is always a complete dump. Afterwards keeps the newest
--keep backups and deletes older ones (only files this script named).

By default pg_dump runs inside the `db` container (docker compose exec), so client
and server versions always match. With --database-url (or UMAMI_DATABASE_URL) the
local pg_dump connects directly, e.g. to a replica or in a restore drill.

A failed run (database down, disk full, a dump that does not check out) exits 1, leaves no
file behind and rotates nothing, so the last good backup is never replaced or deleted.
`--check HOURS` is the daily job's health check: exit 1 unless the newest backup is at most
that old.

Exit codes: 0 done, 1 pg_dump, writing or the check failed (nothing is rotated then),
2 bad arguments.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _lib import UMAMI_DIR, Database, Failure, main_guard  # noqa: E402

NAME_RE = re.compile(r"^umami-(\d{8}T\d{6}Z)\.dump$")


def parse_args(argv):
    p = argparse.ArgumentParser(description="Back up Umami's database (pg_dump) and rotate old backups.")
    p.add_argument("--dir", type=Path, default=Path(os.environ.get("BACKUP_DIR", UMAMI_DIR / "backups")),
                   help="where backups go (default: BACKUP_DIR or umami/backups)")
    p.add_argument("--keep", type=int, default=int(os.environ.get("BACKUP_KEEP", "14")),
                   help="how many backups to keep (default: BACKUP_KEEP or 14)")
    p.add_argument("--database-url", default=os.environ.get("UMAMI_DATABASE_URL"),
                   help="dump this database directly instead of the `db` container")
    p.add_argument("--label", default="", help="text added to the file name, e.g. pre-upgrade")
    p.add_argument("--check", type=float, metavar="HOURS",
                   help="take no backup; exit 1 unless the newest backup is at most HOURS old "
                        "(the daily backup's health check, e.g. --check 26)")
    args = p.parse_args(argv)
    if args.check is not None and args.check <= 0:
        p.error("--check needs a number of hours above 0")
    if args.keep < 1:
        p.error("--keep must be at least 1")
    if args.label and not re.fullmatch(r"[a-z0-9][a-z0-9.-]{0,40}", args.label):
        p.error("--label may hold only a-z, 0-9, '.' and '-'")
    return args


def backup_name(now: dt.datetime, label: str = "") -> str:
    stamp = now.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"umami-{stamp}.dump" if not label else f"umami-{stamp}-{label}.dump"


def list_backups(directory: Path) -> list[Path]:
    """Backups this script wrote, oldest first (labelled ones included)."""
    found = []
    for path in directory.glob("umami-*.dump"):
        stem = path.name[len("umami-"):-len(".dump")]
        stamp = stem.split("-", 1)[0]
        if re.fullmatch(r"\d{8}T\d{6}Z", stamp):
            found.append((stamp, path.name, path))
    return [p for _, _, p in sorted(found)]


def rotate(directory: Path, keep: int) -> list[Path]:
    backups = list_backups(directory)
    doomed = backups[:-keep] if len(backups) > keep else []
    for path in doomed:
        path.unlink()
    return doomed


def make_backup(db: Database, directory: Path, label: str = "", now: dt.datetime | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    final = directory / backup_name(now or dt.datetime.now(dt.timezone.utc), label)
    if final.exists():
        raise Failure(f"{final} already exists; wait a second and run again")
    partial = final.with_suffix(".dump.partial")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            db.run("pg_dump", "--format=custom", "--compress=6", "--no-owner", "--no-privileges",
                   *db.dbname(), stdout=out, text=False)
            os.fsync(out.fileno())  # on disk before it gets the final name (power loss)
        with open(partial, "rb") as dump:
            listing = db.run("pg_restore", "--list", stdin=dump, text=False).stdout.decode(errors="replace")
        if "TABLE DATA" not in listing:
            raise Failure(f"the dump of {db.describe()} holds no table data; is this Umami's database?")
        partial.rename(final)
        _fsync_dir(directory)
    except OSError as exc:  # disk full, read-only, permissions: a message, never a traceback
        raise Failure(f"writing the backup in {directory} failed: {exc.strerror or exc}") from None
    finally:
        if partial.exists():
            partial.unlink()
    return final


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_fresh(directory: Path, max_hours: float, now: dt.datetime | None = None) -> str:
    """The health check of the daily backup: the newest backup must be at most max_hours old
    (by the time in its name). Returns a line for ops; raises Failure otherwise."""
    backups = list_backups(directory) if directory.is_dir() else []
    if not backups:
        raise Failure(f"no backup in {directory}: the daily backup has never succeeded")
    newest = backups[-1]
    stamp = dt.datetime.strptime(newest.name[len("umami-"):][:16], "%Y%m%dT%H%M%SZ").replace(
        tzinfo=dt.timezone.utc)
    age = ((now or dt.datetime.now(dt.timezone.utc)) - stamp).total_seconds() / 3600
    if age > max_hours:
        raise Failure(f"the newest backup {newest.name} is {age:.1f} hours old (limit {max_hours:g}): "
                      "the daily backup is failing; see backups/backup.log")
    return f"ok: newest backup {newest.name} is {age:.1f} hours old"


@main_guard
def main(argv=None) -> int:
    args = parse_args(argv)
    if args.check is not None:
        print(check_fresh(args.dir, args.check))
        return 0
    db = Database(args.database_url)
    path = make_backup(db, args.dir, args.label)
    size = path.stat().st_size
    print(f"backup written: {path} ({size} bytes) from {db.describe()}")
    for old in rotate(args.dir, args.keep):
        print(f"rotated out: {old}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
