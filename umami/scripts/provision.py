#!/usr/bin/env python3
"""Create the site's website in Umami (if absent) and print its id and the
settings snippet for site.toml.

Refuses to continue while Umami's first-start account (admin / umami) still logs
in, unless --replace-default-password is given: then it changes that account's password to
UMAMI_ADMIN_PASSWORD through Umami's API first and checks the default no longer works, so the
password provisioning leaves is never Umami's default. Logs in through Umami's API
(POST /api/auth/login), lists the websites (GET /api/websites, paged) and creates one (POST /api/websites) only when none has
the site's domain, so running it twice is safe.

Credentials come from the environment, never from the command line:
  UMAMI_ADMIN_USER      dashboard user (default: admin)
  UMAMI_ADMIN_PASSWORD  its password (the changed one)
umami/.env is read for them when they are not set.

Exit codes: 0 done, 1 Umami answered with an error or could not be reached,
2 bad arguments or settings, 3 the default password still works.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import sys
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _lib import REPO_DIR, UMAMI_DIR, Failure, main_guard, read_env_file  # noqa: E402

sys.path.insert(0, str(REPO_DIR))
from legalsite.tracker_tag import tracker_tags  # noqa: E402  (standard library only)

DEFAULT_SCRIPT_PATH = "/s.js"  # TRACKER_SCRIPT_NAME in compose.yaml
DEFAULT_USER, DEFAULT_PASSWORD = "admin", "umami"  # Umami's first-start account
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
PAGE_SIZE = 100
MIN_PASSWORD = 12  # for a password this script sets (--replace-default-password)


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Create the site's website in Umami if absent; print its id and the "
                    "[analytics] snippet for site.toml.",
        epilog="Credentials: UMAMI_ADMIN_USER / UMAMI_ADMIN_PASSWORD (environment or umami/.env).")
    p.add_argument("--site-config", type=Path, default=REPO_DIR / "site.toml",
                   help="site settings with an [analytics] table (default: site.toml at the repository root)")
    p.add_argument("--url", help="Umami origin, e.g. https://stats.example.org (default: [analytics].origin)")
    p.add_argument("--domain", action="append", default=[],
                   help="a hostname of the site; repeat for more (default: [analytics].domains)")
    p.add_argument("--name", help="website name shown in the dashboard (default: the first domain)")
    p.add_argument("--script-path", help=f"tracker script path (default: [analytics].script_path or {DEFAULT_SCRIPT_PATH})")
    p.add_argument("--env-file", type=Path, default=UMAMI_DIR / ".env", help="where to read credentials from if unset")
    p.add_argument("--timeout", type=float, default=15.0, help="seconds per HTTP request (default: 15)")
    p.add_argument("--id-only", action="store_true", help="print only the website id")
    p.add_argument("--html", action="store_true",
                   help="print the two <script> tags the site's pages need instead of the TOML snippet")
    p.add_argument("--replace-default-password", action="store_true",
                   help="if Umami's first-start login admin / umami still works, change that "
                        "password to UMAMI_ADMIN_PASSWORD (at least 12 characters) and go on")
    p.add_argument("--hook-path", default="/assets/umami-before-send.js",
                   help="where the site serves legalsite/umami-before-send.js (for --html)")
    return p.parse_args(argv)


def load_settings(args) -> dict:
    analytics = {}
    if args.site_config.exists():
        try:
            analytics = tomllib.loads(args.site_config.read_text()).get("analytics", {})
        except tomllib.TOMLDecodeError as exc:
            raise Failure(f"{args.site_config}: not valid TOML: {exc}", 2) from None
    origin = (args.url or analytics.get("origin") or "").rstrip("/")
    if not origin:
        raise Failure(f"no Umami origin: pass --url or set [analytics].origin in {args.site_config}", 2)
    parts = urllib.parse.urlsplit(origin)
    if parts.scheme not in {"https", "http"} or not parts.hostname or parts.path not in {"", "/"}:
        raise Failure(f"origin must look like https://stats.example.org, got {origin!r}", 2)
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise Failure(f"refusing plain http to {parts.hostname}: the password would cross the network "
                      "unencrypted; use the https origin", 2)
    domains = args.domain or analytics.get("domains") or []
    if isinstance(domains, str) or not domains or not all(isinstance(d, str) and d for d in domains):
        raise Failure(f"no site domains: pass --domain or set [analytics].domains = [\"example.org\"] "
                      f"in {args.site_config}", 2)
    for d in domains:
        if "/" in d or ":" in d or " " in d:
            raise Failure(f"domain {d!r} must be a bare hostname like example.org", 2)
    script_path = args.script_path or analytics.get("script_path") or DEFAULT_SCRIPT_PATH
    if not script_path.startswith("/"):
        raise Failure(f"script_path must start with '/', got {script_path!r}", 2)
    env = read_env_file(args.env_file)
    user = os.environ.get("UMAMI_ADMIN_USER") or env.get("UMAMI_ADMIN_USER") or DEFAULT_USER
    password = os.environ.get("UMAMI_ADMIN_PASSWORD") or env.get("UMAMI_ADMIN_PASSWORD") or ""
    if not password:
        raise Failure("UMAMI_ADMIN_PASSWORD is not set (environment or umami/.env): the dashboard "
                      "password provisioning logs in with", 2)
    return {"origin": origin, "domains": [d.lower() for d in domains], "script_path": script_path,
            "user": user, "password": password, "name": args.name or domains[0]}


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Api:
    def __init__(self, origin: str, timeout: float):
        self.origin, self.timeout, self.token = origin, timeout, None

    def call(self, method: str, path: str, body=None, expect_json=True):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.origin + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise Failure(f"cannot reach Umami at {self.origin}: {reason}") from None
        payload = None
        if raw and expect_json:
            try:
                payload = json.loads(raw)
            except ValueError:
                if 200 <= status < 300:
                    raise Failure(f"{method} {path}: Umami answered HTTP {status} with something that is not JSON") from None
        return status, payload

    def login(self, user: str, password: str) -> tuple[int, dict | None]:
        return self.call("POST", "/api/auth/login", {"username": user, "password": password})


def find_website(api: Api, domain: str) -> dict | None:
    matches, page, seen = [], 1, 0
    while True:
        query = urllib.parse.urlencode({"page": page, "pageSize": PAGE_SIZE})
        status, payload = api.call("GET", f"/api/websites?{query}")
        if status != 200 or not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
            raise Failure(f"listing websites failed: HTTP {status} {_message(payload)}")
        rows = payload["data"]
        seen += len(rows)
        matches += [w for w in rows if str(w.get("domain", "")).lower() == domain]
        count = payload.get("count")
        if not rows or len(rows) < PAGE_SIZE or (isinstance(count, int) and seen >= count):
            break
        page += 1
        if page > 1000:
            raise Failure("listing websites did not end after 1000 pages")
    if len(matches) > 1:
        ids = ", ".join(str(w.get("id")) for w in matches)
        raise Failure(f"{len(matches)} websites have the domain {domain} ({ids}); delete the extra ones in the dashboard")
    return matches[0] if matches else None


def _message(payload) -> str:
    if isinstance(payload, dict):
        return str(payload.get("message") or payload.get("error") or payload.get("code") or "")
    return ""


def replace_default_password(api: Api, settings: dict, token: str) -> None:
    """Change the first-start account's password (admin / umami) to UMAMI_ADMIN_PASSWORD through
    Umami's own API (POST /api/me/password), then prove the default no longer logs in."""
    if settings["user"] != DEFAULT_USER:
        raise Failure(f"--replace-default-password changes the password of {DEFAULT_USER!r}; "
                      f"UMAMI_ADMIN_USER is {settings['user']!r}", 2)
    if len(settings["password"]) < MIN_PASSWORD:
        raise Failure(f"UMAMI_ADMIN_PASSWORD must be at least {MIN_PASSWORD} characters to replace "
                      "the default (openssl rand -hex 16)", 2)
    api.token = token
    status, payload = api.call("POST", "/api/me/password", {
        "currentPassword": DEFAULT_PASSWORD, "newPassword": settings["password"]})
    api.token = None
    if status != 200:
        raise Failure(f"changing the default password failed: HTTP {status} {_message(payload)}")
    status, _ = api.login(DEFAULT_USER, DEFAULT_PASSWORD)
    if status == 200:
        raise Failure("the default login admin / umami still works after changing its password", 3)
    print(f"replaced the default password of {DEFAULT_USER!r} with UMAMI_ADMIN_PASSWORD", file=sys.stderr)


