"""The privacy audit of a built site: nothing may make a browser contact another origin.

Every output file is scanned (HTML and SVG, CSS, XML, JSON, JS) for anything that
would load or send something from or to an origin other than the site itself:
script, stylesheet, image, media, frame, object, font and manifest URLs, ``srcset``
and ``poster``, CSS ``url()`` and ``@import``, ``<link rel=preconnect|dns-prefetch|
preload|...>``, meta refresh, form actions, ``<a ping>``, ``<base href>``, and also
inline scripts, inline event handlers, ``javascript:`` URLs and pages without the
Content-Security-Policy. The one exception is the analytics tracker: a ``<script
src>`` on the configured analytics origin while the tracker is on. Plain links for
people to follow (``<a href>``, canonical and alternate links, sitemap entries) are fine.

Findings are :class:`~legalsite.model.ContentError` (``file:line: what``). HTML is read
by the one scanner (html_scan: lxml, CSS through tinycss2), URLs judged by its one
classifier; nothing is fetched.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from .html_scan import SCHEME, classify, css_urls, origin, parse, srcset_urls, start_line
from .model import ContentError, Site
from .security import allowed_origins, content_security_policy


@dataclass(frozen=True)
class AuditPolicy:
    """What the audit allows: the site's own origin and, for the tracker, the analytics origin."""

    site_origin: str = ""  # from base_url; absolute URLs on it count as the site itself
    tracker_origin: str = ""  # "" when no page may load the tracker
    csp: str = ""  # the <meta> policy every page must carry ("" = do not check)


def audit_policy(site: Site) -> AuditPolicy:
    origins = allowed_origins(site)
    return AuditPolicy(
        site_origin=origin(site.settings.base_url),
        tracker_origin=origin(origins[0]) if origins else "",
        csp=content_security_policy(site),
    )


# Elements and attributes whose URL the browser fetches (or sends to) by itself.
_FETCH_ATTRS = {
    "src",
    "href",
    "srcset",
    "imagesrcset",
    "poster",
    "data",
    "background",
    "action",
    "formaction",
    "ping",
    "manifest",
    "codebase",
    "archive",
    "longdesc",
    "lowsrc",
    "dynsrc",
    "xlink:href",
    "cite",
    "profile",
    "icon",
    "srcdoc",
}
# <link rel> values that do not fetch anything: links for people, crawlers and feed readers.
_PASSIVE_RELS = {
    "canonical",
    "alternate",
    "author",
    "license",
    "help",
    "next",
    "prev",
    "bookmark",
    "me",
    "external",
    "nofollow",
    "noopener",
    "noreferrer",
    "tag",
    "search",
    "privacy-policy",
    "terms-of-service",
    "home",
    "index",
    "up",
    "first",
    "last",
    "archives",
}
# Elements whose href is a link for people (everything else with href fetches, e.g. SVG <image>).
_NAVIGATION = {"a", "area"}
_FRAMES = {"iframe", "frame", "frameset", "embed", "object", "applet", "portal", "fencedframe"}
_DATA_SCRIPT_TYPES = {"application/ld+json", "application/json", "importmap", "speculationrules"}
# "5; url=x", "0;x", "0, 'x'": browsers take the URL with or without "url=".
_REFRESH_URL = re.compile(r"^\s*[\d.]*\s*[;,]?\s*(?:url\s*=\s*)?['\"]?([^'\"]+)", re.IGNORECASE)


def _classify(url: str, policy: AuditPolicy) -> str:
    return classify(url, policy.site_origin)


def scan_css(
    text: str, path: str, policy: AuditPolicy, first_line: int = 1, where: str = "CSS"
) -> list[ContentError]:
    """CSS ``url()``, ``@import`` and ``image-set()`` pointing anywhere but the site."""
    found = []
    for what, url, line in css_urls(text):
        kind = _classify(url, policy)
        if kind not in ("self", "local"):
            target = "a javascript: URL" if kind == "javascript" else f"{kind} (another origin)"
            found.append(
                ContentError(
                    path,
                    first_line + line - 1,
                    f"{where} {what} loads {url.strip()!r} from {target}",
                )
            )
    return found


