#!/usr/bin/env python3
"""Fetch or refresh the country-only geo database Umami resolves visitor countries with.

  geoip.py fetch [--source maxmind|dbip] [--out umami/geo/GeoLite2-Country.mmdb]
  geoip.py check FILE

Umami reads the file named by GEOLITE_DB_PATH (compose.yaml) and keeps it open, so
restart Umami after a refresh (--restart does it). Without any database, pageviews
from public addresses fail and are lost, so the first fetch comes before `up`.

Every file is checked before it replaces the current one: it must be a MaxMind DB
(MMDB) whose metadata says it is a country database, never a city one (a city
database would make Umami store region and city, which the policy does not name).

Sources (the machine running this needs outbound HTTPS; the Umami container does not):
  maxmind  GeoLite2-Country; needs MAXMIND_ACCOUNT_ID and MAXMIND_LICENSE_KEY
           (environment or umami/.env); licence: GeoLite2 EULA.
  dbip     DB-IP "IP to Country Lite", no account; licence CC BY 4.0 (attribution).

Exit codes: 0 done, 1 download or check failed (the current file is kept), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import gzip
import io
import ipaddress
import os
import struct
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _lib import UMAMI_DIR, Failure, compose_command, main_guard, read_env_file  # noqa: E402

DEFAULT_OUT = UMAMI_DIR / "geo" / "GeoLite2-Country.mmdb"
MAXMIND_URL = "https://download.maxmind.com/geoip/databases/GeoLite2-Country/download?suffix=tar.gz"
DBIP_URL = "https://download.db-ip.com/free/dbip-country-lite-{year:04d}-{month:02d}.mmdb.gz"
METADATA_MARKER = b"\xab\xcd\xefMaxMind.com"
MAX_SIZE = 200 * 1024 * 1024


# ------------------------------------------------------------- MMDB metadata

class _Reader:
    """Decoder for the MMDB data section format (enough for the metadata map)."""

    def __init__(self, buf: bytes, pos: int):
        self.buf, self.pos = buf, pos

    def _take(self, n: int) -> bytes:
        if self.pos + n > len(self.buf):
            raise ValueError("metadata is truncated")
        chunk = self.buf[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def value(self, depth: int = 0):
        if depth > 32:
            raise ValueError("metadata nests too deep")
        ctrl = self._take(1)[0]
        kind = ctrl >> 5
        if kind == 0:
            kind = 7 + self._take(1)[0]
        if kind == 1:
            raise ValueError("pointers are not expected in metadata")
        size = ctrl & 0x1F
        if size == 29:
            size = 29 + self._take(1)[0]
        elif size == 30:
            size = 285 + int.from_bytes(self._take(2), "big")
        elif size == 31:
            size = 65821 + int.from_bytes(self._take(3), "big")
        if kind == 2:
            return self._take(size).decode("utf-8")
        if kind == 3:
            return struct.unpack(">d", self._take(8))[0]
        if kind == 4:
            return self._take(size)
        if kind in (5, 6, 9, 10):
            return int.from_bytes(self._take(size), "big")
        if kind == 8:
            return int.from_bytes(self._take(size).rjust(4, b"\0"), "big", signed=True)
        if kind == 7:
            return {self.value(depth + 1): self.value(depth + 1) for _ in range(size)}
        if kind == 11:
            return [self.value(depth + 1) for _ in range(size)]
        if kind == 14:
            return bool(size)
        if kind == 15:
            return struct.unpack(">f", self._take(4))[0]
        raise ValueError(f"unknown MMDB data type {kind}")


def read_metadata(data: bytes) -> dict:
    at = data.rfind(METADATA_MARKER)
    if at < 0:
        raise Failure("not a MaxMind DB file (no metadata marker)")
    try:
        meta = _Reader(data, at + len(METADATA_MARKER)).value()
    except (ValueError, UnicodeDecodeError) as exc:
        raise Failure(f"MaxMind DB metadata unreadable: {exc}") from None
    if not isinstance(meta, dict):
        raise Failure("MaxMind DB metadata is not a map")
    return meta


def check_database(data: bytes, max_age_days: int = 120) -> dict:
    meta = read_metadata(data)
    db_type = str(meta.get("database_type", ""))
    if meta.get("binary_format_major_version") != 2:
        raise Failure(f"unsupported MaxMind DB format version {meta.get('binary_format_major_version')!r}")
    if "city" in db_type.lower():
        raise Failure(f"{db_type!r} is a city database; Umami would store region and city. "
                      "Use a country-only database")
    if "country" not in db_type.lower():
        raise Failure(f"{db_type!r} is not a country database")
    if not isinstance(meta.get("node_count"), int) or meta["node_count"] < 1:
        raise Failure("the database has no search tree")
    built = meta.get("build_epoch")
    if isinstance(built, int):
        age = (time.time() - built) / 86400
        meta["age_days"] = int(age)
        if age > max_age_days:
            raise Failure(f"the database was built {int(age)} days ago; refusing a file older than {max_age_days} days")
    return meta


# ----------------------------------------------------------------- download

def _allowed(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https":
        return
    host = parts.hostname or ""
    loopback = host == "localhost"
    try:
        loopback = loopback or ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    if not (parts.scheme == "http" and loopback):
        raise Failure(f"refusing to download over {parts.scheme or 'no scheme'}: {url}", 2)


def download(url: str, auth: tuple[str, str] | None, timeout: float) -> bytes:
    _allowed(url)
    req = urllib.request.Request(url, headers={"User-Agent": "umami-geoip-refresh"})
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            data = resp.read(MAX_SIZE + 1)
    except urllib.error.HTTPError as exc:
        hint = " (check MAXMIND_ACCOUNT_ID / MAXMIND_LICENSE_KEY)" if exc.code in (401, 403) and auth else ""
        raise Failure(f"download failed: HTTP {exc.code} from {urllib.parse.urlsplit(url).netloc}{hint}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise Failure(f"download failed: {getattr(exc, 'reason', exc)}") from None
    if len(data) > MAX_SIZE:
        raise Failure("download is larger than 200 MB; refusing it")
    return data


def unpack(data: bytes) -> bytes:
    """Accept a plain .mmdb, a .mmdb.gz or a .tar.gz holding one *Country*.mmdb."""
    if data[:2] == b"\x1f\x8b":
        try:
            inner = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise Failure(f"broken gzip data: {exc}") from None
        if len(inner) > 262 and inner[257:262] == b"ustar":
            with tarfile.open(fileobj=io.BytesIO(inner)) as tar:
                members = [m for m in tar.getmembers() if m.isfile() and m.name.endswith(".mmdb")]
                if len(members) != 1:
                    raise Failure(f"expected one .mmdb in the archive, found {len(members)}")
                return tar.extractfile(members[0]).read()
        return inner
    return data


def install(db: bytes, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(db)
    os.chmod(tmp, 0o644)  # read by the container's unprivileged user
    tmp.replace(out)


def default_url(source: str, today: dt.date) -> str:
    if source == "maxmind":
        return MAXMIND_URL
    return DBIP_URL.format(year=today.year, month=today.month)


def previous_month(today: dt.date) -> dt.date:
    return (today.replace(day=1) - dt.timedelta(days=1))


def parse_args(argv):
    p = argparse.ArgumentParser(description="Fetch/refresh or check the country-only geo database for Umami.")
    sub = p.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fetch", help="download, check and install the database")
    f.add_argument("--source", choices=["maxmind", "dbip"], default="maxmind",
                   help="where from (default: maxmind, needs MAXMIND_ACCOUNT_ID and MAXMIND_LICENSE_KEY)")
    f.add_argument("--url", help="download from this URL instead of the source's default")
    f.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"where to install it (default: {DEFAULT_OUT})")
    f.add_argument("--env-file", type=Path, default=UMAMI_DIR / ".env", help="where MaxMind credentials are read from")
    f.add_argument("--max-age-days", type=int, default=120, help="refuse databases older than this (default: 120)")
    f.add_argument("--timeout", type=float, default=120.0)
    f.add_argument("--restart", action="store_true", help="restart the umami service afterwards (docker compose)")
    c = sub.add_parser("check", help="check a database file and print its metadata")
    c.add_argument("file", type=Path)
    c.add_argument("--max-age-days", type=int, default=120)
    return p.parse_args(argv)


@main_guard
def main(argv=None) -> int:
    args = parse_args(argv)
    if args.command == "check":
        if not args.file.is_file():
            raise Failure(f"no such file: {args.file}", 2)
        meta = check_database(args.file.read_bytes(), args.max_age_days)
        print(f"ok: {args.file} is {meta.get('database_type')} ({meta.get('age_days', '?')} days old)")
        return 0

    auth = None
    if args.source == "maxmind":
        env = read_env_file(args.env_file)
        account = os.environ.get("MAXMIND_ACCOUNT_ID") or env.get("MAXMIND_ACCOUNT_ID")
        key = os.environ.get("MAXMIND_LICENSE_KEY") or env.get("MAXMIND_LICENSE_KEY")
        if not account or not key:
            raise Failure("MAXMIND_ACCOUNT_ID and MAXMIND_LICENSE_KEY are needed for --source maxmind "
                          "(or use --source dbip)", 2)
        auth = (account, key)
    today = dt.date.today()
    url = args.url or default_url(args.source, today)
    try:
        data = download(url, auth, args.timeout)
    except Failure:
        if args.url or args.source != "dbip":
            raise
        # DB-IP publishes a month's file during that month; early in a month use the last one.
        data = download(default_url("dbip", previous_month(today)), None, args.timeout)
    db = unpack(data)
    meta = check_database(db, args.max_age_days)
    install(db, args.out)
    print(f"installed {args.out}: {meta.get('database_type')} ({len(db)} bytes, "
          f"{meta.get('age_days', '?')} days old)")
    if args.restart:
        result = subprocess.run([*compose_command(), "restart", "umami"], capture_output=True, text=True)
        if result.returncode != 0:
            raise Failure(f"restarting umami failed: {result.stderr.strip()}")
        print("restarted umami; it now reads the new database")
    else:
        print("restart Umami to load it: docker compose restart umami")
    return 0


if __name__ == "__main__":
    sys.exit(main())
