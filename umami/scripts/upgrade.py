#!/usr/bin/env python3
"""Upgrade Umami to another pinned release, backup first; or go back.

  upgrade.py --to 3.2.0@sha256:<digest>   backup, bump the pins (umami.lock AND the image tag in
                                          compose.yaml), build, restart Umami, wait until healthy
  upgrade.py --rollback                   put the previous pins back, rebuild, and restore the
                                          backup taken before the upgrade
  upgrade.py --status                     show the pin and the last upgrade

The image is built here from the release's source archive (Dockerfile -> build/build.sh, the
script the test suite builds and tests with), so the digest is the sha256 of that archive
(umami-<version>.tar.gz, the `git archive` of the tag), not of an image. umami.lock is what
the suite builds and tests: bumping it and compose.yaml together keeps "deployed" and "tested"
the same version (a test fails when they differ). Run the suite before deploying the bump.

Umami's migrations only go forward (the image applies them at start), so the way back is
always: previous pins AND the pre-upgrade backup. --rollback does both.
Read the release notes first; a new major version needs --allow-major.

Exit codes: 0 done, 1 a step failed (what to do next is printed), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import backup as backup_mod  # noqa: E402
import restore as restore_mod  # noqa: E402
from _lib import UMAMI_DIR, Database, Failure, compose_command, compose_files, main_guard  # noqa: E402

IMAGE = "legalsite/umami"
REF_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)@sha256:([0-9a-f]{64})$")
LINE_RE = re.compile(r"^(?P<indent>\s+)image:\s*" + re.escape(IMAGE) + r":(?P<ref>\S+)\s*$", re.M)
SOURCE_URL = "https://github.com/umami-software/umami/archive/refs/tags/v{version}.tar.gz"


def parse_args(argv):
    p = argparse.ArgumentParser(description="Upgrade the pinned Umami release (backup first), or roll back.")
    action = p.add_mutually_exclusive_group(required=True)
    action.add_argument("--to", metavar="VERSION@sha256:DIGEST", help="the release to run, e.g. 3.5.0@sha256:...")
    action.add_argument("--rollback", action="store_true", help="return to the pin and data before the last upgrade")
    action.add_argument("--status", action="store_true", help="print the current pin and the last upgrade")
    p.add_argument("--allow-major", action="store_true", help="allow a new major version")
    p.add_argument("--timeout", type=float, default=600, help="seconds to wait for a healthy Umami (default 600)")
    p.add_argument("--backup-dir", type=Path, default=Path(os.environ.get("BACKUP_DIR", UMAMI_DIR / "backups")))
    p.add_argument("--state-file", type=Path, default=UMAMI_DIR / ".upgrade-state.json")
    return p.parse_args(argv)


def compose_file() -> Path:
    return compose_files()[0]


def lock_file() -> Path:
    """umami.lock: the Umami the suite builds and tests (UMAMI_LOCK overrides, for drills)."""
    return Path(os.environ.get("UMAMI_LOCK") or UMAMI_DIR / "umami.lock")


def _lock_values(text: str) -> dict:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))


def current_ref(text: str | None = None) -> str:
    """VERSION@sha256:SOURCE_SHA256 from umami.lock, checked against compose.yaml's image tag."""
    values = _lock_values(lock_file().read_text())
    compose_text = compose_file().read_text() if text is None else text
    matches = LINE_RE.findall(compose_text)
    if len(matches) != 1:
        raise Failure(f"expected exactly one `image: {IMAGE}:...` line in {compose_file()}, found {len(matches)}")
    if matches[0][1] != values.get("UMAMI_VERSION"):
        raise Failure(f"compose.yaml deploys {IMAGE}:{matches[0][1]} but umami.lock pins "
                      f"{values.get('UMAMI_VERSION')}: fix them to agree before upgrading")
    return f"{values['UMAMI_VERSION']}@sha256:{values['UMAMI_SHA256']}"


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def set_ref(path: Path, new_ref: str) -> str:
    """Pin `new_ref` in umami.lock and the image tag in compose.yaml (`path`); return the old."""
    old = current_ref(path.read_text())
    version, digest = new_ref.split("@sha256:")
    lock = lock_file()
    replacements = {"UMAMI_VERSION": version, "UMAMI_SHA256": digest,
                    "UMAMI_URL": SOURCE_URL.format(version=version)}
    lines = [f"{line.split('=', 1)[0]}={replacements[line.split('=', 1)[0]]}"
             if line.split("=", 1)[0] in replacements else line for line in lock.read_text().splitlines()]
    _write(lock, "\n".join(lines) + "\n")
    _write(path, LINE_RE.sub(lambda m: f"{m.group('indent')}image: {IMAGE}:{version}", path.read_text()))
    return old