class _HTMLAudit:
    """The findings in one HTML file or fragment, element by element."""

    def __init__(self, path: str, policy: AuditPolicy, text: str):
        self.path = path
        self.policy = policy
        self.text = text
        self.found: list[ContentError] = []
        self.csp_seen: list[str] = []
        self.node, self.needle = None, ""  # what is being looked at

    @property
    def line(self) -> int:
        """Where the node being looked at starts (worked out only for a finding: rare)."""
        return start_line(self.text.split("\n"), self.node, self.needle)

    def add(self, message: str, line: int | None = None) -> None:
        self.found.append(ContentError(self.path, line or self.line, message))

    def _url(self, element: str, attr: str, url: str, allow_tracker: bool = False) -> None:
        kind = _classify(url, self.policy)
        if kind in ("self", "local"):
            return
        if kind == "javascript":
            self.add(
                f"{element} {attr} is a javascript: URL: scripts may only come from files on the site"
            )
            return
        if allow_tracker and kind == self.policy.tracker_origin:
            return
        self.add(
            f"{element} {attr} makes the browser contact {kind} (another origin): {url.strip()}"
        )

    def comment(self, node) -> None:
        text = node.text or ""
        if text.startswith("?xml-stylesheet"):  # libxml2 reads <?...?> in HTML as a comment
            href = re.search(r"""href\s*=\s*["']([^"']+)""", text)
            if href:
                self.node, self.needle = node, "<?"
                self._url("<?xml-stylesheet?>", "href", href.group(1))

    def element(self, tag: str, values, el) -> None:
        self.node, self.needle = el, ""
        element = f"<{tag}>"
        if tag in _FRAMES:
            where = values.get("src") or values.get("data") or ""
            self.add(
                f"{element}: no frames or embedded objects on the site{' (' + where + ')' if where else ''}"
            )
            return
        if tag == "style":
            self.found += scan_css(el.text or "", self.path, self.policy, self.line, "<style>")
        for name, value in values.items():
            if (
                name != "style" and "url(" in value.lower()
            ):  # SVG's fill=, mask=, filter=... take url() too
                self.found += scan_css(
                    value, self.path, self.policy, self.line, f"{element} {name} attribute"
                )
            if name.startswith("on"):
                self.add(
                    f"{element} has an inline event handler {name}=: scripts may only come from files on the site"
                )
            elif name == "style":
                self.found += scan_css(
                    value, self.path, self.policy, self.line, f"{element} style attribute"
                )
            elif name == "ping":
                self.add(f"{element} has ping= (sends a request when followed): remove it")
            elif tag == "base" and name == "href":
                if (
                    _classify(value, self.policy) != "self"
                    or SCHEME.match(value)
                    or value.startswith("//")
                ):
                    self.add(
                        f"<base href> points to {value!r}: relative URLs would resolve against it; remove it"
                    )
            elif name in ("srcset", "imagesrcset"):
                for url in srcset_urls(value):
                    self._url(element, name, url)
            elif name == "srcdoc":
                self.add(f"{element} has srcdoc=: no frames on the site")
            elif name in ("href", "xlink:href"):
                if tag in _NAVIGATION:
                    if _classify(value, self.policy) == "javascript":
                        self._url(element, name, value)
                elif tag == "link":
                    rels = set(values.get("rel", "").lower().split())
                    if not rels or rels - _PASSIVE_RELS:
                        self._url(f'<link rel="{values.get("rel", "")}">', name, value)
                else:
                    self._url(element, name, value)
            elif name in _FETCH_ATTRS - {
                "href",
                "xlink:href",
                "ping",
                "srcset",
                "imagesrcset",
                "srcdoc",
            }:
                if (
                    name == "cite"
                ):  # <blockquote cite> is not fetched, but a javascript: URL is wrong anyway
                    if _classify(value, self.policy) == "javascript":
                        self._url(element, name, value)
                    continue
                self._url(element, name, value, allow_tracker=(tag == "script" and name == "src"))
        if tag == "script":
            if "src" not in values and values.get("type", "").lower() not in _DATA_SCRIPT_TYPES:
                self.add(
                    "inline <script>: scripts may only come from files on the site (the CSP blocks it)"
                )
        elif tag == "meta":
            equiv = values.get("http-equiv", "").lower()
            if equiv == "refresh":
                target = _REFRESH_URL.search(values.get("content", ""))
                if target:
                    self._url('<meta http-equiv="refresh">', "url", target.group(1))
            elif equiv == "content-security-policy":
                self.csp_seen.append(values.get("content", ""))
            elif equiv in ("link", "set-cookie"):
                self.add(f'<meta http-equiv="{equiv}">: not allowed on the site')

    def close(self, page: bool) -> None:
        if page and self.policy.csp:
            if not self.csp_seen:
                self.add("page has no Content-Security-Policy <meta>", 1)
            elif any(csp != self.policy.csp for csp in self.csp_seen):
                self.add(
                    f"page's Content-Security-Policy is not the site's: {self.csp_seen[0]!r}", 1
                )


