"""provision.py against the real Umami's API (no stand-in): it refuses while the first-start
password still works, then creates the website once, finds it the second time, and prints
exactly the tags the site ships (legalsite/tracker_tag.py)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from legalsite.security import Tracker
from umami_support import run_script

NEW_PASSWORD = "test-only-provision-password-5d1e"
DOMAIN = "provision.example.org"


def api(umami, path: str, body: dict, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(umami.umami_url + path, data=json.dumps(body).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"POST {path}: {exc.code} {exc.read()[:300]!r}") from None


def set_admin_password(umami, current: str, new: str) -> None:
    token = api(umami, "/api/auth/login", {"username": "admin", "password": current})["token"]
    api(umami, "/api/me/password", {"currentPassword": current, "newPassword": new}, token)


def provision(umami, password: str, *extra: str):
    return run_script("provision.py", "--url", umami.umami_url, "--domain", DOMAIN,
                      "--site-config", "/nonexistent/site.toml", "--env-file", "/nonexistent/.env",
                      *extra, env={"UMAMI_ADMIN_USER": "admin", "UMAMI_ADMIN_PASSWORD": password})


def test_provision_creates_once_and_prints_the_sites_own_tags(real_umami):
    refused = provision(real_umami, NEW_PASSWORD, "--html")
    assert refused.returncode == 3, refused.stderr  # admin / umami still logs in
    assert real_umami.psql(f"SELECT count(*) FROM website WHERE domain = '{DOMAIN}'") == "0"
    original_hash = real_umami.psql("SELECT password FROM \"user\" WHERE username = 'admin'")
    set_admin_password(real_umami, "umami", NEW_PASSWORD)  # as the runbook says, in Umami itself
    try:
        first = provision(real_umami, NEW_PASSWORD, "--html")
        second = provision(real_umami, NEW_PASSWORD, "--html")
    finally:  # the session's other tests keep Umami's first-start account as it was
        real_umami.psql(f"UPDATE \"user\" SET password = '{original_hash}' WHERE username = 'admin'")
    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    website_id = real_umami.psql(f"SELECT website_id FROM website WHERE domain = '{DOMAIN}' AND deleted_at IS NULL")
    assert len(website_id.splitlines()) == 1
    assert first.stderr.startswith(f"created website {website_id} ")
    assert second.stderr.startswith(f"found existing website {website_id} ")
    site_tags = Tracker(src=f"{real_umami.umami_url}/s.js", website_id=website_id, domains=DOMAIN,
                        hook="assets/umami-before-send.js").tags("/")
    assert first.stdout == second.stdout == site_tags + "\n"
