"""Markdown to HTML, through one factory; each distinct block checked by allowlist.py.

Python-Markdown does the parsing; we only choose extensions and give headings
anchors that survive renumbering ("3. Data Sharing" and "4. Data Sharing" both
become ``#data-sharing``), so links into a policy keep working across versions.
"""

from __future__ import annotations

import dataclasses
import html as htmllib
import re
import unicodedata
import xml.etree.ElementTree as etree
from dataclasses import dataclass
from typing import Protocol

import markdown
from markdown.extensions import Extension
from markdown.extensions.abbr import AbbrExtension
from markdown.extensions.attr_list import AttrListExtension
from markdown.extensions.def_list import DefListExtension
from markdown.extensions.fenced_code import FencedCodeExtension
from markdown.extensions.footnotes import FootnoteExtension
from markdown.extensions.md_in_html import MarkdownInHtmlExtension
from markdown.extensions.sane_lists import SaneListExtension
from markdown.extensions.tables import TableExtension
from markdown.extensions.toc import TocExtension, unique
from markdown.inlinepatterns import InlineProcessor

from .allowlist import Finding, locate, scan_html  # noqa: F401  (locate: content.py's)
from .model import Heading

_LEADING_NUMBER = re.compile(
    r"^\s*(?:(?:section|§)\s*)?(?:\d+|[ivxlc]+|[a-z])(?:\.\d+)*[.)]?\s+", re.IGNORECASE
)


def heading_slug(text: str, separator: str = "-") -> str:
    """An anchor from heading text, without its leading number, ASCII only."""
    text = _LEADING_NUMBER.sub("", text, count=1) or text
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s_]+", separator, text) or "section"


PLACEHOLDER_PATTERN = r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}"


class _SettingProcessor(InlineProcessor):
    """Replaces ``{{ contact_email }}`` with the setting, or a visible placeholder.

    Facts legal text depends on but the source does not know (an address lost
    in extraction) live in site.toml; until ops fill them in, readers see a
    highlighted "to be set" marker rather than an invented value.
    """

    def __init__(self, pattern: str, md: markdown.Markdown, values: dict[str, str]):
        super().__init__(pattern, md)
        self.values = values

    def handleMatch(self, m, data):  # noqa: N802 (Python-Markdown's name)
        name = m.group(1)
        if name not in self.values:
            self.md.unknown_settings.append(m.group(0))
            return None, None, None
        value = self.values[name]
        if not value:
            el = etree.Element("mark", {"class": "placeholder"})
            el.text = f"[{name.replace('_', ' ')} to be set in site.toml]"
        elif name == "contact_email":
            el = etree.Element("a", {"href": f"mailto:{value}"})
            el.text = value
        else:
            el = etree.Element("span")
            el.text = value
        return el, m.start(0), m.end(0)


class SettingsExtension(Extension):
    """``{{ name }}`` in policy text for the values of SETTING_PLACEHOLDERS."""

    def __init__(self, values: dict[str, str]):
        super().__init__()
        self.values = values

    def extendMarkdown(self, md):  # noqa: N802
        md.unknown_settings = []
        md.setting_names = sorted(self.values)
        md.inlinePatterns.register(
            _SettingProcessor(PLACEHOLDER_PATTERN, md, self.values), "site_setting", 175
        )

    def reset(self):
        pass


def make_markdown(settings: dict[str, str] | None = None) -> markdown.Markdown:
    """The one Markdown configuration of the site; ``settings`` feeds ``{{ name }}``.

    The extensions are given as instances, not names: a name is looked up among
    every installed package's entry points, which costs a scan of all their
    metadata (about a tenth of a one-edit rebuild) and would let another package
    that registers the same name replace ours. The first seven are what "extra"
    loads, in its order."""
    return markdown.Markdown(
        extensions=[
            FencedCodeExtension(),
            FootnoteExtension(),
            AttrListExtension(),
            DefListExtension(),
            TableExtension(),
            AbbrExtension(),
            MarkdownInHtmlExtension(),
            SaneListExtension(),
            TocExtension(slugify=heading_slug, permalink=False),
            SettingsExtension(settings or {}),
        ],
        output_format="html",
    )


@dataclass(frozen=True)
class Rendered:
    html: str
    headings: tuple[Heading, ...]  # levels 2 and 3: the table of contents
    has_h1: bool
    unknown_settings: tuple[str, ...]
    findings: tuple[Finding, ...]  # scan_html of html, done once per distinct part
    anchors: tuple[Heading, ...]  # every heading, every level, in order
    # the html's ids are exactly its headings' own slugs, none suffixed (see _unique_anchors)
    plain_ids: bool = dataclasses.field(default=False, compare=False)


def _flatten(tokens: list[dict]) -> list[Heading]:
    out: list[Heading] = []
    for token in tokens:
        out.append(
            Heading(level=token["level"], id=token["id"], text=htmllib.unescape(token["name"]))
        )
        out.extend(_flatten(token["children"]))
    return out