# Anything that may need the full parse. Pages usually have none of it, and then
# only their <link>, <script> and <meta> tags are parsed (the audit runs in every
# build and preview rebuild, so it must stay cheap on large sites).
_SUSPECT_LITERALS = (
    "<style",
    "<base",
    "<iframe",
    "<frame",
    "<embed",
    "<object",
    "<applet",
    "<portal",
    "<fencedframe",
    "<img",
    "<image",
    "<use",
    "<feimage",
    "<video",
    "<audio",
    "<source",
    "<track",
    "<picture",
    "<input",
    "<form",
    "<button",
    "javascript:",
    "url(",
    "@import",
    "image-set(",
    "srcdoc",
    "style=",
    "ping=",
    "srcset=",
    "poster=",
    "background=",
    "action=",
    "manifest=",
    "codebase=",
    "archive=",
    "longdesc=",
    "lowsrc=",
    "dynsrc=",
    "xlink:href=",
    "icon=",
    " data=",
    "\tdata=",
    "\ndata=",
    "<svg",
    "<math",
    "<?xml-stylesheet",
)
# Also suspect: an event handler (whitespace, "/" or a quote, "on", letters, optional
# whitespace, "="), one of _SPACED with whitespace before "=", an "&" in an href or src
# value (a character reference can hide a scheme), and the words below once tabs and
# newlines are removed (browsers drop them inside URLs). tests/test_audit.py holds the same
# rules as plain regular expressions and checks that _suspect decides exactly as they do;
# this form is three times faster.
_SUSPECT_TAGS = re.compile(
    "<(?:" + "|".join(re.escape(s[1:]) for s in _SUSPECT_LITERALS if s.startswith("<")) + ")"
)
_SUSPECT_WORDS = tuple(
    s for s in _SUSPECT_LITERALS if not s.startswith("<") and not s.endswith("=")
)
_BEFORE_EQUALS = tuple(s[:-1] for s in _SUSPECT_LITERALS if s.endswith("="))
_SPACED = (
    "style",
    "ping",
    "srcset",
    "poster",
    "background",
    "action",
    "manifest",
    "data",
    "icon",
    "href",
    "src",
)
_SUSPECT_ENCODED_URL = re.compile(r"(?:href|src)\s*=\s*[\"']?[^\"'>]*&")


# A page is decided piece by piece, cut at every ">\n<" (between two lines of markup), and a
# piece seen before is not scanned again: a policy's pages repeat the same paragraphs, lists
# and navigation dozens of times. No rule can match across such a cut: none contains ">" or
# "\n<" (a pattern's "[^\"'>]*" stops at the ">"), a word or "on...=" cannot start at the
# "<" after it, and the "<" that starts each later piece is put back before it is scanned.
_CUT = ">\n<"