def provision(settings: dict, timeout: float, replace_default: bool = False) -> tuple[str, bool]:
    api = Api(settings["origin"], timeout)
    if settings["user"] == DEFAULT_USER and settings["password"] == DEFAULT_PASSWORD:
        raise Failure("UMAMI_ADMIN_PASSWORD is Umami's default; change it in the dashboard first", 3)
    status, payload = api.login(DEFAULT_USER, DEFAULT_PASSWORD)
    if status == 200 and replace_default and isinstance(payload, dict) and payload.get("token"):
        replace_default_password(api, settings, payload["token"])
        status = 401
    if status == 200:
        raise Failure("refusing to continue: Umami's first-start login admin / umami still works. "
                      "Log in to the dashboard, change that password (Settings > Profile), put the new "
                      "one in UMAMI_ADMIN_PASSWORD and run this again.", 3)
    if status not in {401, 403}:
        raise Failure(f"checking the default login: unexpected HTTP {status} from {settings['origin']}/api/auth/login")
    status, payload = api.login(settings["user"], settings["password"])
    if status != 200 or not isinstance(payload, dict) or not payload.get("token"):
        raise Failure(f"login as {settings['user']!r} failed: HTTP {status} {_message(payload)}; "
                      "check UMAMI_ADMIN_USER / UMAMI_ADMIN_PASSWORD")
    api.token = payload["token"]
    domain = settings["domains"][0]
    website = find_website(api, domain)
    created = False
    if website is None:
        status, website = api.call("POST", "/api/websites", {"name": settings["name"], "domain": domain})
        if status != 200 or not isinstance(website, dict):
            raise Failure(f"creating the website for {domain} failed: HTTP {status} {_message(website)}")
        created = True
    website_id = str(website.get("id", ""))
    if not UUID_RE.match(website_id):
        raise Failure(f"Umami returned a website without a valid id: {website_id!r}")
    return website_id.lower(), created