# Consecutive versions of a policy share most of their sections, so a build renders
# each distinct section once. That is only equivalent to rendering the whole body
# when nothing in one section depends on another: no reference links, footnotes or
# abbreviations (defined anywhere), no fenced code or raw HTML blocks (which could
# contain a line that looks like a heading), and no heading anchor used twice
# (the toc extension de-duplicates across the whole body).
#
# The patterns that look at the start of a line are matched against "\n" + text,
# with "\n" where "^" (multi-line) would be: Python's re tries a pattern that starts
# with "^" at every position of the text, and finds one that starts with a character
# by scanning for it, 5 to 25 times faster on a 25 KB body (2.4 ms of each parse).
_SECTION_START = re.compile(r"\n(?=## )")  # a line starting "## "
_CROSS_SECTION_LINE = re.compile(r"\n(?: {0,3}\[[^\]]+\]:|\*\[| {0,3}(?:```|~~~|<))")
_CROSS_SECTION_ANYWHERE = re.compile(r"\[\^|\[TOC\]")
_ID = re.compile(r' id="([^"]*)"')
# Inside a section, blocks separated by a blank line are rendered apart when the
# next one plainly starts a new paragraph, heading or table (not a list item, a
# continuation, a definition or a quote), and the section has no definition
# lists or setext underlines, whose meaning spans blank lines.
_BLOCK_START = re.compile(
    r"\n\n+(?=(?!(?:[-*+]|\d+[.)])[ \t])(?:[A-Za-z0-9(\"'_\[{|]|\*\S|#{3,6} ))"
)
_SPANS_BLANK_LINES = re.compile(
    r"\n(?::|=+\s*$|-+\s*$)", re.MULTILINE
)  # "\n": a line start, as above


def _sections(text: str) -> list[str]:
    """``text`` cut before each line that starts with "## ", as re.split(r"^(?=## )") cuts it."""
    cuts = [m.start() for m in _SECTION_START.finditer("\n" + text)]
    return [text[a:b] for a, b in zip([0] + cuts, cuts + [len(text)], strict=False)]


def _cross_section(text: str) -> bool:
    return bool(_CROSS_SECTION_ANYWHERE.search(text) or _CROSS_SECTION_LINE.search("\n" + text))


class SectionMemo(Protocol):
    """What render_body needs of its memo: a dict, or content.StoredSections (the store)."""

    def get(self, key: str, /) -> Rendered | None: ...

    def __setitem__(self, key: str, value: Rendered, /) -> None: ...


def render_body(md: markdown.Markdown, text: str, memo: SectionMemo | None) -> Rendered:
    """Render a policy body, reusing ``memo``'s sections; same result as :func:`render_markdown`."""
    if memo is None or _cross_section(text):
        return render_markdown(md, text)
    parts: list[
        Rendered
    ] = []  # memo: get and item assignment only (content.StoredSections extends those)
    for section in _sections(text):
        chunks = [section] if _SPANS_BLANK_LINES.search("\n" + section) else _split_blocks(section)
        for chunk in chunks:
            part = memo.get(chunk)
            if part is None:
                part = memo[chunk] = render_markdown(md, chunk)
            parts.append(part)
    html = "\n".join(p.html for p in parts if p.html)
    ids = _ID.findall(html)
    if len(ids) != len(set(ids)):
        unique = _unique_anchors(parts, text)
        if unique is None:
            return render_markdown(md, text)
        parts = unique
        html = "\n".join(p.html for p in parts if p.html)
    return Rendered(
        html=html,
        headings=tuple(h for p in parts for h in p.headings),
        has_h1=any(p.has_h1 for p in parts),
        unknown_settings=tuple(u for p in parts for u in p.unknown_settings),
        findings=tuple(f for p in parts for f in p.findings),
        anchors=tuple(h for p in parts for h in p.anchors),
    )


# An explicit id ({#name}, {: id=name}) is taken before any heading gets its anchor.
_EXPLICIT_ID = re.compile(r"\{:?[^}\n]*(?:#|\bid\s*=)")


def _unique_anchors(parts: list[Rendered], text: str) -> list[Rendered] | None:
    """Give repeated heading anchors the suffixes the toc extension gives them
    ("measures", "measures_1") when it sees the whole body, or None when that
    cannot be shown equal. It can when every id in every part is a heading's own
    slug: no explicit or raw-HTML ids, no suffix already given inside a part
    (heading_slug never makes an underscore, so an id with one was suffixed)."""
    if _EXPLICIT_ID.search(text):
        return None
    used: set[str] = set()
    out = []
    for part in parts:
        if not part.plain_ids:
            return None
        own = [h.id for h in part.anchors]
        ids = [unique(anchor, used) for anchor in own]
        if ids == own:
            out.append(part)
            continue
        renamed = dict(
            zip(own, ids, strict=False)
        )  # distinct keys: a repeat inside a part would have a "_"
        fresh = iter(ids)
        out.append(
            Rendered(
                html=_ID.sub(lambda m: f' id="{next(fresh)}"', part.html),
                headings=tuple(Heading(h.level, renamed[h.id], h.text) for h in part.headings),
                has_h1=part.has_h1,
                unknown_settings=part.unknown_settings,
                findings=part.findings,
                anchors=tuple(Heading(h.level, renamed[h.id], h.text) for h in part.anchors),
                plain_ids=False,
            )
        )
    return out


def _split_blocks(section: str) -> list[str]:
    starts = [0] + [m.end() for m in _BLOCK_START.finditer(section)]
    return [section[a:b] for a, b in zip(starts, starts[1:] + [len(section)], strict=False)]


def render_markdown(md: markdown.Markdown, text: str) -> Rendered:
    """Render one body with a (reused) Markdown instance."""
    md.reset()
    md.unknown_settings = []  # type: ignore[attr-defined]  # our settings extension
    html = md.convert(text)
    headings = _flatten(md.toc_tokens)  # type: ignore[attr-defined]  # the toc extension
    own = [h.id for h in headings]
    return Rendered(
        html=html,
        headings=tuple(h for h in headings if h.level in (2, 3)),
        has_h1=any(h.level == 1 for h in headings),
        unknown_settings=tuple(md.unknown_settings),  # type: ignore[attr-defined]
        findings=tuple(scan_html(html)),
        anchors=tuple(headings),
        plain_ids=_ID.findall(html) == own
        and all("_" not in h.id and h.id == heading_slug(h.text) for h in headings),
    )
