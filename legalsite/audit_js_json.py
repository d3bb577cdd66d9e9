"""The audit of the site's scripts and JSON files (audit.py does HTML, CSS and feeds): URLs
that name another origin, and scripts that would store anything in the browser. Apart from
audit.py because neither format is HTML: they are read as text and by the json module."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from .html_scan import SCHEME, classify
from .model import ContentError

if TYPE_CHECKING:
    from .audit import AuditPolicy


def _classify(url: str, policy: AuditPolicy) -> str:
    return classify(url, policy.site_origin)


# Space as str.isspace() says (re's \s is the same test, on every code point), in a sixth of the
# time of a generator over the characters (the 2,041 strings of versions.json at 20 x 50: 1.0
# against 5.8 ms, least of 5).
_SPACE = re.compile(r"\s")
_JS_URL = re.compile(r"""["'`]((?:https?:|wss?:)?//[^"'`\s]+)""")
_JS_STORAGE = re.compile(
    r"\b(document\.cookie|localStorage|sessionStorage|indexedDB|caches\.open|serviceWorker)\b"
)


def _js_code(text: str) -> str:
    """``text`` with comments blanked (newlines kept); strings, templates and regexes left alone."""
    out, i, n, quote = [], 0, len(text), ""
    while i < n:
        c = text[i]
        if quote:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 1
            elif c == quote:
                quote = ""
        elif c in "\"'`":
            quote = c
            out.append(c)
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append("\n" * text.count("\n", i, end))
            i = end
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def scan_js(text: str, path: str, policy: AuditPolicy) -> list[ContentError]:
    """The site's own scripts: no URL literals to other origins, no cookies or storage."""
    found = []
    for number, line in enumerate(_js_code(text).splitlines(), start=1):
        for match in _JS_URL.finditer(line):
            kind = _classify(match.group(1), policy)
            if kind not in ("self", "local"):
                found.append(
                    ContentError(
                        path, number, f"script names {match.group(1)!r} on {kind} (another origin)"
                    )
                )
        for match in _JS_STORAGE.finditer(line):
            found.append(
                ContentError(
                    path,
                    number,
                    f"script uses {match.group(1)}: the site stores nothing in the browser",
                )
            )
    return found


def scan_json(text: str, path: str, policy: AuditPolicy) -> list[ContentError]:
    """JSON (e.g. versions.json, a web manifest): no URL values on another origin."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        return [ContentError(path, getattr(exc, "lineno", 1), f"not valid JSON: {exc}")]
    found = []
    for value in _url_like_strings(data):
        if (SCHEME.match(value) or value.startswith("//")) and not _SPACE.search(value):
            kind = _classify(value, policy)
            if kind not in ("self", "local"):
                needle = json.dumps(value)[1:-1]
                number = next(
                    (i for i, line in enumerate(text.splitlines(), start=1) if needle in line), 1
                )
                found.append(
                    ContentError(path, number, f"URL {value!r} on {kind} (another origin)")
                )
    return found


def _url_like_strings(data) -> list[str]:
    """The strings in parsed JSON that could be URLs (a colon, or a leading "//"), in no
    particular order, leaving out what keys starting with "$" hold: JSON Schema's
    $schema/$id/$ref name a schema, never load it. Without recursion: versions.json is large."""
    if type(data) is str:  # json.loads makes exactly these types
        return [data]
    found = []
    pending = [data] if type(data) in (dict, list) else []
    while pending:
        value = pending.pop()
        items = (
            [item for key, item in value.items() if key[:1] != "$"]
            if type(value) is dict
            else value
        )
        for item in items:
            kind = type(item)
            if kind is str:
                if ":" in item or item[:2] == "//":
                    found.append(item)
            elif kind is dict or kind is list:
                pending.append(item)
    return found
