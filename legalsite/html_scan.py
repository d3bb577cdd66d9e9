"""The one HTML scanner and the one URL classifier: the content check (markup.py), the
output audit (audit.py) and the redline (redline_pieces.py) all read HTML through here.

Why lxml: libxml2's HTML parser runs in C, recovers from any markup as browsers do,
and gives every element its source line, which every ``file:line`` message needs; it
is one of the most used and best kept Python packages. Measured here: the 100 policy
bodies of benchmarks/corpus.py (5 x 20) through the content check in 0.05 s of CPU
against 0.14-0.16 s with html.parser; 83 MB of built pages parsed in 1.6 s. selectolax
(lexbor) is as fast and follows HTML5's tree rules more closely, but reports no source
positions.
Why tinycss2: it tokenizes CSS as the CSS Syntax spec says (comments, escapes,
strings, ``url(`` with or without quotes), with line numbers, so ``url()``,
``@import`` and ``image-set()`` are found as a browser finds them.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import tinycss2
from lxml import etree

# --- URLs ---------------------------------------------------------------------

LOCAL_SCHEMES = {"data", "blob", "about", "mailto", "tel"}  # never leave the browser
SCRIPT_SCHEMES = {"javascript", "vbscript"}
_SPECIAL_SCHEMES = {"http", "https", "ws", "wss", "ftp", "file"}  # WHATWG's "special" schemes
SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
_URL_NOISE = re.compile(r"[\t\n\r]")
_STRIPPED = "".join(map(chr, range(0x21)))


def origin(url: str) -> str:
    """``scheme://host[:port]`` of an absolute URL, lower-cased; "" for anything else."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def browser_url(url: str) -> str:
    """``url`` as browsers read it (WHATWG): tabs and newlines anywhere dropped, leading and
    trailing spaces and control characters stripped, a backslash a slash in special URLs."""
    url = _URL_NOISE.sub("", url).strip(_STRIPPED)
    scheme = SCHEME.match(url)
    if scheme is None or scheme.group(1).lower() in _SPECIAL_SCHEMES:
        url = url.replace("\\", "/")  # "/\\host" is "//host"
    return url


def scheme_of(url: str) -> str:
    """The lower-cased scheme a browser sees in ``url``, "" for a relative URL."""
    match = SCHEME.match(browser_url(url))
    return match.group(1).lower() if match else ""


def classify(url: str, site_origin: str = "") -> str:
    """'self', 'local', 'javascript' (or vbscript) or the other origin ``url`` points to."""
    if site_origin and url.startswith(site_origin + "/"):
        return "self"  # as decided below: after the slash, no noise can change the host
    url = browser_url(url)
    if site_origin and url.startswith(site_origin) and url[len(site_origin) :][:1] in ("", "/"):
        return "self"  # the common case, decided as below would decide it, without parsing
    if url.startswith("//"):
        host = urlsplit("https:" + url).netloc.lower()
        if site_origin and urlsplit(site_origin).netloc == host:
            return "self"
        return origin("https:" + url) or url
    match = SCHEME.match(url)
    if not match:
        return "self"  # relative
    scheme = match.group(1).lower()
    if scheme in SCRIPT_SCHEMES:
        return "javascript"
    if scheme in LOCAL_SCHEMES:
        return "local"
    found = origin(url)
    if found and found == site_origin:
        return "self"
    return found or url


def srcset_urls(value: str) -> list[str]:
    return [candidate.strip().split()[0] for candidate in value.split(",") if candidate.strip()]


# --- HTML ---------------------------------------------------------------------


def parse(html: str | bytes, fragment: bool = False):
    """The root element of ``html`` (a page, or with ``fragment`` a piece of a body that
    stays in the body: a ``<link>`` or ``<style>`` is not moved to a head). Lines are the
    text's own: the wrapper adds none. Comments, and ``<?...?>``, are comment nodes."""
    return parse_with_errors(html, fragment)[0]


def parse_with_errors(html: str | bytes, fragment: bool = False):
    """:func:`parse`, and the parser's complaints (stray end tags...) as (line, message)."""
    if isinstance(html, bytes):
        html = html.decode("utf-8")
    if fragment:
        html = "<html><body>" + html
    parser = etree.HTMLParser()
    root = etree.fromstring(html, parser) if html.strip() else None
    if root is None:
        return etree.fromstring("<html></html>", parser), []
    errors = [(error.line, error.message) for error in parser.error_log]
    for line, message in errors:
        if message in _MISPLACED:
            _keep_misplaced(root, html, line)
    return root, errors


# A second <html> or <body> tag: libxml2 drops it, browsers give its attributes to the
# page's own element. Each is kept as an element of its own at the end, on its line, bare or
# not, so that the content check refuses it there (a bare one in a policy is a mistake too).
_MISPLACED = {"htmlParseStartTag: misplaced <html> tag", "htmlParseStartTag: misplaced <body> tag"}
_HTML_OR_BODY = re.compile(r"<(html|body)(?=[\s/>])", re.IGNORECASE)


def _keep_misplaced(root, html: str, line: int) -> None:
    start = sum(len(text) + 1 for text in html.split("\n")[: line - 1])
    for match in _HTML_OR_BODY.finditer(html, start, html.find("\n", start) % (len(html) + 1)):
        copy = etree.fromstring(
            "<html><body><span" + html[match.end() : match.end() + 4000], etree.HTMLParser()
        )
        element = copy.find("body/span")
        if element is not None:
            kept = etree.SubElement(root, match.group(1).lower(), dict(element.attrib))
            kept.sourceline = line


def elements(root):
    """Every element under ``root`` in document order, as (tag, attributes, element)."""
    for el in root.iter(etree.Element):
        yield el.tag, el.attrib, el


def start_line(lines: list[str], el, needle: str = "") -> int:
    """The line where ``el``'s start tag begins (libxml2 gives the line where it ends)."""
    needle = needle or "<" + el.tag
    line = el.sourceline or 1
    for number in range(min(line, len(lines)), max(line - 50, 0), -1):
        if needle in lines[number - 1].lower():
            return number
    return line


# --- CSS ----------------------------------------------------------------------

_IMAGE_SETS = {"image-set", "-webkit-image-set"}


def css_urls(text: str) -> list[tuple[str, str, int]]:
    """(what, url, line) for every ``@import``, ``url()`` and ``image-set()`` string in CSS."""
    found: list[tuple[str, str, int]] = []
    _walk_css(tinycss2.parse_component_value_list(text, skip_comments=True), found, "url()")
    return found


def _walk_css(tokens, found: list, what: str) -> None:
    importing = False
    for token in tokens:
        kind = token.type
        if kind == "at-keyword":
            importing = token.lower_value == "import"
            continue
        if kind == "url":
            found.append(("@import" if importing else "url()", token.value, token.source_line))
        elif kind == "function" and token.lower_name == "url":
            strings = [t.value for t in token.arguments if t.type == "string"]
            found += [
                ("@import" if importing else "url()", s, token.source_line) for s in strings[:1]
            ]
        elif kind == "string" and (importing or what == "image-set()"):
            found.append(("@import" if importing else what, token.value, token.source_line))
        elif kind == "function":
            _walk_css(
                token.arguments, found, "image-set()" if token.lower_name in _IMAGE_SETS else what
            )
        elif kind in ("() block", "[] block", "{} block"):
            _walk_css(token.content, found, what)
        if kind not in ("whitespace", "comment"):
            importing = False
