"""Reading the live site's ``/versions.json`` (versions_json.py) over http(s), for live.py.

Every way the read can fail is one LiveError with one message (the publish step prints it as
an ``error:`` line): refused, not HTTP, cut short, an HTTP error, an unverifiable certificate,
a redirect that leaves http(s) or downgrades https, not an index. The timeout bounds the whole
exchange, not each wait.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from . import __version__

TIMEOUT = 20.0  # seconds to wait for the live site
LIMIT = 64 * 1024 * 1024  # bytes: a 1,000-version index is well under 1 MiB; this is not one
ABSENT_STATUSES = (404, 410)  # the address serves no index: never published there (or removed)
ADDRESS = "base_url in site.toml, or --live URL"
ASK = f"give the address of the live site's index ({ADDRESS}), http:// or https://"
RETRY = "run the command again when it answers; nothing was published"


class LiveError(Exception):
    """The live index cannot be read, or what it says forbids the command (one message)."""


@dataclass(frozen=True)
class LiveIndex:
    """What the live site lists. ``versions``: ``<policy>/<date>`` of every published
    (non-draft) version, None when there is no index at ``source`` (``absent`` says why)."""

    source: str
    versions: frozenset[str] | None
    as_of: dt.date | None = None
    absent: str = ""


def read_index(source: str, timeout: float = TIMEOUT, limit: int = LIMIT) -> LiveIndex:
    """The live index at ``source``, an http(s) URL: only the site readers see can say what
    they were shown (a local build says what would be, whether or not it was deployed). No
    index there (HTTP 404 or 410) is a LiveIndex without versions; anything else that is not a
    readable index is a LiveError."""
    _check_address(source)
    data = _fetch(source, timeout, limit)
    if isinstance(data, str):
        return LiveIndex(source, None, absent=data)
    if len(data) > limit:
        raise LiveError(
            f"{source}: more than {limit:,} bytes, too large for the versions.json of a legal site: "
            f"give the address of the site's index ({ADDRESS})"
        )
    return parse_index(data, source)


def _check_address(source: str) -> None:
    """A LiveError unless ``source`` is an http(s) URL with a host (and a numeric port)."""
    try:
        parts = urllib.parse.urlsplit(source)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError as exc:
        raise LiveError(f"{source}: not a valid address ({exc}): {ASK}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LiveError(
            f"{source}: not the address of a live site: {ASK}; a local file or build cannot say "
            "what readers were shown"
        )


def _fetch(url: str, timeout: float, limit: int) -> bytes | str:
    """The body at ``url`` (at most ``limit`` + 1 bytes), or why there is none (a str) when the
    site says it has no index. The whole exchange, redirects included, must end within
    ``timeout`` seconds: it runs in a thread that is abandoned after that (a site sending one
    byte a second would otherwise hold the publish step for ever)."""
    outcome: list[bytes | str | BaseException] = []

    def work() -> None:
        try:
            outcome.append(_exchange(url, timeout, limit))
        except BaseException as exc:  # noqa: BLE001 (a bug: raised again below, where it shows)
            outcome.append(exc)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:
        raise LiveError(f"{url}: the live site did not answer within {timeout:g} s; {RETRY}")
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _exchange(url: str, timeout: float, limit: int) -> bytes | str | BaseException:
    """One request and its answer (see _fetch); any failure returned as a LiveError."""
    request = urllib.request.Request(
        url,
        headers={
            "Accept": "application/json",
            "Cache-Control": "no-cache",  # the index as deployed, not a cache's older copy
            "User-Agent": f"legalsite/{__version__} (build.py lock --live)",
        },
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            data = response.read(limit + 1)  # one byte more: read_index refuses it
            if len(data) <= limit and response.length:  # the connection closed early
                raise http.client.IncompleteRead(data, response.length)
            return data
    except LiveError as exc:  # a redirect refused (NoDowngrade)
        return exc
    except urllib.error.HTTPError as exc:
        if exc.code in ABSENT_STATUSES:
            return f"HTTP {exc.code} {exc.reason}"
        return LiveError(
            f"{url}: the live site answered HTTP {exc.code} {exc.reason}, so it cannot say what "
            f"it already announced; {RETRY}"
        )
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, ssl.SSLCertVerificationError):
            return LiveError(
                f"{url}: the live site's certificate could not be verified "
                f"({reason.verify_message}): install the system's CA certificates (Debian: "
                "apt-get install ca-certificates) or fix the site's certificate"
            )
        if isinstance(reason, TimeoutError):
            return LiveError(f"{url}: the live site did not answer within {timeout:g} s; {RETRY}")
        text = getattr(reason, "strerror", None) or str(reason)
        return LiveError(f"{url}: cannot reach the live site ({text}); {RETRY}")
    except TimeoutError:
        return LiveError(f"{url}: the live site did not answer within {timeout:g} s; {RETRY}")
    except http.client.HTTPException as exc:  # not HTTP, a header line too long, a cut body
        return LiveError(
            f"{url}: the live site's answer is not valid HTTP ({type(exc).__name__}); {RETRY}"
        )
    except (OSError, ValueError) as exc:  # a reset connection
        return LiveError(f"{url}: cannot read the live site ({exc}); {RETRY}")


class NoDowngrade(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to http(s), and from https only to https: an attacker on the
    network who can answer plain http must not be able to forge the index."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        allowed = ("https",) if req.full_url.startswith("https:") else ("http", "https")
        scheme = urllib.parse.urlsplit(newurl).scheme
        if scheme not in allowed:
            raise LiveError(
                f"{req.full_url}: the live site redirects to {newurl}; only a redirect to "
                f"{' or '.join(allowed)} is followed (a downgrade would let anyone on the network "
                f"answer for the site): {ASK}"
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(NoDowngrade)


def parse_index(data: bytes, source: str) -> LiveIndex:
    """The versions a versions.json (schema version 1 or 2) lists; a LiveError if it is not one."""
    try:
        document = json.loads(data)  # a RecursionError for thousands of nested brackets
        if not isinstance(document, dict) or document.get("schema_version") not in (1, 2):
            raise ValueError("no schema_version 1 or 2")
        keys = set()
        for policy in document["policies"]:
            for version in policy["versions"]:
                day = dt.date.fromisoformat(version["effective"])
                if version["draft"] is not True:
                    keys.add(f"{policy['slug']}/{day.isoformat()}")
        as_of = dt.date.fromisoformat(document["as_of"])
    except RecursionError:
        raise LiveError(
            f"{source}: not the versions.json of a site built by legalsite (nested too deeply): "
            f"give the address of the site's index ({ADDRESS})"
        ) from None
    except (ValueError, KeyError, TypeError) as exc:
        problem = exc.args[0] if isinstance(exc, KeyError) else exc
        raise LiveError(
            f"{source}: not the versions.json of a site built by legalsite ({problem}): "
            f"give the address of the site's index ({ADDRESS})"
        ) from None
    return LiveIndex(source, frozenset(keys), as_of)
