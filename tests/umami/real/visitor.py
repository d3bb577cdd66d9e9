"""HTTP from the visitor's address: a request made inside the network namespace.

Why a child process: a socket can only take the namespace's address from inside it, and
Python 3.11 cannot switch a thread's namespace (os.setns is 3.12+), so the request runs in a
short `ip netns exec ... python` that speaks JSON on stdin and stdout.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from dataclasses import dataclass

from .netns import Namespace

# A real desktop browser's user agent: Umami drops requests from bots (isbot), and the check
# stays on, so the test visitor must look like a person's browser.
DESKTOP_UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/131.0.0.0 Safari/537.36")

_CLIENT = r"""
import base64, http.client, json, sys, urllib.parse
req = json.load(sys.stdin)
url = urllib.parse.urlsplit(req["url"])
conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=30)
path = url.path or "/"
if url.query:
    path += "?" + url.query
body = base64.b64decode(req["body"]) if req["body"] is not None else None
conn.request(req["method"], path, body=body, headers=req["headers"])
resp = conn.getresponse()
data = resp.read()
json.dump({"status": resp.status, "headers": [[k, v] for k, v in resp.getheaders()],
           "body": base64.b64encode(data).decode()}, sys.stdout)
"""


@dataclass(frozen=True)
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first header of that name (case-insensitive), or None."""
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def json(self):
        return json.loads(self.body)


def request(ns: Namespace, method: str, url: str, body: bytes | str | dict | None = None,
            headers: dict | None = None) -> Response:
    """Send one HTTP request from ns.visitor_ip; a dict body is sent as JSON.
    Default headers: a desktop User-Agent and, for a body, Content-Type: application/json."""
    all_headers = {"User-Agent": DESKTOP_UA}
    if isinstance(body, dict):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    if body is not None:
        all_headers["Content-Type"] = "application/json"
    all_headers.update(headers or {})
    req = {"method": method, "url": url, "headers": all_headers,
           "body": base64.b64encode(body).decode() if body is not None else None}
    result = subprocess.run(ns.run(sys.executable, "-c", _CLIENT), input=json.dumps(req),
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise AssertionError(f"{method} {url} from {ns.visitor_ip} failed: {result.stderr.strip()}")
    answer = json.loads(result.stdout)
    return Response(answer["status"], [tuple(h) for h in answer["headers"]],
                    base64.b64decode(answer["body"]))
