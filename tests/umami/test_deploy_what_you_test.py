"""The deployment runs the Umami the suite builds and tests: compose.yaml builds its image with
umami/Dockerfile from the same lock and build script; the versions cannot drift apart; the base
image is pinned by a digest ops resolved, and compose refuses to build without one."""

from __future__ import annotations

import json
import subprocess

import pytest

from real.source import read_lock
from umami_support import TEST_ENV, UMAMI, compose_config, run_script

LOCK = read_lock()


@pytest.fixture(scope="module")
def umami_service(compose_bin, tmp_path_factory):
    env = tmp_path_factory.mktemp("env") / "test.env"
    env.write_text("".join(f"{k}={v}\n" for k, v in TEST_ENV.items()))
    result = compose_config(compose_bin, env, "compose.yaml")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["services"]["umami"]


def test_compose_builds_the_locked_version_with_the_locked_node(umami_service):
    assert umami_service["image"] == f"legalsite/umami:{LOCK.version}"
    assert (umami_service["build"]["context"], umami_service["build"]["dockerfile"]) == (str(UMAMI), "Dockerfile")
    assert umami_service["build"]["args"] == {
        "NODE_IMAGE": f"node:{LOCK.node}-bookworm-slim@{TEST_ENV['NODE_IMAGE_DIGEST']}"}
    assert umami_service["pull_policy"] == "build"


def test_the_dockerfile_builds_and_starts_umami_as_the_suite_does():
    text = (UMAMI / "Dockerfile").read_text()
    for step in ("COPY umami.lock umami/umami.lock", "COPY build/build.sh umami/build/build.sh",
                 "COPY guard/ umami/guard/",
                 'npm install -g "pnpm@$PNPM_VERSION"', "bash umami/build/build.sh umami-source.tar.gz /app",
                 "COPY --chown=root:root build/migrate.py /usr/local/bin/umami-migrate",
                 "COPY --chown=root:root run/workers.mjs /usr/local/lib/umami-workers.mjs",
                 'CMD ["sh", "-c", "umami-migrate prisma/migrations && node scripts/update-tracker.js '
                 '&& exec node /usr/local/lib/umami-workers.mjs"]'):
        assert step in text, step


def test_the_suite_starts_umami_as_the_image_does(real_umami, umami_service):
    """Same start file (run/workers.mjs), same image settings (HOSTNAME decides whether Next.js
    routes the collect rewrite inside the process or proxies it back to itself: harness.image_env),
    same number of workers as compose.yaml sets."""
    from real.harness import WORKERS, image_env

    assert image_env() == {"NODE_ENV": "production", "NEXT_TELEMETRY_DISABLED": "1",
                           "HOSTNAME": "0.0.0.0", "PORT": "3000"}
    env = real_umami.umami_env()
    assert {k: env[k] for k in ("NODE_ENV", "NEXT_TELEMETRY_DISABLED", "HOSTNAME")} == {
        "NODE_ENV": "production", "NEXT_TELEMETRY_DISABLED": "1", "HOSTNAME": "0.0.0.0"}
    assert env["UMAMI_WORKERS"] == umami_service["environment"]["UMAMI_WORKERS"] == "2"
    assert real_umami.umami.argv[1:] == [str(WORKERS)]


def test_compose_refuses_to_build_without_a_recorded_base_image_digest(compose_bin, env_file):
    values = {k: v for k, v in TEST_ENV.items() if k != "NODE_IMAGE_DIGEST"}
    result = compose_config(compose_bin, env_file(values), "compose.yaml")
    assert result.returncode != 0
    assert ("the base image digest is not recorded in umami/.env; run scripts/pin_base_image.py "
            "where the registry is reachable") in result.stderr


def test_the_tested_build_is_the_deployed_version(real_umami, umami_service):
    """What the suite ran is what compose deploys: fails when either moves alone."""
    built = json.loads((real_umami.build / "package.json").read_text())["version"]
    assert f"legalsite/umami:{built}" == umami_service["image"]
    assert (real_umami.build / "UMAMI_SOURCE").read_text() == f"{LOCK.version} {LOCK.sha256}\n"


def test_the_image_and_the_fast_tests_migrate_from_the_same_files(postgres, real_umami):
    """migrate.py migrates both: real_umami from the build's prisma/migrations (what the image
    ships), the fast tests' template from the source archive (real_schema.py); both record the
    same migrations with the same checksums."""
    query = "SELECT migration_name || ' ' || checksum FROM _prisma_migrations ORDER BY 1"
    assert real_umami.psql(query) == postgres.psql("umami_template", query)
    assert len(real_umami.psql(query).splitlines()) == 19


# ---------------------------------------------------------------- pin_base_image.py
def fake_docker(tmp_path, output: str, code: int = 0) -> dict:
    """A `docker` on PATH printing `output` (no registry can be reached here)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "docker").write_text(f"#!/bin/sh\necho \"$*\" > {tmp_path}/args\nprintf '%s' '{output}'\nexit {code}\n")
    (bindir / "docker").chmod(0o755)
    return {"PATH": f"{bindir}:/usr/bin:/bin"}


def test_pin_base_image_records_the_resolved_digest(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("APP_SECRET=x\nNODE_IMAGE_DIGEST=sha256:" + "1" * 64 + "\n")
    digest = "sha256:" + "ab" * 32
    result = run_script("pin_base_image.py", "--env-file", str(env_file),
                        env=fake_docker(tmp_path, json.dumps({"digest": digest})))
    assert result.returncode == 0, result.stderr
    assert env_file.read_text() == f"APP_SECRET=x\nNODE_IMAGE_DIGEST={digest}\n"
    assert (tmp_path / "args").read_text() == (f"buildx imagetools inspect node:{LOCK.node}-bookworm-slim "
                                               "--format {{json .Manifest}}\n")


@pytest.mark.parametrize("output,code,message", [
    ("{}", 0, "gave no sha256 digest"),
    ("", 1, "could not inspect"),
])
def test_pin_base_image_refuses_what_it_did_not_resolve(tmp_path, output, code, message):
    env_file = tmp_path / ".env"
    env_file.write_text("APP_SECRET=x\n")
    result = run_script("pin_base_image.py", "--env-file", str(env_file), env=fake_docker(tmp_path, output, code))
    assert result.returncode == 1 and message in result.stderr
    assert env_file.read_text() == "APP_SECRET=x\n"


def test_pin_base_image_without_docker_says_where_to_run_it(tmp_path):
    result = run_script("pin_base_image.py", "--env-file", str(tmp_path / ".env"), env={"PATH": "/nonexistent"})
    assert (result.returncode, result.stderr) == (
        1, "error: docker is not installed here; run this where Docker and the registry are reachable\n")


def test_the_tested_caddy_is_the_deployed_caddy(compose_bin, env_file):
    """real_umami runs umami/Caddyfile on Caddy at the version compose.yaml deploys."""
    from real.harness import CADDY

    result = compose_config(compose_bin, env_file(), "compose.yaml")
    deployed = json.loads(result.stdout)["services"]["caddy"]["image"]
    tested = subprocess.run([str(CADDY), "version"], capture_output=True, text=True, check=True).stdout
    assert deployed == f"caddy:{tested.split()[0].removeprefix('v')}-alpine@{TEST_ENV['CADDY_IMAGE_DIGEST']}" \
        == f"caddy:2.10.2-alpine@{TEST_ENV['CADDY_IMAGE_DIGEST']}"
