"""provision.py against a stand-in that speaks Umami's login and websites API
(POST /api/auth/login, GET and POST /api/websites) on loopback, failure cases included."""

from __future__ import annotations

import http.server
import json
import re
import tomllib
import urllib.parse
import uuid

import pytest

from umami_support import run_script, serve

PASSWORD = "changed-password-for-tests"


class FakeUmami(http.server.BaseHTTPRequestHandler):
    state: dict = {}

    @classmethod
    def reset(cls, **overrides):
        cls.state = {"accounts": {"admin": PASSWORD}, "websites": [], "calls": [], "token": uuid.uuid4().hex,
                     "fail": {}, **overrides}

    def _json(self, status, payload):
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def _authorized(self):
        return self.headers.get("Authorization") == f"Bearer {self.state['token']}"

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        body = self._body()
        self.state["calls"].append(("POST", path, body))
        if path == "/api/auth/login":
            if self.state["fail"].get("login"):
                return self._json(self.state["fail"]["login"], {"message": "boom"})
            if self.state["accounts"].get(body.get("username")) == body.get("password"):
                return self._json(200, {"token": self.state["token"],
                                        "user": {"id": str(uuid.uuid4()), "username": body["username"],
                                                 "role": "admin", "isAdmin": True}})
            return self._json(401, {"code": "incorrect-username-password"})
        if path == "/api/websites":
            if not self._authorized():
                return self._json(401, {"message": "Unauthorized"})
            if self.state["fail"].get("create"):
                return self._json(self.state["fail"]["create"], {"message": "cannot create"})
            site = {"id": str(uuid.uuid4()), "name": body["name"], "domain": body["domain"], "shareId": None}
            self.state["websites"].append(site)
            return self._json(200, site)
        self._json(404, {"message": "not found"})

    def do_GET(self):
        parts = urllib.parse.urlsplit(self.path)
        self.state["calls"].append(("GET", parts.path, parts.query))
        if parts.path != "/api/websites":
            return self._json(404, {"message": "not found"})
        if not self._authorized():
            return self._json(401, {"message": "Unauthorized"})
        if self.state["fail"].get("list"):
            status = self.state["fail"]["list"]
            return self._json(status, b"<html>oops</html>" if status == 200 else {"message": "db down"})
        query = urllib.parse.parse_qs(parts.query)
        page, size = int(query["page"][0]), int(query["pageSize"][0])
        rows = self.state["websites"][(page - 1) * size: page * size]
        self._json(200, {"data": rows, "count": len(self.state["websites"]), "page": page, "pageSize": size})

    def log_message(self, *args):
        pass


@pytest.fixture()
def umami_api():
    FakeUmami.reset()
    with serve(FakeUmami) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}", FakeUmami.state


def provision(origin, *extra, password=PASSWORD, env=None):
    base_env = {"UMAMI_ADMIN_USER": "admin", "UMAMI_ADMIN_PASSWORD": password, **(env or {})}
    return run_script("provision.py", "--url", origin, "--domain", "example.org",
                      "--site-config", "/nonexistent/site.toml", "--env-file", "/nonexistent/.env",
                      "--timeout", "5", *extra, env=base_env)


def posts(state):
    return [c for c in state["calls"] if c[:2] == ("POST", "/api/websites")]


def test_creates_the_website_and_prints_id_and_snippet(umami_api):
    origin, state = umami_api
    result = provision(origin)
    assert result.returncode == 0, result.stderr
    assert len(state["websites"]) == 1 and state["websites"][0]["domain"] == "example.org"
    website_id = state["websites"][0]["id"]
    assert f"website_id: {website_id}" in result.stdout
    toml_part = result.stdout.split("\n", 2)[2]
    analytics = tomllib.loads(toml_part)["analytics"]
    assert analytics == {"origin": origin, "website_id": website_id, "script_path": "/s.js",
                         "domains": ["example.org"]}
    assert "created website" in result.stderr


def test_second_run_finds_the_website_instead_of_creating_another(umami_api):
    origin, state = umami_api
    first = provision(origin, "--id-only")
    second = provision(origin, "--id-only")
    assert first.returncode == second.returncode == 0
    assert first.stdout.strip() == second.stdout.strip() == state["websites"][0]["id"]
    assert len(posts(state)) == 1 and "found existing" in second.stderr


def test_finds_a_website_on_a_later_page(umami_api):
    origin, state = umami_api
    state["websites"] = [{"id": str(uuid.uuid4()), "name": f"s{i}", "domain": f"s{i}.test"} for i in range(150)]
    target = {"id": str(uuid.uuid4()), "name": "legal", "domain": "Example.org"}
    state["websites"].insert(120, target)
    result = provision(origin, "--id-only")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == target["id"] and posts(state) == []
    assert any(c[0] == "GET" and "page=2" in c[2] for c in state["calls"])


