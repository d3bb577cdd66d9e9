"""Every image of every compose file is pinned by tag and digest; the digests are settings
(umami/.env) that compose refuses to run without and that ops record with
umami/scripts/pin_images.py where the registry is reachable (it cannot be reached here)."""

from __future__ import annotations

import hashlib
import json

import pytest

from umami_support import TEST_ENV, UMAMI, compose_config, run_script

FILE_SETS = {"compose.yaml": ("compose.yaml",),
             "compose.replica.yaml": ("compose.yaml", "compose.replica.yaml"),
             "compose.clickhouse.yaml": ("compose.yaml", "compose.clickhouse.yaml")}
IMAGES = {"NODE_IMAGE_DIGEST": "node:22.23.3-bookworm-slim",
          "POSTGRES_IMAGE_DIGEST": "postgres:17-alpine",
          "CADDY_IMAGE_DIGEST": "caddy:2.10.2-alpine",
          "REDIS_IMAGE_DIGEST": "redis:7.0.15-alpine",
          "CLICKHOUSE_IMAGE_DIGEST": "clickhouse/clickhouse-server:24.3.3.102-alpine"}


def fake_digest(image: str) -> str:
    return "sha256:" + hashlib.sha256(image.encode()).hexdigest()


@pytest.fixture
def fake_docker(tmp_path) -> dict:
    """A `docker` on PATH answering each image's digest (a made-up one per image name)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    table = "\n".join(f'  "{image}") d={fake_digest(image)} ;;' for image in IMAGES.values())
    (bindir / "docker").write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {tmp_path}/calls\n'
        f'case "$4" in\n{table}\n  *) echo "no such image $4" >&2; exit 1 ;;\nesac\n'
        'printf \'{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "%s"}\' "$d"\n')
    (bindir / "docker").chmod(0o755)
    return {"PATH": f"{bindir}:/usr/bin:/bin"}


@pytest.mark.parametrize("name", sorted(FILE_SETS))
def test_every_image_is_pinned_by_tag_and_digest(compose_bin, env_file, name):
    result = compose_config(compose_bin, env_file(), *FILE_SETS[name])
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    for service_name, service in services.items():
        image = service["image"]
        if "build" in service:  # built here from pinned inputs: the source's sha256 and the base image by digest
            assert service["pull_policy"] == "build", service_name
            image = service["build"]["args"]["NODE_IMAGE"]
        key = next(k for k, v in IMAGES.items() if image.startswith(v + "@"))
        assert image == f"{IMAGES[key]}@{TEST_ENV[key]}", service_name


@pytest.mark.parametrize("key", ["POSTGRES_IMAGE_DIGEST", "CADDY_IMAGE_DIGEST", "REDIS_IMAGE_DIGEST",
                                 "CLICKHOUSE_IMAGE_DIGEST"])
def test_compose_refuses_to_run_without_a_recorded_digest(compose_bin, env_file, key):
    values = {k: v for k, v in TEST_ENV.items() if k != key}
    files = FILE_SETS["compose.clickhouse.yaml" if key.startswith("CLICKHOUSE") else "compose.yaml"]
    result = compose_config(compose_bin, env_file(values), *files)
    what = key.removesuffix("_IMAGE_DIGEST").lower()
    assert result.returncode != 0
    assert (f"the {what} image digest is not recorded in umami/.env; run scripts/pin_images.py "
            "where the registry is reachable") in result.stderr


def test_pin_images_finds_every_pinned_image_in_the_compose_files():
    text = "".join(p.read_text() for p in sorted(UMAMI.glob("compose*.yaml")))
    result = run_script("pin_images.py", "--print", env={"PATH": "/nonexistent"})
    assert result.returncode == 1  # no docker here; the images it would ask for are below
    from umami_support import load_script

    assert load_script("pin_images").pinned_images() == IMAGES
    # db, retention, redis, caddy, the Node base, the replica, ClickHouse
    assert text.count("_DIGEST:?") == 7


def test_pin_images_records_every_resolved_digest(tmp_path, fake_docker):
    env_file = tmp_path / ".env"
    env_file.write_text("APP_SECRET=x\nPOSTGRES_IMAGE_DIGEST=sha256:" + "9" * 64 + "\n")
    result = run_script("pin_images.py", "--env-file", str(env_file), env=fake_docker)
    assert result.returncode == 0, result.stderr
    lines = env_file.read_text().splitlines()
    assert lines[0] == "APP_SECRET=x"
    assert sorted(lines[1:]) == sorted(f"{key}={fake_digest(image)}" for key, image in IMAGES.items())
    calls = (tmp_path / "calls").read_text().splitlines()
    assert sorted(calls) == sorted(f"buildx imagetools inspect {image} --format {{{{json .Manifest}}}}"
                                   for image in IMAGES.values())


def test_pin_images_only_and_print(tmp_path, fake_docker):
    result = run_script("pin_images.py", "--print", "--only", "CADDY_IMAGE_DIGEST", env=fake_docker)
    assert (result.returncode, result.stdout) == (
        0, f"CADDY_IMAGE_DIGEST={fake_digest('caddy:2.10.2-alpine')}  # caddy:2.10.2-alpine\n")
    result = run_script("pin_images.py", "--print", "--only", "MYSQL_IMAGE_DIGEST", env=fake_docker)
    assert result.returncode == 2 and "unknown setting MYSQL_IMAGE_DIGEST" in result.stderr


def test_pin_images_writes_nothing_when_one_image_fails(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "docker").write_text('#!/bin/sh\ncase "$4" in caddy*) echo "unauthorized" >&2; exit 1;; esac\n'
                                   'printf \'{"digest": "sha256:%s"}\' ' + "a" * 64 + "\n")
    (bindir / "docker").chmod(0o755)
    env_file = tmp_path / ".env"
    env_file.write_text("APP_SECRET=x\n")
    result = run_script("pin_images.py", "--env-file", str(env_file), env={"PATH": f"{bindir}:/usr/bin:/bin"})
    assert result.returncode == 1 and "could not inspect caddy:2.10.2-alpine: unauthorized" in result.stderr
    assert env_file.read_text() == "APP_SECRET=x\n"
