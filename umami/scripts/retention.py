#!/usr/bin/env python3
"""Delete Umami visitor data older than the retention period, now.

Runs umami/retention/retention.sql, the same file the daily `retention` service runs,
so a manual run and the scheduled one can never differ. --dry-run runs it inside a
transaction that is rolled back and only reports what would be deleted; a real run
deletes in batches (--batch rows each), each committed on its own.

Days: --days, else RETENTION_DAYS from the environment or umami/.env.
Target: the `db` container, or --database-url / UMAMI_DATABASE_URL directly.

Exit codes: 0 done, 1 the SQL failed (e.g. a table retention.sql has not classified),
2 bad arguments.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _lib import UMAMI_DIR, Database, Failure, main_guard, read_env_file  # noqa: E402

SQL_FILE = UMAMI_DIR / "retention" / "retention.sql"
NOTICE_RE = re.compile(r"retention: (\w+(?: \(orphans\))?) (\d+) rows deleted in (\d+) batch")
ERROR_RE = re.compile(r"ERROR:\s+(.*)")


def parse_args(argv):
    p = argparse.ArgumentParser(description="Delete Umami visitor data older than the retention period.")
    p.add_argument("--days", type=int, help="keep this many days (default: RETENTION_DAYS)")
    p.add_argument("--dry-run", action="store_true", help="report what would be deleted, change nothing")
    p.add_argument("--batch", type=int, default=5000, help="rows deleted per transaction (default 5000)")
    p.add_argument("--database-url", default=os.environ.get("UMAMI_DATABASE_URL"),
                   help="run against this database directly instead of the `db` container")
    p.add_argument("--env-file", type=Path, default=UMAMI_DIR / ".env", help="where RETENTION_DAYS is read from")
    return p.parse_args(argv)


def resolve_days(args) -> int:
    if args.days is not None:
        days = args.days
    else:
        raw = os.environ.get("RETENTION_DAYS") or read_env_file(args.env_file).get("RETENTION_DAYS", "")
        if not raw.strip().isdigit():
            raise Failure("retention period unknown: pass --days or set RETENTION_DAYS (umami/.env)", 2)
        days = int(raw)
    if days < 1:
        raise Failure("--days must be at least 1", 2)
    if args.batch < 1:
        raise Failure("--batch must be at least 1", 2)
    return days


def run(db: Database, days: int, dry_run: bool, batch: int = 5000) -> dict:
    """Run retention.sql; return rows deleted per table. A dry run is one transaction
    rolled back; a real run must not be wrapped (its batches commit one by one)."""
    sql = SQL_FILE.read_text()
    script = f"BEGIN;\n{sql}\nROLLBACK;\n" if dry_run else sql
    result = db.run("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", f"days={days}",
                    "-v", f"batch={batch}", "-v", f"dry_run={int(dry_run)}", *db.dbname(),
                    input=script, check=False)
    if result.returncode != 0:
        errors = ERROR_RE.findall(result.stderr)
        raise Failure(f"retention failed: {errors[0] if errors else result.stderr.strip()}")
    counts = {}
    for table, n, _batches in NOTICE_RE.findall(result.stderr):
        counts[table] = counts.get(table, 0) + int(n)
    return counts


@main_guard
def main(argv=None) -> int:
    args = parse_args(argv)
    days = resolve_days(args)
    db = Database(args.database_url)
    counts = run(db, days, args.dry_run, args.batch)
    head = "would delete" if args.dry_run else "deleted"
    print(f"retention ({days} days) on {db.describe()}: {head}")
    for table, n in counts.items():
        print(f"  {table}: {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
