"""What policy text may contain: the allow-list its rendered HTML is judged by.

Content HTML is judged by an allow-list of the elements and attributes a policy needs, read
by the one scanner (html_scan: lxml) and with its one URL classifier; anything else is
refused, and :func:`locate` finds the source line each refusal names. markup.py runs
:func:`scan_html` once per distinct Markdown block.
"""

from __future__ import annotations

import html as htmllib
from dataclasses import dataclass

from .html_scan import classify, elements, parse, scheme_of, srcset_urls

# -------------------------------------------------------------------
# Content HTML is judged by an allow-list: the elements and attributes a policy needs
# (what our Markdown makes, and the same in plain HTML). Anything else is refused at its
# line. The messages below only give the commonest refusals a precise fix.

ALLOWED_ELEMENTS = frozenset(
    "a abbr b bdi bdo blockquote br caption cite code col colgroup data dd del details dfn div dl dt em "
    "figcaption figure h1 h2 h3 h4 h5 h6 hr i img ins kbd li mark ol p picture pre q s samp section small "
    "source span strong sub summary sup table tbody td tfoot th thead time tr u ul var wbr".split()
)
GLOBAL_ATTRS = frozenset("id class title lang dir role translate".split())  # and aria-*, data-*
ELEMENT_ATTRS = {
    "a": {"href", "rel", "hreflang", "type"},
    "img": {"src", "srcset", "sizes", "alt", "width", "height", "loading", "decoding"},
    "source": {"srcset", "sizes", "type", "media"},
    "ol": {"start", "type", "reversed"},
    "li": {"value"},
    "td": {"colspan", "rowspan", "headers"},
    "th": {"colspan", "rowspan", "headers", "scope", "abbr"},
    "col": {"span"},
    "colgroup": {"span"},
    "time": {"datetime"},
    "data": {"value"},
    "details": {"open"},
    "q": {"cite"},
    "blockquote": {"cite"},
    "del": {"cite", "datetime"},
    "ins": {"cite", "datetime"},
}
FORBIDDEN_TAGS = {
    "script": (
        "raw <script> is not allowed in a policy: remove it (the site's only script is the "
        "analytics tracker, added by the template)"
    ),
    "iframe": "<iframe> is not allowed: link to the page instead",
    "frame": "<frame> is not allowed: link to the page instead",
    "object": "<object> is not allowed: link to the document instead",
    "embed": "<embed> is not allowed: link to the document instead",
    "applet": "<applet> is not allowed: remove it",
    "base": "<base> is not allowed: it changes where every link points",
    "form": "<form> is not allowed: a policy page sends nothing anywhere",
    "meta": "<meta> is not allowed in content: page metadata comes from the template",
    "link": "<link> is not allowed in content: styles come from the site's stylesheet",
    "style": "<style> is not allowed in content: put styles in templates/assets/*.css",
    "portal": "<portal> is not allowed: link to the page instead",
}
# Attributes holding a URL: a script or data scheme in any of them is refused, and outside
# links for people (<a href>, cite=) a URL other than a path on the site loads something.
URL_ATTRS = frozenset(
    "href xlink:href src srcset poster data background action formaction manifest cite longdesc lowsrc "
    "dynsrc codebase archive icon usemap".split()
)
_LINKS = {("a", "href"), ("area", "href")}
BAD_SCHEMES = ("javascript", "vbscript", "data")


@dataclass(frozen=True)
class Finding:
    """Something unsafe in rendered HTML; ``needle`` locates it in the source."""

    needle: str
    message: str
    near: str = ""  # a surer needle where there is one (the URL itself); ``needle`` if not found


def _loads(tag: str, name: str, value: str) -> list[Finding]:
    """A URL attribute's problem: a script or data scheme, or a load from elsewhere."""
    urls = srcset_urls(value) if name == "srcset" else [value]
    scheme = next((s for s in map(scheme_of, urls) if s in BAD_SCHEMES), "")
    if scheme:
        return [
            Finding(
                f"{scheme}:",
                f"'{scheme}:' URLs are not allowed in {name}=: link to a real page instead",
                near=value.strip(),  # "javascript:" alone may be words on an earlier line
            )
        ]
    if (tag, name) in _LINKS or name == "cite" or all(classify(url) == "self" for url in urls):
        return []
    first = value.strip().split()[0].split(",")[0] if value.strip() else value
    return [
        Finding(
            first, f"{tag} loads '{value.strip()}' from another site: {_LOCAL_FIX.get(tag, _FIX)}"
        )
    ]