def test_refuses_while_the_default_password_works(umami_api):
    origin, state = umami_api
    state["accounts"]["admin"] = "umami"
    state["accounts"]["ops"] = PASSWORD
    result = provision(origin, env={"UMAMI_ADMIN_USER": "ops"})
    assert result.returncode == 3
    assert "admin / umami" in result.stderr and "change" in result.stderr
    assert posts(state) == [] and not any(c[0] == "GET" for c in state["calls"])


def test_refuses_the_default_password_as_its_own_credentials(umami_api):
    origin, state = umami_api
    result = provision(origin, password="umami")
    assert result.returncode == 3 and state["calls"] == []


def test_wrong_credentials_fail_clearly(umami_api):
    origin, state = umami_api
    result = provision(origin, password="not-the-password")
    assert result.returncode == 1
    assert "login as 'admin' failed: HTTP 401" in result.stderr and "UMAMI_ADMIN_PASSWORD" in result.stderr
    assert posts(state) == []


@pytest.mark.parametrize("failure,expected", [
    ({"list": 500}, "listing websites failed: HTTP 500 db down"),
    ({"list": 200}, "not JSON"),
    ({"create": 403}, "creating the website for example.org failed: HTTP 403 cannot create"),
    ({"login": 502}, "unexpected HTTP 502"),
])
def test_api_errors_are_reported_not_raised(umami_api, failure, expected):
    origin, state = umami_api
    state["fail"] = failure
    result = provision(origin)
    assert result.returncode == 1, result.stdout
    assert expected in result.stderr and "Traceback" not in result.stderr


def test_duplicate_websites_for_the_domain_are_an_error(umami_api):
    origin, state = umami_api
    state["websites"] = [{"id": str(uuid.uuid4()), "name": "a", "domain": "example.org"},
                         {"id": str(uuid.uuid4()), "name": "b", "domain": "example.org"}]
    result = provision(origin)
    assert result.returncode == 1 and "2 websites have the domain example.org" in result.stderr


def test_unreachable_umami(tmp_path):
    from umami_support import free_port
    result = provision(f"http://127.0.0.1:{free_port()}")
    assert result.returncode == 1 and "cannot reach Umami" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("args,env,message", [
    (["--url", "http://stats.example.org"], {}, "refusing plain http"),
    (["--url", "ftp://x"], {}, "origin must look like"),
    ([], {"UMAMI_ADMIN_PASSWORD": ""}, "UMAMI_ADMIN_PASSWORD is not set"),
])
def test_bad_settings_exit_2(args, env, message):
    result = run_script("provision.py", "--domain", "example.org", "--site-config", "/nonexistent/site.toml",
                        "--env-file", "/nonexistent/.env", "--url", "https://stats.example.org", *args,
                        env={"UMAMI_ADMIN_PASSWORD": PASSWORD, **env})
    assert result.returncode == 2 and message in result.stderr


def test_reads_site_toml_and_env_file(umami_api, tmp_path):
    origin, state = umami_api
    site = tmp_path / "site.toml"
    site.write_text(f'[analytics]\norigin = "{origin}"\nwebsite_id = ""\nscript_path = "/s.js"\n'
                    'domains = ["legal.example.org", "www.legal.example.org"]\n')
    env_file = tmp_path / ".env"
    env_file.write_text(f"UMAMI_ADMIN_USER=admin\nUMAMI_ADMIN_PASSWORD={PASSWORD}\n")
    result = run_script("provision.py", "--site-config", str(site), "--env-file", str(env_file))
    assert result.returncode == 0, result.stderr
    assert state["websites"][0]["domain"] == "legal.example.org"
    assert re.search(r'domains = \["legal.example.org", "www.legal.example.org"\]', result.stdout)


def test_site_toml_without_domains_is_an_error(tmp_path):
    site = tmp_path / "site.toml"
    site.write_text('[analytics]\norigin = "https://stats.example.org"\n')
    result = run_script("provision.py", "--site-config", str(site), "--env-file", "/nonexistent/.env",
                        env={"UMAMI_ADMIN_PASSWORD": PASSWORD})
    assert result.returncode == 2 and "[analytics].domains" in result.stderr


def test_html_tags_are_exactly_the_sites_tags(umami_api, tmp_path):
    """provision.py --html prints what the built site ships (one function makes both)."""
    origin, state = umami_api
    result = provision(origin, "--html")
    assert result.returncode == 0, result.stderr
    website_id = state["websites"][0]["id"]
    assert result.stdout == (
        '<script defer src="/assets/umami-before-send.js"></script>\n'
        f'<script defer src="{origin}/s.js" data-website-id="{website_id}" data-domains="example.org" '
        'data-do-not-track="true" data-exclude-search="true" data-exclude-hash="true" '
        'data-identity-stitching="false" data-before-send="umamiBeforeSend"></script>\n')
    from legalsite.security import Tracker
    site_tags = Tracker(src=f"{origin}/s.js", website_id=website_id, domains="example.org",
                        hook="assets/umami-before-send.js").tags("/")
    assert result.stdout == site_tags + "\n"