def check_target(old: str, new: str, allow_major: bool) -> None:
    m_new = REF_RE.match(new)
    if not m_new:
        raise Failure(f"--to must be VERSION@sha256:DIGEST (exact release and its 64-hex digest), got {new!r}", 2)
    m_old = REF_RE.match(old)
    if m_old:
        old_v = tuple(int(x) for x in m_old.groups()[:3])
        new_v = tuple(int(x) for x in m_new.groups()[:3])
        if new == old:
            raise Failure(f"already pinned to {new}", 2)
        if new_v < old_v:
            raise Failure(f"{new_v} is older than {old_v}: going back is `upgrade.py --rollback` "
                          "(old image AND the pre-upgrade backup), never a plain downgrade", 2)
        if new_v[0] != old_v[0] and not allow_major:
            raise Failure(f"{old_v[0]}.x -> {new_v[0]}.x is a major upgrade; read its migration notes, "
                          "then pass --allow-major", 2)


def compose(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([*compose_command(), *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise Failure(f"docker compose {' '.join(args)} failed: {result.stderr.strip()}")
    return result


def health() -> str:
    result = compose("ps", "--format", "json", "umami", check=False)
    if result.returncode != 0:
        return "unknown"
    rows = []
    for line in result.stdout.splitlines():
        line = line.strip()
        if not line:
            continue
        parsed = json.loads(line)
        rows += parsed if isinstance(parsed, list) else [parsed]
    if not rows:
        return "missing"
    return (rows[0].get("Health") or rows[0].get("State") or "unknown").lower()


def wait_healthy(timeout: float, interval: float | None = None) -> None:
    interval = float(os.environ.get("UMAMI_HEALTH_INTERVAL", "5")) if interval is None else interval
    deadline = time.monotonic() + timeout
    status = "unknown"
    while time.monotonic() < deadline:
        status = health()
        if status == "healthy":
            return
        if status in {"unhealthy", "exited", "dead"}:
            break
        time.sleep(interval)
    raise Failure(f"umami is {status}, not healthy. Look at `docker compose logs umami` "
                  "(a failed migration shows there), then go back with: scripts/upgrade.py --rollback")


def do_upgrade(args) -> None:
    path = compose_file()
    old = current_ref()
    check_target(old, args.to, args.allow_major)
    print(f"1/5 backup before upgrading from {old.split('@')[0]}")
    label = "pre-" + old.split("@")[0]
    dump = backup_mod.make_backup(Database(None), args.backup_dir, label)
    print(f"    {dump}")
    state = {"from": old, "to": args.to, "backup": str(dump), "at": dt.datetime.now(dt.timezone.utc).isoformat()}
    args.state_file.write_text(json.dumps(state, indent=2) + "\n")
    try:
        print(f"2/5 pin Umami {args.to} in {lock_file().name} and {path.name}")
        set_ref(path, args.to)
        print("3/5 build the image from the release's source (Dockerfile, build/build.sh)")
        compose("build", "umami")
        print("4/5 recreate umami (it migrates the database on start)")
        compose("up", "-d", "umami")
        print("5/5 wait until healthy")
        wait_healthy(args.timeout)
    except Failure as exc:
        message = str(exc)
        if "--rollback" not in message:
            message += "; the way back: scripts/upgrade.py --rollback"
        raise Failure(message, exc.code) from None
    print(f"upgraded to {args.to}. The way back: scripts/upgrade.py --rollback (restores {dump.name})")


def do_rollback(args) -> None:
    if not args.state_file.exists():
        raise Failure(f"no upgrade recorded in {args.state_file}; nothing to roll back", 2)
    state = json.loads(args.state_file.read_text())
    dump = Path(state["backup"])
    path = compose_file()
    print(f"1/4 pin Umami {state['from']} again in {lock_file().name} and {path.name}")
    set_ref(path, state["from"])
    compose("build", "umami")
    print("2/4 stop umami")
    compose("stop", "umami")
    print(f"3/4 restore {dump}")
    db = Database(None)
    restore_mod.check_backup(db, dump)
    restore_mod.restore(db, dump)
    print("4/4 start the previous release")
    compose("up", "-d", "umami")
    wait_healthy(args.timeout)
    args.state_file.rename(args.state_file.with_suffix(".rolled-back.json"))
    print(f"rolled back to {state['from']} with the data of {dump.name}")


@main_guard
def main(argv=None) -> int:
    args = parse_args(argv)
    if args.status:
        print(f"pinned: Umami {current_ref()} ({IMAGE}, built from that source archive)")
        if args.state_file.exists():
            print(f"last upgrade: {args.state_file.read_text().strip()}")
        return 0
    if args.rollback:
        do_rollback(args)
    else:
        do_upgrade(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
