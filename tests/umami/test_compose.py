"""compose.yaml and its overrides: validated by the real Docker Compose v2 (config,
no engine) and by the official Compose JSON schema, then checked rule by rule."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

import umami_rules as rules
from umami_support import HERE, REPO, TEST_ENV, UMAMI, compose_config, load_script

FILE_SETS = {
    "main": ("compose.yaml",),
    "replica": ("compose.yaml", "compose.replica.yaml"),
    "clickhouse": ("compose.yaml", "compose.clickhouse.yaml"),
}
REQUIRED_MAIN = ["POSTGRES_PASSWORD", "APP_SECRET", "REDIS_PASSWORD", "UMAMI_HOST", "ACME_EMAIL",
                 "RETENTION_DAYS"]


@pytest.fixture(scope="module")
def schema():
    return json.loads((HERE / "vendor" / "compose-spec.json").read_text())


@pytest.fixture(scope="module")
def models(compose_bin, tmp_path_factory):
    env_path = tmp_path_factory.mktemp("env") / "test.env"
    env_path.write_text("".join(f"{k}={v}\n" for k, v in TEST_ENV.items()))
    out = {}
    for name, files in FILE_SETS.items():
        result = compose_config(compose_bin, env_path, *files)
        assert result.returncode == 0, result.stderr
        out[name] = json.loads(result.stdout)
    return out


@pytest.fixture(params=sorted(FILE_SETS))
def model(request, models):
    return copy.deepcopy(models[request.param])


@pytest.fixture()
def main_model(models):
    return copy.deepcopy(models["main"])


def test_real_compose_accepts_every_file_set(model):
    assert {"db", "umami", "redis", "caddy", "retention"} <= set(model["services"])


@pytest.mark.parametrize("name", ["compose.yaml", "compose.replica.yaml", "compose.clickhouse.yaml"])
def test_files_match_official_compose_schema(schema, name):
    doc = yaml.safe_load((UMAMI / name).read_text())
    jsonschema.Draft201909Validator(schema).validate(doc)


def test_schema_catches_a_typo(schema):
    doc = yaml.safe_load((UMAMI / "compose.yaml").read_text())
    doc["services"]["umami"]["helthcheck"] = doc["services"]["umami"].pop("healthcheck")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft201909Validator(schema).validate(doc)


def test_real_compose_rejects_a_typo(compose_bin, env_file, tmp_path):
    broken = (UMAMI / "compose.yaml").read_text().replace("    healthcheck:\n", "    helthcheck:\n", 1)
    (tmp_path / "broken.yaml").write_text(broken)
    result = compose_config(compose_bin, env_file(), str(tmp_path / "broken.yaml"))
    assert result.returncode != 0 and "helthcheck" in result.stderr


@pytest.mark.parametrize("missing", REQUIRED_MAIN)
@pytest.mark.parametrize("how", ["absent", "empty"])
def test_missing_secret_stops_up_with_a_clear_message(compose_bin, env_file, missing, how):
    values = dict(TEST_ENV)
    if how == "absent":
        del values[missing]
    else:
        values[missing] = ""
    result = compose_config(compose_bin, env_file(values), "compose.yaml")
    assert result.returncode != 0
    assert missing in result.stderr and "umami/.env" in result.stderr, result.stderr


@pytest.mark.parametrize("override,var", [("compose.replica.yaml", "REPLICATION_PASSWORD"),
                                          ("compose.clickhouse.yaml", "CLICKHOUSE_PASSWORD")])
def test_override_secrets_are_required_too(compose_bin, env_file, override, var):
    values = {k: v for k, v in TEST_ENV.items() if k != var}
    result = compose_config(compose_bin, env_file(values), "compose.yaml", override)
    assert result.returncode != 0 and var in result.stderr and "umami/.env" in result.stderr


def test_main_file_needs_no_override_secret(compose_bin, env_file):
    values = {k: v for k, v in TEST_ENV.items() if k not in {"REPLICATION_PASSWORD", "CLICKHOUSE_PASSWORD"}}
    assert compose_config(compose_bin, env_file(values), "compose.yaml").returncode == 0


RULES = [rules.rule_pinned_images, rules.rule_database_not_published, rules.rule_networks,
         rules.rule_hardening, rules.rule_privacy_flags]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.__name__)
def test_rule_holds(model, rule):
    assert rule(model) == []


def test_secrets_come_only_from_env(model):
    secrets = {k: v for k, v in TEST_ENV.items() if "PASSWORD" in k or "SECRET" in k}
    assert rules.rule_secrets_from_env(model, secrets) == []


def _break(model, path, value):
    broken = copy.deepcopy(model)
    node = broken
    for key in path[:-1]:
        node = node.setdefault(key, {})
    if value is KeyError:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return broken


MUTATIONS = [
    (rules.rule_pinned_images, ("services", "umami", "image"), "ghcr.io/umami-software/umami:latest"),
    (rules.rule_pinned_images, ("services", "umami", "image"), "legalsite/umami:latest"),
    (rules.rule_pinned_images, ("services", "umami", "build"), KeyError),
    (rules.rule_pinned_images, ("services", "umami", "build", "args", "NODE_IMAGE"), "node:22-bookworm-slim"),
    (rules.rule_pinned_images, ("services", "umami", "pull_policy"), "missing"),
    (rules.rule_pinned_images, ("services", "db", "image"), "postgres"),
    (rules.rule_pinned_images, ("services", "caddy", "image"), "caddy:2.10.2-alpine"),  # tag without digest
    (rules.rule_database_not_published, ("services", "db", "ports"),
     [{"mode": "ingress", "target": 5432, "published": "5432", "protocol": "tcp"}]),
    (rules.rule_database_not_published, ("services", "umami", "network_mode"), "host"),
    (rules.rule_networks, ("networks", "backend", "internal"), False),
    (rules.rule_networks, ("services", "umami", "networks", "edge"), None),
    (rules.rule_hardening, ("services", "db", "read_only"), False),
    (rules.rule_hardening, ("services", "umami", "security_opt"), []),
    (rules.rule_hardening, ("services", "caddy", "cap_drop"), []),
    (rules.rule_hardening, ("services", "umami", "deploy"), KeyError),
    (rules.rule_hardening, ("services", "db", "healthcheck"), KeyError),
    (rules.rule_hardening, ("services", "umami", "depends_on", "db", "condition"), "service_started"),
    (rules.rule_hardening, ("services", "retention", "restart"), "no"),
    (rules.rule_privacy_flags, ("services", "umami", "environment", "DISABLE_TELEMETRY"), KeyError),
    (rules.rule_privacy_flags, ("services", "umami", "environment", "PRIVATE_MODE"), ""),
    (rules.rule_privacy_flags, ("services", "umami", "environment", "DISABLE_UPDATES"), "false"),
    (rules.rule_privacy_flags, ("services", "umami", "environment", "SKIP_LOCATION_HEADERS"), "0"),
    (rules.rule_privacy_flags, ("services", "umami", "environment", "CLOUD_MODE"), "1"),
    (rules.rule_privacy_flags, ("services", "umami", "environment", "TRACKER_SCRIPT_URL"), "https://x.test/s.js"),
    (rules.rule_privacy_flags, ("services", "umami", "environment", "GEOLITE_DB_PATH"), "/app/geo/GeoLite2-City.mmdb"),
    (rules.rule_privacy_flags, ("services", "umami", "environment", "SALT_ROTATION"), KeyError),
]


@pytest.mark.parametrize("rule,path,value", MUTATIONS,
                         ids=[f"{m[0].__name__}:{'.'.join(m[1][1:])}={m[2]!r}" for m in MUTATIONS])
def test_rule_catches_broken_config(main_model, rule, path, value):
    model = main_model
    assert rule(model) == []
    assert rule(_break(model, path, value)) != []


def test_literal_secret_is_caught(main_model):
    model = main_model
    broken = _break(model, ("services", "umami", "environment", "APP_SECRET"), "hunter2")
    assert rules.rule_secrets_from_env(broken, {"APP_SECRET": TEST_ENV["APP_SECRET"]}) != []


def test_client_ip_header_matches_the_proxy(main_model):
    env = rules.env_of(main_model["services"]["umami"])
    header = env["CLIENT_IP_HEADER"].lower()
    caddy = (UMAMI / "Caddyfile").read_text()
    set_lines = re.findall(r"^\s*header_up\s+(\S+)\s+\{remote_host\}\s*$", caddy, re.M)
    assert [h.lower() for h in set_lines] == [header]
    assert re.search(rf"^\s*request_header\s+-{re.escape(header)}\s*$", caddy, re.M | re.I), \
        "an incoming copy of the client address header must be dropped"


def test_tracker_names_are_renamed_and_match_the_site(main_model):
    env = rules.env_of(main_model["services"]["umami"])
    assert env["TRACKER_SCRIPT_NAME"] not in {"script.js", "umami.js"}
    assert env["COLLECT_API_ENDPOINT"] != "/api/send"
    site = REPO / "site.toml"
    if site.exists():  # the site's settings (lead engineer) must point at the same script
        import tomllib
        analytics = tomllib.loads(site.read_text()).get("analytics", {})
        if analytics.get("script_path"):
            assert analytics["script_path"] == "/" + env["TRACKER_SCRIPT_NAME"].lstrip("/")
    assert load_script("provision").DEFAULT_SCRIPT_PATH == "/" + env["TRACKER_SCRIPT_NAME"].lstrip("/")


@pytest.mark.parametrize("age_minutes,healthy", [(None, False), (0, True), (25 * 60, True), (27 * 60, False)])
def test_retention_healthcheck_needs_a_recent_successful_run(main_model, tmp_path, age_minutes, healthy):
    """The compose healthcheck itself, run by sh against an ok file of a given age."""
    test = main_model["services"]["retention"]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    ok = tmp_path / "retention.ok"
    if age_minutes is not None:
        ok.write_text("")
        subprocess.run(["touch", "-d", f"{age_minutes} minutes ago", str(ok)], check=True)
    result = subprocess.run(["sh", "-c", test[1].replace("/tmp/retention.ok", str(ok))], capture_output=True)
    assert (result.returncode == 0) is healthy


def test_retention_service_runs_the_committed_job(main_model):
    model = main_model
    svc = model["services"]["retention"]
    assert svc["entrypoint"][-1] == "/retention/run-daily.sh"
    assert (UMAMI / "retention" / "run-daily.sh").is_file()
    assert rules.env_of(svc)["RETENTION_DAYS"] == TEST_ENV["RETENTION_DAYS"]
    assert rules.env_of(svc)["PGHOST"] == "db"


def test_replica_override_uses_umamis_own_option(models):
    model = models["replica"]
    env = rules.env_of(model["services"]["umami"])
    assert env["DATABASE_REPLICA_URL"].startswith("postgresql://") and "@db-replica:5432/" in env["DATABASE_REPLICA_URL"]
    replica = model["services"]["db-replica"]
    assert replica["image"] == model["services"]["db"]["image"]
    assert model["services"]["umami"]["depends_on"]["db-replica"]["condition"] == "service_healthy"


def test_clickhouse_override_uses_umamis_own_option(models):
    model = models["clickhouse"]
    env = rules.env_of(model["services"]["umami"])
    assert re.match(r"^http://umami:[^@]+@clickhouse:8123/umami$", env["CLICKHOUSE_URL"])
    assert model["services"]["umami"]["depends_on"]["clickhouse"]["condition"] == "service_healthy"
    # PostgreSQL stays: Umami keeps users and websites there in ClickHouse mode.
    assert "DATABASE_URL" in env


def test_env_file_is_ignored_and_example_committed():
    ignored = subprocess.run(["git", "check-ignore", "-q", "umami/.env"], cwd=REPO)
    assert ignored.returncode == 0, "umami/.env must be git-ignored"
    example = subprocess.run(["git", "check-ignore", "-q", "umami/.env.example"], cwd=REPO)
    assert example.returncode == 1, "umami/.env.example must not be ignored"


def _committed_files():
    # The deployment itself; the tests hold deliberately fake values.
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "umami"],
                         cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    return [REPO / f for f in out if (REPO / f).is_file()]


SECRET_KEYS = re.compile(r"^\s*(POSTGRES_PASSWORD|APP_SECRET|REPLICATION_PASSWORD|CLICKHOUSE_PASSWORD|"
                         r"UMAMI_ADMIN_PASSWORD|MAXMIND_LICENSE_KEY)[ \t]*[=:][ \t]*([^\s#]*)", re.M)


def find_secret_literals(path: Path, text: str) -> list[str]:
    found = []
    for key, value in SECRET_KEYS.findall(text):
        value = value.strip("'\"")
        if value and not value.startswith("${") and not value.startswith("<") and "test-only" not in value:
            found.append(f"{path.name}: {key} has a literal value")
    # Credentials in URLs must be interpolated: postgresql://user:${VAR...}@host
    for m in re.finditer(r"\b(postgres(?:ql)?|http)://([^:/@\s]+):([^@\s]+)@", text):
        password = m.group(3)
        if not password.startswith("${") and not password.startswith("<") and not password.startswith("$") \
                and "test" not in password and password not in {"PASSWORD", "password"}:
            found.append(f"{path.name}: URL with a literal password {m.group(0)!r}")
    for m in re.finditer(r"(?<![0-9a-f:])[0-9a-f]{40,}(?![0-9a-f])", text):
        before = text[max(0, m.start() - 7):m.start()]
        if before not in ("sha256:", "SHA256="):  # digests, and umami.lock's UMAMI_SHA256
            found.append(f"{path.name}: long hex string that looks like a key")
    return found


def test_no_secret_literal_in_committed_files():
    problems = []
    for path in _committed_files():
        if path.suffix in {".mmdb", ".dump"} or path.name == "compose-spec.json":
            continue
        problems += find_secret_literals(path, path.read_text(errors="replace"))
    assert problems == []


@pytest.mark.parametrize("text", [
    "APP_SECRET=3f2a9c0e",
    "POSTGRES_PASSWORD: hunter2",
    "DATABASE_URL: postgresql://umami:hunter2@db:5432/umami",
    "key " + "ab" * 32,
])
def test_secret_scan_catches_literals(text):
    assert find_secret_literals(Path("x"), text) != []


def test_redis_is_a_cache_only_umami_reaches(main_model):
    """Umami's Redis (DATA.md, "Redis"): runs the committed redis.conf, keeps nothing on disk
    (no volume, its working directory a tmpfs), needs the password from .env, and shares a
    network with Umami alone."""
    services = main_model["services"]
    redis = services["redis"]
    mounts = {m["target"]: m for m in redis.get("volumes") or []}
    conf = mounts.pop("/usr/local/etc/redis/redis.conf")
    assert conf["source"] == str(UMAMI / "redis" / "redis.conf") and conf.get("read_only") is True
    assert mounts == {} and "/data" in redis["tmpfs"]
    assert redis["command"][-1].startswith("exec redis-server /usr/local/etc/redis/redis.conf ")
    # `$$` is compose's escape: the shell in the container expands the variable, not compose.
    assert '--requirepass "$$REDISCLI_AUTH"' in redis["command"][-1]
    assert rules.env_of(redis)["REDISCLI_AUTH"] == TEST_ENV["REDIS_PASSWORD"]
    url = rules.env_of(services["umami"])["REDIS_URL"]
    assert url == f"redis://:{TEST_ENV['REDIS_PASSWORD']}@redis:6379"
    on_cache = sorted(name for name, svc in services.items() if "cache" in (svc.get("networks") or {}))
    assert on_cache == ["redis", "umami"]
    assert main_model["networks"]["cache"]["internal"] is True
    assert services["umami"]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_redis_conf_writes_nothing_and_is_bounded():
    """The settings DATA.md promises, read from the file both the deployment and the tests run."""
    settings = {}
    for line in (UMAMI / "redis" / "redis.conf").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition(" ")
            settings[key] = value
    assert settings["save"] == '""' and settings["appendonly"] == "no"
    assert settings["maxmemory"] == "64mb" and settings["maxmemory-policy"] == "allkeys-lru"
    assert "requirepass" not in settings and "dir" not in settings  # given per deployment
