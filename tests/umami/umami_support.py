"""Helpers shared by the Umami deployment tests (fixtures live in conftest.py).

Everything runs on loopback: a real PostgreSQL from Debian's package started in a
temporary directory, a real Caddy, the real Docker Compose binary (config only, no
engine) and small stand-in HTTP servers. A missing tool fails the test with the
package to install; nothing is skipped.
"""

from __future__ import annotations

import contextlib
import glob
import http.server
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UMAMI = REPO / "umami"
HERE = Path(__file__).resolve().parent

# Values for a throwaway .env in tests. They are obviously not real secrets.
TEST_ENV = {
    "POSTGRES_PASSWORD": "test-only-db-password",
    "APP_SECRET": "test-only-app-secret",
    "REDIS_PASSWORD": "test-only-redis-password",
    "UMAMI_HOST": "stats.example.org",
    "ACME_EMAIL": "ops@example.org",
    "UMAMI_ADMIN_IPS": "192.0.2.10/32 2001:db8:1::/48",
    "RETENTION_DAYS": "30",
    "REPLICATION_PASSWORD": "test-only-replication-password",
    "CLICKHOUSE_PASSWORD": "test-only-clickhouse-password",
    # Not resolved digests: test values of the right shape (ops record the real ones with
    # scripts/pin_images.py).
    "NODE_IMAGE_DIGEST": "sha256:" + "0" * 64,
    "POSTGRES_IMAGE_DIGEST": "sha256:" + "1" * 64,
    "CADDY_IMAGE_DIGEST": "sha256:" + "2" * 64,
    "CLICKHOUSE_IMAGE_DIGEST": "sha256:" + "3" * 64,
    "REDIS_IMAGE_DIGEST": "sha256:" + "4" * 64,
}


def need(tool: str, hint: str) -> str:
    path = shutil.which(tool)
    if not path:
        pytest.fail(f"{tool} is required for this test but not installed: {hint}", pytrace=False)
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def run_script(name: str, *args: str, env: dict | None = None, cwd: Path | None = None,
               stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run one of umami/scripts/*.py with the test's Python."""
    full_env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"}
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, str(UMAMI / "scripts" / name), *args],
        cwd=cwd or REPO, env=full_env, input=stdin, text=True,
        capture_output=True, timeout=timeout,
    )


def load_script(name: str):
    """Import umami/scripts/<name>.py as a module (for unit-level checks)."""
    path = UMAMI / "scripts" / f"{name}.py"
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(f"umami_script_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module




def compose_config(compose_bin: str, env_path: Path, *files: str, fmt: str = "json") -> subprocess.CompletedProcess:
    args = [compose_bin, "--project-directory", str(UMAMI), "--env-file", str(env_path)]
    for f in files or ("compose.yaml",):
        args += ["-f", str(UMAMI / f)]
    args += ["config", "--format", fmt]
    clean = {"PATH": os.environ["PATH"], "HOME": tempfile.gettempdir(),
             "DOCKER_CONFIG": tempfile.gettempdir()}
    return subprocess.run(args, capture_output=True, text=True, env=clean, timeout=60)



# ------------------------------------------------------------------ PostgreSQL
def _pg_bindir() -> Path:
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    for d in reversed(dirs):
        if (Path(d) / "initdb").exists() and (Path(d) / "pg_ctl").exists():
            return Path(d)
    pytest.fail("PostgreSQL server is required: apt-get install postgresql", pytrace=False)


class Postgres:
    def __init__(self, bindir: Path, root: Path, port: int, as_user: list[str],
                 durable: bool = False):
        """durable=False (the tests): fsync and full-page writes off, for speed; durable=True
        (the load benchmark): PostgreSQL's defaults, which the deployment runs, so a commit
        waits for its WAL flush as it does in production."""
        self.bindir, self.root, self.port, self.as_user = bindir, root, port, as_user
        self.durable = durable
        self.data = root / "data"
        self.sock = root / "sock"
        self.superuser = "postgres"

    def _run(self, *cmd: str, **kw):
        return subprocess.run([*self.as_user, *cmd], check=True, capture_output=True, text=True, **kw)

    def start(self):
        self.sock.mkdir(parents=True, exist_ok=True)
        if self.as_user:
            shutil.chown(self.sock, "postgres", "postgres")
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", self.superuser,
                  "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
        opts = f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.sock}"
        if not self.durable:
            opts += " -c fsync=off -c full_page_writes=off"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", opts, "-w", "-t", "60",
                  "-l", str(self.root / "log"), "start")

    def stop(self):
        subprocess.run([*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                        "-w", "stop"], capture_output=True)

    def env(self, dbname: str, user: str = "umami", password: str = "umami-test") -> dict:
        return {"PGHOST": "127.0.0.1", "PGPORT": str(self.port), "PGUSER": user,
                "PGPASSWORD": password, "PGDATABASE": dbname}

    def url(self, dbname: str, user: str = "umami", password: str = "umami-test") -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{dbname}"

    def psql(self, dbname: str, sql: str, user: str | None = None) -> str:
        out = subprocess.run(
            [str(self.bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-h", "127.0.0.1", "-p", str(self.port), "-U", user or self.superuser, "-d", dbname],
            input=sql, capture_output=True, text=True)
        if out.returncode != 0:  # name the SQL error, not just psql's exit status
            raise RuntimeError(f"psql on {dbname} failed: {out.stderr.strip()}")
        return out.stdout.strip()


# ------------------------------------------------------------ stand-in servers
class Recorder(http.server.BaseHTTPRequestHandler):
    """Upstream that records every request's headers and answers 200."""
    records: list = []

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        type(self).records.append({"method": self.command, "path": self.path,
                                   "headers": {k.lower(): v for k, v in self.headers.items()},
                                   "body": body.decode("utf-8", "replace")})
        payload = json.dumps({"ok": True}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_HEAD = _handle

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(handler_cls, host: str = "127.0.0.1"):
    server = http.server.ThreadingHTTPServer((host, 0), handler_cls)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