def _suspect(text: str, seen: dict[str, bool] | None = None) -> bool:
    """Whether ``text`` may need the full parse; ``seen`` remembers pieces already decided."""
    pieces = text.split(_CUT)
    if _suspect_piece(pieces[0]):
        return True
    seen = {} if seen is None else seen
    for piece in pieces[1:]:
        decided = seen.get(piece)
        if decided is None:
            decided = seen[piece] = _suspect_piece("<" + piece)
        if decided:
            return True
    return False


def _suspect_piece(text: str) -> bool:
    lowered = text.lower()
    compact = lowered.replace("\t", "").replace("\n", "").replace("\r", "")
    if _SUSPECT_TAGS.search(lowered) or any(word in compact for word in _SUSPECT_WORDS):
        return True
    before_equals = lowered.split("=")
    before_equals.pop()  # what follows the last "="
    for piece in before_equals:
        if piece.endswith(_BEFORE_EQUALS):
            return True
        tail = piece.rstrip()  # str.isspace, as \s in a regular expression
        if tail is not piece and tail.endswith(_SPACED):
            return True
        word = tail.rsplit(None, 1)[-1] if tail else ""
        for separator in "/\"'":
            word = word.rsplit(separator, 1)[-1]
        if (
            word.startswith("on")
            and 2 < len(word) < len(tail)
            and word.isascii()
            and word.isalpha()
        ):
            return True  # an event handler attribute
    return "&" in lowered and bool(_SUSPECT_ENCODED_URL.search(lowered))


_HEAD_TAG = re.compile(r"""<(?:link|script|meta)\b(?:"[^"]*"|'[^']*'|[^'">])*>""", re.IGNORECASE)
_HEAD_TAG_START = re.compile(r"<(?:link|script|meta)", re.IGNORECASE)


def scan_html(
    text: str,
    path: str,
    policy: AuditPolicy,
    page: bool = True,
    seen: dict[str, bool] | None = None,
) -> list[ContentError]:
    """Findings in one HTML (or SVG) file; ``page``: an HTML page, which must carry the CSP;
    ``seen``: see _suspect (pass one dict for many pages)."""
    heads = None if _suspect(text, seen) else list(_HEAD_TAG.finditer(text))
    if heads is not None and len(heads) == len(_HEAD_TAG_START.findall(text)):
        parts, last = [], 0  # just the tags that matter, on their own lines
        for match in heads:
            parts.append("\n" * text.count("\n", last, match.start()))
            parts.append(match.group(0))
            last = match.end()
        text = "".join(parts)
    audit = _HTMLAudit(path, policy, text)
    for node in parse(text, fragment=not page).iter():
        if isinstance(node.tag, str):
            audit.element(node.tag, node.attrib, node)
        elif node.tag is etree.Comment:
            audit.comment(node)
    audit.close(page)
    return audit.found


_XML_ESCAPED_HTML = re.compile(
    r"<(content|summary|description|subtitle|rights|title)\b[^>]*>(.*?)</\1>", re.DOTALL
)
_XML_ICON = re.compile(r"<(icon|logo|image|url)\b[^>]*>\s*([^<\s]+)\s*</\1>")


