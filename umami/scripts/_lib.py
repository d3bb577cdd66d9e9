"""Shared helpers of the umami/scripts/*.py operations scripts (stdlib only)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import urllib.parse
from pathlib import Path

UMAMI_DIR = Path(__file__).resolve().parents[1]
REPO_DIR = UMAMI_DIR.parent
DB_NAME = "umami"
DB_USER = "umami"


class Failure(Exception):
    """An error with a message meant for the operator; exit code attached."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def main_guard(main):
    """Run main(argv) and turn Failure into a one-line message and an exit code."""
    def wrapper(argv=None):
        try:
            return main(argv)
        except Failure as exc:
            print(f"error: {exc}", file=sys.stderr)
            return exc.code
        except KeyboardInterrupt:
            print("error: interrupted", file=sys.stderr)
            return 130
    return wrapper


def read_env_file(path: Path) -> dict:
    """Parse a docker-compose style .env file (KEY=VALUE, # comments)."""
    values = {}
    if not path.exists():
        return values
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def compose_files() -> list[Path]:
    """The compose files in use: UMAMI_COMPOSE_FILES (colon-separated), default compose.yaml.
    Add the overrides here when you run them, e.g.
    UMAMI_COMPOSE_FILES=compose.yaml:compose.replica.yaml"""
    raw = os.environ.get("UMAMI_COMPOSE_FILES", "compose.yaml")
    return [p if p.is_absolute() else UMAMI_DIR / p for p in (Path(x) for x in raw.split(":") if x)]


def compose_command() -> list[str]:
    """How to call Docker Compose: UMAMI_COMPOSE (e.g. 'docker-compose'), default 'docker compose'."""
    base = shlex.split(os.environ.get("UMAMI_COMPOSE", "docker compose"))
    files = [arg for f in compose_files() for arg in ("-f", str(f))]
    return [*base, "--project-directory", str(UMAMI_DIR), *files]


class Database:
    """Runs PostgreSQL client tools either inside the `db` container (default) or,
    with a database URL, directly on this machine (used for drills and tests)."""

    def __init__(self, url: str | None = None):
        self.url = url
        self.env = dict(os.environ)
        if url:
            parts = urllib.parse.urlsplit(url)
            if parts.scheme not in {"postgres", "postgresql"} or not parts.hostname:
                raise Failure(f"not a PostgreSQL URL: {redact(url)}", 2)
            self.env.update({
                "PGHOST": parts.hostname,
                "PGPORT": str(parts.port or 5432),
                "PGUSER": urllib.parse.unquote(parts.username or DB_USER),
                "PGDATABASE": parts.path.lstrip("/") or DB_NAME,
            })
            if parts.password is not None:
                self.env["PGPASSWORD"] = urllib.parse.unquote(parts.password)

    def describe(self) -> str:
        return redact(self.url) if self.url else "the `db` container (docker compose exec)"

    def command(self, tool: str, *args: str) -> list[str]:
        if self.url:
            return [tool, *args]
        return [*compose_command(), "exec", "-T", "db", tool, "-U", DB_USER, *args]

    def dbname(self) -> list[str]:
        """Arguments naming the database (pg_restore does not read PGDATABASE)."""
        return ["-d", self.env["PGDATABASE"] if self.url else DB_NAME]

    def run(self, tool: str, *args: str, stdin=None, stdout=None, check=True, text=True, input=None):
        cmd = self.command(tool, *args)
        try:
            result = subprocess.run(cmd, env=self.env, stdin=stdin,
                                    stdout=subprocess.PIPE if stdout is None else stdout,
                                    stderr=subprocess.PIPE, text=text, input=input)
        except FileNotFoundError:
            raise Failure(f"{cmd[0]} not found: install the PostgreSQL client tools or Docker") from None
        if check and result.returncode != 0:
            err = result.stderr if isinstance(result.stderr, str) else result.stderr.decode(errors="replace")
            raise Failure(f"{tool} failed (exit {result.returncode}): {err.strip()}")
        return result


def redact(url: str | None) -> str:
    if not url:
        return ""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
