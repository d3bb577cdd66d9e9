"""Umami's Redis cache on the real Umami (tests/umami/real/redis.py: Debian's redis-server with the
deployment's umami/redis/redis.conf): Umami uses it, it holds only what umami/DATA.md ("Redis")
says, every key expires within the time DATA.md gives, nothing reaches the disk, and an outage of
Redis delays page views without losing them."""

from __future__ import annotations

import json
import threading
import time
import urllib.request

from load_client import curl

# What DATA.md promises: key kind -> the longest time to live Umami gives it (seconds).
KINDS = {"website": 86400, "auth": 3600}


def _pageview(real_umami, website: str, path: str):
    response = real_umami.visitor_request("POST", real_umami.caddy_url + "/api/p", {
        "type": "event", "payload": {"website": website, "hostname": "cache.example.org",
                                     "url": path, "referrer": "https://duckduckgo.com/"}})
    assert response.status == 200, response.body
    return response.json()


def _post_json(url: str, body: dict, token: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, json.dumps(body).encode() if body is not None else None,
                                     headers, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, {}


def test_a_page_view_caches_its_website_and_nothing_about_the_visitor(real_umami):
    redis = real_umami.redis
    website = real_umami.add_website(domain="cache.example.org", name="cache")
    assert f"website:{website}" not in redis.keys()
    answer = _pageview(real_umami, website, "/privacy/cache-test")
    _pageview(real_umami, website, "/terms/cache-test")  # the second one is served from the cache

    # Umami used the cache: the website's row is there, with Umami's 24 hours at most.
    cached = json.loads(redis.cli("GET", f"website:{website}"))
    assert (cached["id"], cached["domain"]) == (website, "cache.example.org")
    assert 0 < int(redis.cli("TTL", f"website:{website}")) <= KINDS["website"]
    columns = real_umami.psql("SELECT column_name FROM information_schema.columns "
                              "WHERE table_name = 'website';").splitlines()
    # Umami's website row (camelCase as Prisma returns it, website_id as id) plus its share id.
    assert {key.lower() for key in cached} <= {c.replace("_", "") for c in columns} | {"id", "shareid"}

    # Nothing visitor-identifying anywhere in Redis: no address, session, visit, page or
    # referrer; every key is of a kind DATA.md lists and expires.
    assert real_umami.psql(f"SELECT count(*) FROM website_event WHERE website_id = '{website}';") == "2"
    for key in redis.keys():
        kind = key.split(":", 1)[0]
        assert kind in KINDS, key
        assert 0 < int(redis.cli("TTL", key)) <= KINDS[kind], key
        value = redis.cli("GET", key)
        for secret in (real_umami.visitor_ip, answer["sessionId"], answer["visitId"],
                       "cache-test", "duckduckgo"):
            assert secret not in key and secret not in value, (key, secret)


def test_redis_keeps_nothing_on_disk(real_umami):
    redis = real_umami.redis
    _pageview(real_umami, real_umami.website_id, "/privacy/disk-test")
    assert redis.cli("CONFIG", "GET", "save") == "save"  # the name, then an empty value: no snapshots
    assert redis.cli("CONFIG", "GET", "appendonly").splitlines() == ["appendonly", "no"]
    assert redis.cli("CONFIG", "GET", "maxmemory-policy").splitlines() == ["maxmemory-policy",
                                                                            "allkeys-lru"]
    assert list(redis.work.iterdir()) == [redis.log]  # no dump.rdb, no appendonly file


def test_a_dashboard_login_is_a_key_that_ends_within_an_hour(real_umami):
    """With REDIS_URL set, Umami's login token names a key in Redis (auth:<random>) that holds
    the user id and role; the login lasts as long as that key (Umami sets 1 hour)."""
    redis = real_umami.redis
    before = set(redis.keys())
    status, login = _post_json(real_umami.umami_url + "/api/auth/login",
                               {"username": "admin", "password": "umami"})
    assert status == 200
    (key,) = set(redis.keys()) - before
    assert key.startswith("auth:")
    assert set(json.loads(redis.cli("GET", key))) == {"userId", "role"}
    assert 3500 < int(redis.cli("TTL", key)) <= KINDS["auth"]
    assert _post_json(real_umami.umami_url + "/api/me", None, login["token"])[0] == 200
    # Umami 3.1's logout deletes a key named after the token, not this one (DATA.md says so):
    # the login goes on working until its key expires.
    assert _post_json(real_umami.umami_url + "/api/auth/logout", {}, login["token"])[0] == 200
    assert redis.cli("EXISTS", key) == "1"
    assert _post_json(real_umami.umami_url + "/api/me", None, login["token"])[0] == 200
    redis.cli("DEL", key)  # what the expiry does after an hour (or a restart of Redis)
    assert _post_json(real_umami.umami_url + "/api/me", None, login["token"])[0] == 401


def test_page_views_wait_while_redis_is_down_and_are_stored_when_it_returns(real_umami):
    """Redis stopped for about 6 s during page views: Umami's Redis client holds its commands
    until it has reconnected, so the page views sent meanwhile wait (no error, nothing lost)
    and are stored once Redis is back; no restart of Umami, no manual step (README.md §13)."""
    redis = real_umami.redis
    website = real_umami.add_website(domain="cache.example.org", name="redis down")
    answers: list[tuple[int, float]] = []

    def send(path: str) -> None:
        started = time.monotonic()
        status, _ = curl(real_umami.ns, real_umami.visitor_ip, "POST", real_umami.caddy_url + "/api/p",
                         {"type": "event", "payload": {"website": website, "url": path,
                                                       "hostname": "cache.example.org"}})
        answers.append((status, time.monotonic() - started))

    redis.stop()
    try:
        senders = [threading.Thread(target=send, args=(f"/privacy/outage-{i}",)) for i in range(3)]
        for sender in senders:
            sender.start()
            time.sleep(1)
        time.sleep(3)
        assert answers == []  # all three still waiting
    finally:
        redis.start()
    for sender in senders:
        sender.join(timeout=60)
    assert sorted(status for status, _ in answers) == [200, 200, 200]
    assert min(seconds for _, seconds in answers) > 3
    assert real_umami.psql(f"SELECT count(*) FROM website_event WHERE website_id = '{website}';") == "3"
    _pageview(real_umami, website, "/privacy/after-outage")
