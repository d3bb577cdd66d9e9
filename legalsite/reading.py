"""What a version page adds around its body for readers: section permalinks and
table boxes that scroll sideways on their own (issue 15); and its list of the policy's
versions (:func:`version_list`).

Why here and not in Markdown (markup.py): the body HTML is also what the redline
compares, what the content check scans and what versions.json hashes through the
page; a ``#`` inside every heading would show up in every redline and in the
headings' text. These are page chrome, so the page template adds them, through
the ``reader_body`` filter, to the HTML Markdown made.

The input is our own Markdown output (headings ``<h2 id="…">…</h2>``, tables
``<table>…</table>``) plus the raw HTML a policy may contain, which the content
check already limited to an allow-list (markup.ALLOWED_ELEMENTS): no scripts, no
comments that could hide a tag. The edits are plain insertions around whole
elements found by their tags; nothing is parsed and serialised again, so the
text between them keeps its exact bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import jinja2
from markupsafe import Markup, escape

from .model import Heading

# A level-2 or level-3 heading with an id, up to its end tag (headings do not nest).
_HEADING = re.compile(
    r'<(h[23])\b(?=[^>]*(?<![\w-])id="([^"]+)")[^>]*>.*?</\1>', re.DOTALL | re.IGNORECASE
)
_TABLE_TAG = re.compile(r"<(/?)table\b[^>]*>", re.IGNORECASE)


def reader_body(html: str, headings: Iterable[Heading]) -> Markup:
    """``html`` (a version's body) with a permalink after each heading of the table of
    contents and each outermost table in a box that scrolls sideways by itself."""
    return Markup(wrap_tables(add_permalinks(html, headings)))


def table_boxes(html: str) -> Markup:
    """``html`` (a redline) with each outermost table in a box that scrolls sideways."""
    return Markup(wrap_tables(html))


def add_permalinks(html: str, headings: Iterable[Heading]) -> str:
    """Each heading listed in ``headings`` (levels 2 and 3), with a ``#`` link to it.

    The link comes after the heading, not inside it, so the heading's text (its
    name for screen readers, its outline entry) stays what the author wrote; the
    link's own name says where it points: "Link to this section: <heading>"."""
    text_of = {h.id: h.text for h in headings}

    def one(match: re.Match[str]) -> str:
        tag, anchor = match.group(1).lower(), match.group(2)
        if anchor not in text_of:
            return match.group(0)
        return (
            f'<div class="section-heading section-heading-{tag}">{match.group(0)}'
            f'<a class="permalink" href="#{anchor}"><span aria-hidden="true">#</span>'
            f'<span class="visually-hidden">Link to this section: {escape(text_of[anchor])}'
            f"</span></a></div>"
        )

    return _HEADING.sub(one, html)


def wrap_tables(html: str) -> str:
    """Every outermost ``<table>`` inside ``<div class="table-scroll" …>``.

    The box is a labelled, focusable region so that keyboard users can scroll it
    (axe: scrollable-region-focusable) and each has its own name ("Table 2 of 3")
    (axe: landmark-unique)."""
    spans, depth, start = [], 0, 0
    for match in _TABLE_TAG.finditer(html):
        if not match.group(1):
            if depth == 0:
                start = match.start()
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                spans.append((start, match.end()))
    if not spans:
        return html
    out, last = [], 0
    for number, (begin, end) in enumerate(spans, start=1):
        label = f"Table {number} of {len(spans)}" if len(spans) > 1 else "Table"
        out += [
            html[last:begin],
            f'<div class="table-scroll" role="region" tabindex="0" aria-label="{label}">',
            html[begin:end],
            "</div>",
        ]
        last = end
    out.append(html[last:])
    return "".join(out)


def long_page(headings: Iterable[Heading]) -> bool:
    """A version or redline long enough to want "Back to top" at its end: five or more
    sections (the history and the changelog: ten or more rows, in their templates)."""
    return sum(1 for _ in headings) >= 5


def version_list(
    env: jinja2.Environment, entries: Sequence[Any], context: dict[str, Any]
) -> Callable[[Any, str], Markup]:
    """``version.html``'s ``version_list(entry, root)``: a policy's versions (``entries``,
    render.Entry, oldest first) newest first, ``entry``'s marked as the page's. Each is
    rendered once per page depth (``root``) by the macro ``entry`` of ``version-list.html``
    (with ``context``'s variables), with and without the mark, and each page joins them: a
    loop over every version on every page (51,000 entries at 20 x 50) made the version pages,
    history pages and feeds take 0.97-1.05 s of CPU, against 0.75-0.81 s (README, "Cold build
    CPU"). The macro sees its arguments, ``lang`` and ``settings``, nothing else of the page."""
    newest_first = entries[::-1]
    position = {id(e.version): k for k, e in enumerate(newest_first)}
    made: dict[str, tuple[list[Markup], list[Markup]]] = {}

    def listing(entry: Any, root: str) -> Markup:
        if root not in made:
            module = env.get_template("version-list.html").make_module(context)
            macro = module.entry  # type: ignore[attr-defined]  # the template's macro
            plain = [macro(e, root, False) for e in newest_first]
            made[root] = plain, [macro(e, root, True) for e in newest_first]
        plain, marked = made[root]
        k = position[id(entry.version)]
        return Markup("\n").join(plain[:k] + [marked[k]] + plain[k + 1 :])

    return listing
