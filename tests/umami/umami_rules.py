"""Deployment rules, as functions over the model `docker compose config --format json`
prints. Each returns a list of violations (empty = rule holds), so a test can both
check the real files and prove the rule catches a broken copy."""

from __future__ import annotations

import re

# Umami reads these as booleans: any non-empty value means "on" (verified in Umami's
# source, e.g. `if (!process.env.DISABLE_BOT_CHECK && isbot(...))`).
PRIVACY_FLAGS_ON = ("DISABLE_TELEMETRY", "DISABLE_UPDATES", "PRIVATE_MODE", "SKIP_LOCATION_HEADERS")
BOOLEAN_FLAGS = PRIVACY_FLAGS_ON + ("REMOVE_TRAILING_SLASH", "DISABLE_BOT_CHECK", "DISABLE_LOGIN",
                                    "CLOUD_MODE", "ENABLE_TEST_CONSOLE", "FORCE_SSL")
# Never set: each sends data to or loads code from someone else, or switches
# off a protection.
FORBIDDEN_ENV = {
    "CLOUD_MODE": "loads the tracker from Umami's cloud",
    "CLOUD_URL": "points the app at Umami's cloud",
    "TRACKER_SCRIPT_URL": "serves the tracker from another URL",
    "COLLECT_API_HOST": "sends collected data to another host",
    "GEO_DATABASE_URL": "downloads a (city) geo database from the internet",
    "FAVICON_URL": "loads website icons from a third party",
    "DISABLE_BOT_CHECK": "counts bots",
}
FALSE_LOOKING = {"0", "false", "no", "off", "n", "f", "disabled", "none", "null"}
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def services(model: dict) -> dict:
    return model.get("services", {})


def env_of(svc: dict) -> dict:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return env


def rule_pinned_images(model: dict) -> list[str]:
    bad = []
    for name, svc in services(model).items():
        image = svc.get("image", "")
        ref = image.split("@", 1)[0]
        last = ref.rsplit("/", 1)[-1]
        if ":" not in last:
            bad.append(f"{name}: image {image!r} has no tag")
            continue
        tag = last.split(":", 1)[1]
        if tag == "latest" or "latest" in tag:
            bad.append(f"{name}: image {image!r} uses a floating 'latest' tag")
        if not re.match(r"^\d+(\.\d+)*(-[a-z0-9.]+)?$", tag):
            bad.append(f"{name}: image tag {tag!r} is not a version")
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", image.split("@", 1)[1] if "@" in image else "") \
                and "build" not in svc:
            bad.append(f"{name}: image {image!r} is not pinned by digest (scripts/pin_images.py)")
    umami = services(model).get("umami", {})
    if not re.fullmatch(r"legalsite/umami:\d+\.\d+\.\d+", umami.get("image", "")):
        bad.append(f"umami: image {umami.get('image')!r} is not legalsite/umami:<exact version>, "
                   "the image built here from the pinned source (Dockerfile)")
    build = umami.get("build") or {}
    if not build or build.get("context", "").rstrip("/").split("/")[-1] != "umami":
        bad.append("umami: not built from umami/Dockerfile (deploy what the suite tests)")
    base = (build.get("args") or {}).get("NODE_IMAGE", "")
    if not re.fullmatch(r"node:\d+\.\d+\.\d+-[a-z]+-slim@sha256:[0-9a-f]{64}", base):
        bad.append(f"umami: base image {base!r} is not pinned by exact Node version and digest")
    if umami.get("pull_policy") != "build":
        bad.append("umami: pull_policy is not build: compose could pull an image nobody tested")
    return bad


def rule_database_not_published(model: dict) -> list[str]:
    bad = []
    for name, svc in services(model).items():
        if svc.get("network_mode") == "host":
            bad.append(f"{name}: network_mode host bypasses the internal network")
        ports = svc.get("ports") or []
        if name != "caddy" and ports:
            bad.append(f"{name}: publishes ports {ports}; only the proxy may")
        for p in ports:
            target = str(p.get("target") if isinstance(p, dict) else p)
            if target.split(":")[-1].split("/")[0] in {"5432", "3000", "6379", "8123", "9000"}:
                bad.append(f"{name}: publishes an internal port {p}")
    return bad