def scan_xml(text: str, path: str, policy: AuditPolicy) -> list[ContentError]:
    """Feeds and sitemaps: stylesheets, feed icons and HTML carried in entries."""
    import html as html_module

    found: list[ContentError] = []
    for match in re.finditer(r"<\?xml-stylesheet[^?]*\?>", text):
        href = re.search(r"""href\s*=\s*["']([^"']+)""", match.group(0))
        if href:
            kind = _classify(href.group(1), policy)
            if kind not in ("self", "local"):
                found.append(
                    ContentError(
                        path,
                        text.count("\n", 0, match.start()) + 1,
                        f"<?xml-stylesheet?> loads {href.group(1)!r} from {kind} (another origin)",
                    )
                )
    for match in _XML_ICON.finditer(text):
        kind = _classify(match.group(2), policy)
        if kind not in ("self", "local"):
            found.append(
                ContentError(
                    path,
                    text.count("\n", 0, match.start()) + 1,
                    f"<{match.group(1)}> makes feed readers load {match.group(2)!r} from {kind} (another origin)",
                )
            )
    line, counted = 1, 0
    for match in _XML_ESCAPED_HTML.finditer(text):
        body = match.group(2)
        line += text.count("\n", counted, match.start(2))
        counted = match.start(2)
        first_line = line
        inner = (
            html_module.unescape(body.replace("<![CDATA[", "").replace("]]>", ""))
            if "&lt;" in body or "CDATA" in body
            else body
        )
        for error in scan_html(inner, path, policy, page=False):
            found.append(
                ContentError(
                    path, first_line + error.line - 1, f"in <{match.group(1)}>: {error.message}"
                )
            )
    return found


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
        if (SCHEME.match(value) or value.startswith("//")) and not any(c.isspace() for c in value):
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


_SCANNERS = {
    ".svg": lambda text, path, policy: scan_html(text, path, policy, page=False),
    ".css": scan_css,
    ".xml": scan_xml,
    ".atom": scan_xml,
    ".rss": scan_xml,
    ".xsl": scan_xml,
    ".json": scan_json,
    ".webmanifest": scan_json,
    ".js": scan_js,
    ".mjs": scan_js,
}


def audit_file(
    path: str, data: bytes, policy: AuditPolicy, seen: dict[str, bool] | None = None
) -> list[ContentError]:
    """Findings in one output file; ``seen``: see _suspect."""
    suffix = Path(path).suffix.lower()
    scanner = _SCANNERS.get(suffix)
    if scanner is None and suffix not in (".html", ".htm"):
        return []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [ContentError(path, data[: exc.start].count(b"\n") + 1, "not valid UTF-8")]
    return scanner(text, path, policy) if scanner else scan_html(text, path, policy, seen=seen)


def audit_chunk(items: list[tuple[str, bytes]], policy: AuditPolicy) -> list[ContentError]:
    """Every finding in ``items`` (path, bytes): one task of :func:`audit_files`."""
    files = dict(items)
    return [
        finding
        for path, seen in pieces_seen(files)
        for finding in audit_file(path, files[path], policy, seen)
    ]


def pieces_seen(paths):
    """(path, seen) for each path, sorted: one _suspect memo per top folder (a policy's pages
    share their text; other policies' seldom do, and the memo would only grow)."""
    folder, seen = None, {}
    for path in sorted(paths):
        if path.split("/", 1)[0] != folder:
            folder, seen = path.split("/", 1)[0], {}
        yield path, seen


def audit_files(
    files: dict[str, bytes], policy: AuditPolicy, prefix: str = "", map=map
) -> list[ContentError]:
    """Every finding in ``files`` (output path -> bytes), paths shown as ``prefix + path``;
    ``map``: a pool's map to spread the files over processes (the audit is pure).

    A problem that comes from a template shows up in every page; it is reported
    once, with the number of other files that have it."""
    items = [(prefix + path, files[path]) for path in sorted(files)]
    size = max(8, len(items) // 64)  # small chunks: a worker holds little of the site at a time
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    by_message: dict[str, list[ContentError]] = {}
    for findings in map(audit_chunk, chunks, [policy] * len(chunks)):
        for finding in findings:
            by_message.setdefault(finding.message, []).append(finding)
    out = []
    for message, findings in by_message.items():
        first = findings[0]
        others = len({f.path for f in findings} - {first.path})
        suffix = f" (and {others} other file{'s' if others != 1 else ''})" if others else ""
        out.append(ContentError(first.path, first.line, message + suffix))
    return sorted(out)


def read_site(site_dir: Path) -> dict[str, bytes]:
    return {
        p.relative_to(site_dir).as_posix(): p.read_bytes()
        for p in sorted(site_dir.rglob("*"))
        if p.is_file()
    }
