"""Bring the whole real deployment up for a test session, and down again, in order.

Order matters: the build (cached) and the visitor namespace first, then the database with
Umami's migrations, the country database, Umami, and Caddy in front of it. Whatever was started
is stopped even when a later step fails.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from . import geo, netns
from .build import built_umami, toolchain
from .harness import RealUmami, deployed_umami_env, prepare_app
from .processes import free_port
from .source import SetupError
from real_schema import SchemaError, apply_schema  # tests/umami/real_schema.py

DATABASE = "umami_real"


@contextlib.contextmanager
def real_umami_session(postgres, work: Path):
    """Yield a started RealUmami on a new database of the suite's `postgres`, with Umami's own
    migrations from the verified archive (tests/umami/real_schema.py)."""
    lock, archive, build = built_umami()
    node = toolchain(lock) / "node"
    with contextlib.ExitStack() as stack:
        ns = netns.create()
        stack.callback(netns.delete, ns)
        postgres.psql("postgres", f"CREATE DATABASE {DATABASE} OWNER umami;")
        stack.callback(postgres.psql, "postgres", f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE);")
        try:
            apply_schema(postgres.url(DATABASE), archive, psql=str(postgres.bindir / "psql"))
        except SchemaError as exc:
            raise SetupError(str(exc)) from None
        umami = RealUmami(
            lock=lock, source=archive, build=build, app=prepare_app(build, work), ns=ns,
            postgres=postgres, database=DATABASE, work=work, website_id="",
            geo_db=geo.write(work / "geo" / "GeoLite2-Country.mmdb"),
            umami_port=free_port(), caddy_port=free_port(), caddy_admin_port=free_port(),
            base_env=deployed_umami_env(), build_node=node)
        umami.website_id = umami.add_website()
        stack.callback(umami.stop)
        umami.start_umami()
        umami.start_caddy()
        yield umami