def rule_networks(model: dict) -> list[str]:
    bad = []
    nets = model.get("networks", {})
    internal = {n for n, cfg in nets.items() if (cfg or {}).get("internal") is True}
    if not internal:
        bad.append("no internal network defined")
    for name, svc in services(model).items():
        attached = set((svc.get("networks") or {}).keys()) or {"default"}
        outside = attached - internal
        if name == "caddy":
            if not outside:
                bad.append("caddy: not attached to any network that faces out")
            if not attached & internal:
                bad.append("caddy: cannot reach the internal network")
        elif outside:
            bad.append(f"{name}: attached to non-internal network(s) {sorted(outside)}; it would have a route out")
    return bad


def rule_hardening(model: dict) -> list[str]:
    bad = []
    for name, svc in services(model).items():
        if svc.get("restart") not in {"unless-stopped", "always"}:
            bad.append(f"{name}: no restart policy")
        if "no-new-privileges:true" not in (svc.get("security_opt") or []):
            bad.append(f"{name}: no-new-privileges not set")
        if "ALL" not in (svc.get("cap_drop") or []):
            bad.append(f"{name}: capabilities not dropped")
        if svc.get("privileged"):
            bad.append(f"{name}: privileged")
        limit = (((svc.get("deploy") or {}).get("resources") or {}).get("limits") or {}).get("memory")
        if not limit and not svc.get("mem_limit"):
            bad.append(f"{name}: no memory limit")
        if svc.get("read_only") is not True and not (model.get("x-read-only-exceptions") or {}).get(name):
            bad.append(f"{name}: root filesystem writable without a documented reason")
        if not svc.get("healthcheck") or svc["healthcheck"].get("disable"):
            bad.append(f"{name}: no healthcheck")
    for name, svc in services(model).items():
        for dep, cond in (svc.get("depends_on") or {}).items():
            if cond.get("condition") != "service_healthy":
                bad.append(f"{name}: depends on {dep} without waiting for it to be healthy")
    return bad


def rule_privacy_flags(model: dict) -> list[str]:
    bad = []
    env = env_of(services(model).get("umami", {}))
    for flag in PRIVACY_FLAGS_ON:
        value = env.get(flag)
        if value is None or str(value).strip() == "":
            bad.append(f"umami: {flag} missing or empty")
    for flag in BOOLEAN_FLAGS:
        value = env.get(flag)
        if value is not None and str(value).strip().lower() in FALSE_LOOKING:
            bad.append(f"umami: {flag}={value!r} looks false but Umami reads any non-empty value as on")
    for name, svc in services(model).items():
        for key, why in FORBIDDEN_ENV.items():
            if key in env_of(svc):
                bad.append(f"{name}: {key} must never be set ({why})")
    geo = env.get("GEOLITE_DB_PATH", "")
    if "country" not in geo.lower():
        bad.append(f"umami: GEOLITE_DB_PATH {geo!r} is not a country-only database")
    mounts = services(model).get("umami", {}).get("volumes") or []
    covering = [m for m in mounts if geo.startswith(m.get("target", "") + "/")]
    if not covering or not all(m.get("read_only") for m in covering):
        bad.append("umami: the geo database is not mounted read-only")
    if env.get("SALT_ROTATION") not in {"day", "week", "month"}:
        bad.append("umami: SALT_ROTATION not set to day/week/month")
    return bad


def rule_secrets_from_env(model: dict, secret_values: dict) -> list[str]:
    """Every secret in the rendered model must come from the .env values."""
    bad = []
    for name, svc in services(model).items():
        for key, value in env_of(svc).items():
            if re.search(r"PASSWORD|SECRET|KEY", key) and value:
                if not any(v and v in str(value) for v in secret_values.values()):
                    bad.append(f"{name}: {key} is a literal, not taken from .env")
            if key.endswith("_URL") and value and "@" in str(value):
                if not any(v and v in str(value) for v in secret_values.values()):
                    bad.append(f"{name}: {key} embeds a literal password")
    return bad
