"""The door to the data, through umami/Caddyfile in front of the real Umami: only the tracker
(script and collect) is public; the dashboard and every other API route answer only the
addresses ops list in UMAMI_ADMIN_IPS, and are refused at the proxy (403, Umami never asked)
for everyone else. Provisioning never runs while Umami's default login works."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from load_client import add_visitor_addresses, curl
from real.harness import CADDY, CADDYFILE
from real.processes import Server, free_port

REPO = Path(__file__).resolve().parents[2]
PROVISION = REPO / "umami" / "scripts" / "provision.py"
# Routes of the dashboard and Umami's API other than the tracker's (method, path, body).
CLOSED = [("GET", "/", None), ("GET", "/login", None), ("GET", "/dashboard", None),
          ("GET", "/websites", None),
          ("POST", "/api/auth/login", {"username": "admin", "password": "umami"}),
          ("GET", "/api/websites", None), ("GET", "/api/me", None), ("GET", "/api/users", None),
          ("GET", "/api/heartbeat", None), ("GET", "/api/config", None),
          ("POST", "/api/send", {"type": "event", "payload": {}}),
          ("POST", "/api/batch", []), ("GET", "/script.js", None),
          ("GET", "/_next/static/chunks/main.js", None), ("GET", "/api/p/../auth/login", None)]


@pytest.fixture(scope="module")
def ops_door(real_umami, tmp_path_factory):
    """A second Caddy from the same Caddyfile in front of the same Umami, with
    UMAMI_ADMIN_IPS naming one namespace address (an ops machine) and loopback."""
    ops_ip = add_visitor_addresses(real_umami.ns, 1)[1]
    work = tmp_path_factory.mktemp("ops-caddy")
    port, admin = free_port(), free_port()
    site = f"http://{real_umami.ns.host_ip}:{port}"
    env = {"PATH": os.environ["PATH"], "HOME": str(work), "XDG_DATA_HOME": str(work / "data"),
           "XDG_CONFIG_HOME": str(work / "config"), "UMAMI_HOST": f"{site}, http://127.0.0.1:{port}",
           "UMAMI_UPSTREAM": f"127.0.0.1:{real_umami.umami_port}", "ACME_EMAIL": "ops@example.org",
           "CADDY_ADMIN": f"127.0.0.1:{admin}", "UMAMI_ADMIN_IPS": f"{ops_ip}/32 127.0.0.1/32"}
    caddy = Server("Caddy (ops)", [str(CADDY), "run", "--config", str(CADDYFILE), "--adapter",
                                   "caddyfile"], env, work / "caddy.log").start()
    try:
        caddy.wait_http("127.0.0.1", port, "/api/heartbeat", host_header=f"127.0.0.1:{port}")
        yield {"site": site, "ops_ip": ops_ip, "loopback": f"http://127.0.0.1:{port}"}
    finally:
        caddy.stop()


@pytest.mark.parametrize("method,path,body", CLOSED, ids=[f"{m} {p}" for m, p, _ in CLOSED])
def test_everything_but_the_tracker_is_refused_at_the_proxy_for_visitors(real_umami, method, path, body):
    status, text = curl(real_umami.ns, real_umami.visitor_ip, method, real_umami.caddy_url + path, body)
    assert (status, text) == (403, "Forbidden")


def test_the_tracker_stays_public(real_umami):
    website = real_umami.add_website(domain="door.example.org")
    status, script = curl(real_umami.ns, real_umami.visitor_ip, "GET", real_umami.caddy_url + "/s.js")
    assert status == 200 and "/api/p" in script
    status, text = curl(real_umami.ns, real_umami.visitor_ip, "POST", real_umami.caddy_url + "/api/p",
                        {"type": "event", "payload": {"website": website,
                                                      "hostname": "door.example.org", "url": "/terms"}})
    assert status == 200, text
    assert real_umami.psql(f"SELECT url_path FROM website_event WHERE website_id = '{website}'") == "/terms"


def test_a_listed_address_reaches_the_dashboard_and_an_unlisted_one_does_not(real_umami, ops_door):
    ns = real_umami.ns
    login = {"username": "admin", "password": "not-the-password"}
    # The listed ops address reaches Umami itself: its login answers (wrong password: 401).
    assert curl(ns, ops_door["ops_ip"], "POST", ops_door["site"] + "/api/auth/login", login)[0] == 401
    status, page = curl(ns, ops_door["ops_ip"], "GET", ops_door["site"] + "/login")
    assert status == 200 and "<html" in page.lower()
    # The same Caddy refuses the visitor's address, which is not listed.
    assert curl(ns, real_umami.visitor_ip, "POST", ops_door["site"] + "/api/auth/login", login) == (403, "Forbidden")
    assert curl(ns, real_umami.visitor_ip, "GET", ops_door["site"] + "/login") == (403, "Forbidden")


def test_single_sign_on_is_closed_even_to_a_listed_address(real_umami, ops_door):
    """With Redis on, Umami 3.1's /api/auth/sso turns any login into a new 24-hour one (DATA.md:
    a login lasts an hour); the deployment has no single sign-on, so Caddy refuses it to
    everyone. Without the rule the ops address reaches Umami (401: no login given)."""
    for path in ("/api/auth/sso", "/api/auth/sso/"):
        assert curl(real_umami.ns, ops_door["ops_ip"], "POST", ops_door["site"] + path, {}) == (403, "Forbidden")
    assert curl(real_umami.ns, ops_door["ops_ip"], "POST", ops_door["site"] + "/api/auth/verify", {})[0] == 401


def test_provisioning_refuses_while_umamis_default_login_works(real_umami, ops_door, tmp_path):
    """Through the door, from a listed address: provision.py never goes on with admin/umami,
    neither as its own password nor while that login still works (the migrations' admin)."""
    def provision(password: str):
        env = {**os.environ, "UMAMI_ADMIN_USER": "admin", "UMAMI_ADMIN_PASSWORD": password}
        return subprocess.run([sys.executable, str(PROVISION), "--url", ops_door["loopback"],
                               "--domain", "door.example.org", "--site-config", str(tmp_path / "none.toml"),
                               "--env-file", str(tmp_path / "none.env")],
                              capture_output=True, text=True, env=env, timeout=120)

    default = provision("umami")
    assert (default.returncode, default.stdout) == (3, "")
    assert default.stderr == "error: UMAMI_ADMIN_PASSWORD is Umami's default; change it in the dashboard first\n"
    other = provision("a-strong-password-not-set-yet")
    assert (other.returncode, other.stdout) == (3, "")
    assert other.stderr.startswith("error: refusing to continue: Umami's first-start login admin / umami still works.")


def test_provisioning_replaces_the_default_password_and_it_never_works_again(real_umami, ops_door, tmp_path):
    """--replace-default-password through the door: the migrations' admin / umami is changed to
    UMAMI_ADMIN_PASSWORD with Umami's own API, provisioning goes on, and the default login is
    refused from then on (the session's admin is put back afterwards for other tests)."""
    saved = real_umami.psql("SELECT password FROM \"user\" WHERE username = 'admin';")
    password = "door-test-password-0123456789"
    env = {**os.environ, "UMAMI_ADMIN_USER": "admin", "UMAMI_ADMIN_PASSWORD": password}
    args = [sys.executable, str(PROVISION), "--url", ops_door["loopback"], "--domain", "door.example.org",
            "--site-config", str(tmp_path / "none.toml"), "--env-file", str(tmp_path / "none.env"),
            "--id-only", "--replace-default-password"]
    try:
        result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
        assert result.returncode == 0, result.stderr
        assert result.stderr.startswith("replaced the default password of 'admin' with UMAMI_ADMIN_PASSWORD\n")
        website = result.stdout.strip()
        assert real_umami.psql(f"SELECT domain FROM website WHERE website_id = '{website}'") == "door.example.org"
        ns, site = real_umami.ns, ops_door["site"]
        default = {"username": "admin", "password": "umami"}
        assert curl(ns, ops_door["ops_ip"], "POST", site + "/api/auth/login", default)[0] == 401
        assert curl(ns, ops_door["ops_ip"], "POST", site + "/api/auth/login",
                    {"username": "admin", "password": password})[0] == 200
        again = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
        assert (again.returncode, again.stdout.strip()) == (0, website)  # nothing left to replace
        assert again.stderr == f"found existing website {website} for door.example.org on {ops_door['loopback']}\n"
    finally:
        real_umami.psql(f"UPDATE \"user\" SET password = '{saved}' WHERE username = 'admin';")


def test_provisioning_refuses_to_set_a_short_password(real_umami, ops_door, tmp_path):
    env = {**os.environ, "UMAMI_ADMIN_USER": "admin", "UMAMI_ADMIN_PASSWORD": "short-pw"}
    result = subprocess.run([sys.executable, str(PROVISION), "--url", ops_door["loopback"], "--domain",
                             "door.example.org", "--site-config", str(tmp_path / "none.toml"),
                             "--env-file", str(tmp_path / "none.env"), "--replace-default-password"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == ("error: UMAMI_ADMIN_PASSWORD must be at least 12 characters to replace "
                             "the default (openssl rand -hex 16)\n")
    assert curl(real_umami.ns, ops_door["ops_ip"], "POST", ops_door["site"] + "/api/auth/login",
                {"username": "admin", "password": "umami"})[0] == 200  # nothing changed