def snippet(settings: dict, website_id: str) -> str:
    domains = ", ".join(json.dumps(d) for d in settings["domains"])
    return (
        "# Paste into site.toml at the repository root\n"
        "[analytics]\n"
        f"origin = {json.dumps(settings['origin'])}\n"
        f"website_id = {json.dumps(website_id)}\n"
        f"script_path = {json.dumps(settings['script_path'])}\n"
        f"domains = [{domains}]\n"
    )


def html_tags(settings: dict, website_id: str, hook_path: str) -> str:
    """The tags for every page, made by the site's own function (legalsite/tracker_tag.py),
    so they are exactly what the site ships."""
    return tracker_tags(settings["origin"] + settings["script_path"], website_id,
                        ",".join(settings["domains"]), hook_path) + "\n"


@main_guard
def main(argv=None) -> int:
    args = parse_args(argv)
    settings = load_settings(args)
    website_id, created = provision(settings, args.timeout, args.replace_default_password)
    verb = "created" if created else "found existing"
    print(f"{verb} website {website_id} for {settings['domains'][0]} on {settings['origin']}", file=sys.stderr)
    if args.id_only:
        print(website_id)
    elif args.html:
        print(html_tags(settings, website_id, args.hook_path), end="")
    else:
        print(f"website_id: {website_id}\n")
        print(snippet(settings, website_id), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
