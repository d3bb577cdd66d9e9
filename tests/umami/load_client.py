"""Steady tracker traffic from the visitor namespace, at a fixed rate, with every answer kept.

Used by benchmarks/load_umami.py (the figures) and tests/umami/test_faults.py (traffic while
a fault happens). It runs INSIDE the visitor's network namespace (`ip netns exec`), so Caddy's
TCP peer is a non-local address, as on the internet: `run_load()` starts it there and reads its
JSON report; the `__main__` part is the client itself.

Why aiohttp and not wrk: the schedule is open-loop (request i leaves at start + i/rate whether
or not earlier ones have answered), so a slow server shows as latency instead of silently
lowering the rate (wrk's closed loop hides that: coordinated omission; wrk2 is not in
Debian); each connection can be bound to one of several visitor addresses (wrk has one
source address); and every answer's status and body is kept per request, which the lost-event
count after the run needs. aiohttp is a maintained asyncio HTTP client; at a few hundred
requests per second it needs a fraction of one core, measured and printed with the figures.

Payloads are what the site's before-send hook sends (legalsite/umami-before-send.js): type
"event", payload {website, hostname, url (path only), referrer (origin only, or absent)},
with a real browser User-Agent, spread over many pages, referrers, browsers and addresses.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

# Pages of a legal site and its neighbours: many paths, a few much more visited than others.
PAGES = ([f"/privacy/{y}-{m:02d}-01" for y in (2025, 2026) for m in range(1, 13)]
         + [f"/terms/{y}-{m:02d}-01" for y in (2025, 2026) for m in range(1, 13)]
         + [f"/docs/{topic}/{n}" for topic in ("api", "billing", "models", "limits", "keys")
            for n in range(1, 41)]
         + ["/privacy", "/terms", "/changelog", "/privacy/history", "/terms/history"])
REFERRERS = ["https://www.google.com/", "https://duckduckgo.com/", "https://www.bing.com/",
             "https://news.ycombinator.com/", "https://github.com/", "https://1vy.example/",
             "https://www.reddit.com/", "https://t.co/", "https://lobste.rs/", "https://example.net/"]
USER_AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
]
# Request headers per browser, built once (the client's CPU counts against the same 2 cores).
HEADERS = [{"Content-Type": "application/json", "User-Agent": ua} for ua in USER_AGENTS]
MAX_IN_FLIGHT = 512  # bound on open requests; beyond it a send is counted as "backlog", not made


def payloads(website: str, hostname: str, count: int, seed: int):
    """`count` (path, referrer, user agent) choices; paths Zipf-like over PAGES."""
    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(len(PAGES))]
    for _ in range(count):
        path = rng.choices(PAGES, weights)[0]
        referrer = rng.choice(REFERRERS) if rng.random() < 0.4 else None
        body = {"website": website, "hostname": hostname, "url": path}
        if referrer:
            body["referrer"] = referrer
        yield (path, json.dumps({"type": "event", "payload": body}).encode(),
               HEADERS[rng.randrange(len(USER_AGENTS))])


async def _load(cfg: dict) -> dict:
    import aiohttp

    rate, duration = cfg["rate"], cfg["duration"]
    total = int(rate * duration)
    timeout = aiohttp.ClientTimeout(total=cfg.get("timeout", 10))
    # No cookie jar (Umami sets no cookie; the jar costs CPU per answer).
    sessions = [aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(local_addr=(ip, 0), limit=0, force_close=False),
        timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()) for ip in cfg["sources"]]
    results: list = []
    backlog = 0
    in_flight = 0

    async def send(index: int, path: str, body: bytes, headers: dict, planned: float) -> None:
        nonlocal in_flight
        session = sessions[index % len(sessions)]
        t0 = time.perf_counter()
        try:
            async with session.post(cfg["url"], data=body, headers=headers) as resp:
                text = (await resp.read())[:300].decode(errors="replace")
                status = resp.status
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            status, text = 0, type(exc).__name__
        finally:
            in_flight -= 1
        results.append((planned, time.perf_counter() - t0, status, path, text))

    tasks = set()
    start = time.perf_counter()
    for index, (path, body, headers) in enumerate(payloads(cfg["website"], cfg["hostname"], total,
                                                      cfg.get("seed", 1))):
        planned = index / rate
        delay = start + planned - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if in_flight >= MAX_IN_FLIGHT:
            backlog += 1
            continue
        in_flight += 1
        task = asyncio.create_task(send(index, path, body, headers, planned))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    sent_for = time.perf_counter() - start
    if tasks:
        await asyncio.wait(tasks)
    elapsed = time.perf_counter() - start
    for session in sessions:
        await session.close()
    return {"planned": total, "backlog": backlog, "sent_for": sent_for, "elapsed": elapsed,
            "results": results}


def summarize(raw: dict) -> dict:
    """Counts and latencies from the raw results: `accepted` are 200s whose body is not
    Umami's bot answer ({"beep": "boop"}, which stores nothing)."""
    results = raw["results"]
    statuses = Counter(status for _, _, status, _, _ in results)
    accepted = Counter(path for _, _, status, path, text in results
                       if status == 200 and "beep" not in text)
    latencies = sorted(lat for _, lat, status, _, _ in results if status)

    def pct(q: float) -> float:
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    # p50/p99 of the answers to the requests planned in each 10 s of the schedule: whether the
    # latency grew steadily (a queue: too little CPU) or came in spikes (a pause).
    windows: dict[int, list[float]] = {}
    for planned, lat, status, _, _ in results:
        if status:
            windows.setdefault(int(planned // 10) * 10, []).append(lat)
    by_window = []
    for start, lats in sorted(windows.items()):
        lats.sort()
        by_window.append([start, len(lats), lats[len(lats) // 2] * 1000,
                          lats[min(len(lats) - 1, int(0.99 * len(lats)))] * 1000])
    failures = [{"at": round(planned, 2), "status": status, "body": text}
                for planned, _, status, _, text in sorted(results) if status != 200]
    return {"planned": raw["planned"], "backlog": raw["backlog"], "sent": len(results),
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "accepted": sum(accepted.values()), "accepted_by_path": dict(accepted),
            "elapsed": raw["elapsed"], "sent_for": raw["sent_for"],
            "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": pct(1.0),
            "windows": by_window, "failures": failures}


def start_load(ns, cfg: dict) -> subprocess.Popen:
    """Start the client in the namespace `ns` (tests/umami/real/netns.Namespace); it prints
    its JSON report when done. cfg: url, website, hostname, rate, duration, sources, seed."""
    proc = subprocess.Popen(ns.run(sys.executable, str(Path(__file__).resolve())),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    proc.stdin.write(json.dumps(cfg))
    proc.stdin.close()
    proc.stdin = None  # communicate() must not touch it again
    return proc


def finish_load(proc: subprocess.Popen, timeout: float) -> dict:
    """Wait for the client started by start_load and return its summary."""
    out, err = proc.communicate(timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"load client failed ({proc.returncode}): {err.strip()[-2000:]}")
    return json.loads(out)


def run_load(ns, cfg: dict) -> dict:
    return finish_load(start_load(ns, cfg), timeout=cfg["duration"] + 120)


def add_visitor_addresses(ns, count: int) -> list[str]:
    """`count` more visitor addresses inside the namespace `ns`, besides ns.visitor_ip, from
    203.0.113.0/24 (RFC 5737; the test country database maps it to NZ), each routed back to the
    namespace from here; addresses in use (by this namespace or routed elsewhere on this machine)
    are skipped. They go away with the namespace. Returns [ns.visitor_ip, *the new ones]."""
    def ip(*args: str) -> str:
        return subprocess.run(["ip", *args], capture_output=True, text=True, check=True).stdout

    peer = ip("-n", ns.name, "-o", "link", "show", "type", "veth").split()[1].split("@")[0].rstrip(":")
    taken = set(re.findall(r"203\.0\.113\.\d+", ip("-n", ns.name, "-o", "-4", "addr", "show")
                                                    + ip("-4", "route", "show")))
    start = 10 + (int(ns.name.rsplit("-", 1)[-1]) % 20) * 10
    extra: list[str] = []
    for last in [*range(start, 255), *range(10, start)]:
        if len(extra) == min(count, 20):
            break
        address = f"203.0.113.{last}"
        if address in taken:
            continue
        ip("-n", ns.name, "addr", "add", f"{address}/32", "dev", peer)
        ip("route", "replace", f"{address}/32", "dev", ns.host_link)
        extra.append(address)
    return [ns.visitor_ip, *extra]


def curl(ns, source: str, method: str, url: str, body=None, headers: dict | None = None):
    """(status, body) of one request made with curl (a real client, unlike a hand-made one it
    can also send chunked bodies) from `source`, an address inside the visitor namespace. A
    dict body is sent as JSON, bytes as they are."""
    cmd = ns.run("curl", "-sS", "--path-as-is", "--max-time", "30", "--interface", source,
                 "-X", method, "-o", "-", "-w", "\n%{http_code}",
                 "-H", "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
                       "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        if not any(name.lower() == "content-type" for name in headers or {}):
            cmd += ["-H", "Content-Type: application/json"]
        cmd += ["--data-binary", "@-"]
    result = subprocess.run([*cmd, url], input=data, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    text, _, status = result.stdout.decode(errors="replace").rpartition("\n")
    return int(status), text


def stored_by_path(umami, website: str) -> Counter:
    """website_event rows per url_path for `website` (Umami stores the path as sent)."""
    rows = umami.psql(f"SELECT url_path, count(*) FROM website_event "
                      f"WHERE website_id = '{website}' GROUP BY url_path;")
    return Counter({path: int(n) for path, n in (line.rsplit("|", 1) for line in rows.splitlines())})


def lost_and_extra(summary: dict, stored: Counter) -> tuple[int, int]:
    """(accepted requests without their row, rows no accepted request explains)."""
    accepted = Counter(summary["accepted_by_path"])
    return sum((accepted - stored).values()), sum((stored - accepted).values())


if __name__ == "__main__":
    config = json.load(sys.stdin)
    json.dump(summarize(asyncio.run(_load(config))), sys.stdout)
