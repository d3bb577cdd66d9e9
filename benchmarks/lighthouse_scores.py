"""Lighthouse's four scores for every page of the shipped site (issue 15: 100 in each).

    .venv/bin/python benchmarks/lighthouse_scores.py              # every page
    .venv/bin/python benchmarks/lighthouse_scores.py /privacy/    # some pages

Builds the shipped content (``content/``, ``site.toml`` with ``base_url`` set to the
loopback address it is served from) into ``benchmarks/.work/lighthouse/site``, serves
it with a real Caddy and the build's own security-header snippet (plus gzip, as a host
does) on 127.0.0.1, and runs Lighthouse (npm ``lighthouse``, pinned below, installed
with npm into ``benchmarks/.work/lighthouse`` on first use) with Debian's Chromium, in
which no host name resolves: nothing leaves loopback. Prints each page's performance,
accessibility, best-practices and SEO scores (0-100) and every scored audit below 1,
and exits 1 if any score is below 100, except SEO on pages that are ``noindex`` by
design (the 404 page, superseded versions, compare pages: "is-crawlable" fails there,
as it should). About 12 s a page on 2 cores; performance drops when other work starves
Chromium of CPU (total blocking time), so read it with the load average printed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "benchmarks" / ".work" / "lighthouse"
LIGHTHOUSE = "13.5.0"  # npm view lighthouse version, 2026-12-06
CHROMIUM = "/usr/bin/chromium"
CHROME_FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-background-networking "
    "--disable-component-update --host-resolver-rules='MAP * ~NOTFOUND , EXCLUDE 127.0.0.1'"
)
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")


def install() -> Path:
    binary = WORK / "node_modules" / ".bin" / "lighthouse"
    package = WORK / "node_modules" / "lighthouse" / "package.json"
    if not package.exists() or json.loads(package.read_text())["version"] != LIGHTHOUSE:
        WORK.mkdir(parents=True, exist_ok=True)
        (WORK / "package.json").write_text('{"private": true}\n')
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", f"lighthouse@{LIGHTHOUSE}"],
            cwd=WORK,
            check=True,
        )
    return binary


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build(origin: str) -> Path:
    site = WORK / "site"
    settings = WORK / "site.toml"
    text = (REPO / "site.toml").read_text(encoding="utf-8").split("[analytics]")[0]
    settings.write_text(re.sub(r"(?m)^base_url = .*$", f'base_url = "{origin}"', text))
    day = os.environ.get("AS_OF", dt.date.today().isoformat())
    subprocess.run(
        [sys.executable, str(REPO / "build.py"), "build", "--settings", str(settings),
         "--out", str(site), "--no-cache", "--as-of", day],
        cwd=REPO, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return site


def serve(site: Path, port: int) -> subprocess.Popen:
    home = Path(tempfile.mkdtemp(prefix="lighthouse-caddy-"))
    caddyfile = home / "Caddyfile"
    caddyfile.write_text(
        "{\n\tadmin off\n\tauto_https off\n}\n"
        f"http://127.0.0.1:{port} {{\n\troot * {site}\n"
        f"\timport {site}/_caddy/security-headers.caddy\n\tencode gzip\n\tfile_server\n}}\n"
    )
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    proc = subprocess.Popen(
        ["caddy", "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.1)
    proc.terminate()
    raise SystemExit("caddy did not start")


def pages_of(site: Path) -> list[str]:
    out = []
    for path in sorted(site.rglob("*.html")):
        relative = path.relative_to(site).as_posix()
        out.append("/" + relative.removesuffix("index.html"))
    return out


def _file(path: str) -> str:
    return path.lstrip("/") + ("index.html" if path.endswith("/") else "")


def run(binary: Path, url: str) -> dict:
    report = WORK / "report.json"
    subprocess.run(
        [str(binary), url, "--quiet", "--output=json", f"--output-path={report}",
         f"--chrome-flags={CHROME_FLAGS}", f"--only-categories={','.join(CATEGORIES)}"],
        env={**os.environ, "CHROME_PATH": CHROMIUM}, check=True,
    )  # fmt: skip
    return json.loads(report.read_text())


def main() -> int:
    if not shutil.which("npm") or not shutil.which("caddy") or not Path(CHROMIUM).exists():
        raise SystemExit("needs npm, caddy and /usr/bin/chromium (./scripts/test installs them)")
    binary = install()
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    site = build(origin)
    wanted = sys.argv[1:] or pages_of(site)
    server = serve(site, port)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; lighthouse {LIGHTHOUSE}")
    print(f"{'page':<40} " + " ".join(f"{c:>14}" for c in CATEGORIES))
    worst = 100
    try:
        for path in wanted:
            report = run(binary, origin + path)
            scores = [round(report["categories"][c]["score"] * 100) for c in CATEGORIES]
            noindex = 'name="robots" content="noindex"' in (site / _file(path)).read_text()
            worst = min(worst, *(scores[:3] if noindex else scores))
            note = "  (noindex by design)" if noindex else ""
            print(f"{path:<40} " + " ".join(f"{s:>14}" for s in scores) + note)
            for name, audit in report["audits"].items():
                if audit.get("scoreDisplayMode") in ("binary", "numeric") and audit["score"] < 1:
                    print(
                        f"    {name}: {audit['score']} {audit.get('explanation') or audit['title']}"
                    )
    finally:
        server.terminate()
        server.wait()
    return 0 if worst == 100 else 1


if __name__ == "__main__":
    sys.exit(main())