# Where a policy's own files go: theme.load_theme publishes every file directly in
# templates/assets/ (not in a subfolder) at /assets/<name>, which the allow-list counts as self.
_FIX = "copy the file into the site or link to it instead"
_LOCAL_FIX = {
    tag: "copy the file into templates/assets/ (each file there, not in a subfolder, is published "
    "as /assets/<file name>) and use /assets/<file name>, e.g. ![what it shows](/assets/seal.png); "
    "or link to it instead"
    for tag in ("img", "source")
}


def _danger(tag: str, name: str, value: str) -> list[Finding]:
    """What an attribute would run or load, on any element."""
    if name.startswith("on"):
        return [
            Finding(
                name,
                f"event handler attribute '{name}' is not allowed: remove it (pages run no inline script)",
            )
        ]
    return _loads(tag, name, value) if name in URL_ATTRS else []


_REFUSED_ATTRS = {  # attribute -> (needle, message)
    "style": (
        "style=",
        "inline style attributes are blocked by the Content-Security-Policy: use a class and "
        "templates/assets/*.css",
    ),
    "ping": ("ping", "<a ping> would report clicks to another server: remove the ping attribute"),
}


def _attribute(tag: str, name: str, value: str) -> list[Finding]:
    """An attribute of an allowed element: dangerous, or outside the allow-list."""
    found = _danger(tag, name, value)
    if found:
        return found
    if "<" in value or ">" in value:  # reading.py finds headings and tables in the HTML by tag
        return [
            Finding(
                name,
                f"attribute '{name}' on <{tag}> contains '<' or '>': a policy's attributes need "
                "no angle brackets; remove them",
            )
        ]
    if name in _REFUSED_ATTRS:
        return [Finding(*_REFUSED_ATTRS[name])]
    if (
        name in GLOBAL_ATTRS
        or name.startswith(("aria-", "data-"))
        or name in ELEMENT_ATTRS.get(tag, ())
    ):
        return []
    return [Finding(name, f"attribute '{name}' is not allowed on <{tag}> in a policy: remove it")]


def scan_html(html: str) -> list[Finding]:
    """Everything in rendered content outside the allow-list, or that would run code or load
    from elsewhere. Inside a refused element only what runs or loads something is named."""
    findings: list[Finding] = []
    root = parse(html, fragment=True)
    wrappers = (root, root.find("body"))
    refused = None  # the outermost refused element being walked through
    for tag, attrs, element in elements(root):
        if element in wrappers:
            continue
        if refused is not None and refused not in element.iterancestors():
            refused = None
        if tag in FORBIDDEN_TAGS:
            findings.append(Finding(f"<{tag}", FORBIDDEN_TAGS[tag]))
        elif refused is not None or tag not in ALLOWED_ELEMENTS:
            danger = [f for name, value in attrs.items() for f in _danger(tag, name, value)]
            if not danger and refused is None:
                message = (
                    f"<{tag}> is not allowed in a policy: use Markdown, or the HTML a policy needs "
                    "(README, 'What the text may contain')"
                )
                danger = [Finding(f"<{tag}", message)]
            findings += danger
        else:
            findings += [f for name, value in attrs.items() for f in _attribute(tag, name, value)]
            continue
        refused = refused if refused is not None else element
    return findings


def locate(lines: list[str], needle: str, skip: int = 0, near: str = "") -> int:
    """1-based index of the first source line containing ``needle`` (case-insensitive, with
    character references read as browsers read them), after ``skip`` such lines (earlier
    findings of the same needle): the last one when there are fewer; else 1. ``near``: a
    surer needle tried first, the finding's URL, where ``skip`` counts its occurrences (two
    links on one line are two); an encoded URL is found decoded."""
    if near:
        at = _occurrence(lines, near.lower(), skip)
        if at is not None:
            return at
    lowered, found = needle.lower(), []
    for number, line in enumerate(lines, start=1):
        if lowered in line.lower() or ("&" in line and lowered in htmllib.unescape(line).lower()):
            found.append(number)
            if len(found) > skip:
                break
    return found[-1] if found else 1


def _occurrence(lines: list[str], lowered: str, skip: int) -> int | None:
    """The line of the (skip+1)th occurrence of ``lowered``, raw or decoded (the last if
    fewer); None if it occurs nowhere."""
    seen, last = 0, None
    for number, line in enumerate(lines, start=1):
        text = line.lower()
        count = max(
            text.count(lowered), htmllib.unescape(text).count(lowered) if "&" in text else 0
        )
        if count:
            seen, last = seen + count, number
            if seen > skip:
                return number
    return last
