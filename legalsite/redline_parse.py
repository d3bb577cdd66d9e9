"""HTML -> comparable blocks for the redline engine (read by the one scanner, html_scan).

A rendered policy body is parsed into a small tree, then flattened into *leaf blocks*
(paragraphs, headings, list-item text, table rows, code blocks, ...). Each leaf keeps the
chain of block containers it sits in (``ul > li > ul > li``) so the renderer can rebuild
balanced HTML, and its inline content as word tokens that remember their inline markup.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter

from .html_scan import parse_with_errors, scheme_of

DROP = frozenset("script style template iframe object noscript head title".split())
INLINE = frozenset(
    "a abbr b bdi bdo cite code data del dfn em i ins kbd mark q s samp small span strong "
    "sub sup time u var br img wbr label".split()
)
LEAF = frozenset("p h1 h2 h3 h4 h5 h6 pre tr hr dt caption".split())
HEADINGS = frozenset("h1 h2 h3 h4 h5 h6".split())
# attributes worth keeping in the redline; everything else (ids, classes, styles) is dropped
KEEP_ATTRS = {
    "a": ("href", "title"),
    "abbr": ("title",),
    "ol": ("start", "type", "reversed"),
    "td": ("colspan", "rowspan"),
    "th": ("colspan", "rowspan", "scope"),
    "img": ("src", "alt", "width", "height"),
    "time": ("datetime",),
    "data": ("value",),
    "q": ("cite",),
    "bdo": ("dir",),
}
SAFE_SCHEMES = {
    "http",
    "https",
    "mailto",
    "tel",
}  # a URL with any other colon is left out of the redline
WS = " \t\n\r\f"
PAIR_RE = re.compile(r"([ \t\n\r\f]*)(\w+(?:['\u2019.\-]\w+)*|[^\w \t\n\r\f])")


class Node:
    __slots__ = ("tag", "attrs", "children")

    def __init__(self, tag, attrs):
        self.tag, self.attrs, self.children = tag, attrs, []


def to_node(el) -> Node:
    """``el`` and what it holds as a Node tree; dropped elements leave only their tails."""
    node = Node(el.tag, dict(el.attrib))
    kids = node.children
    if el.text:
        kids.append(el.text)
    for child in el:
        if type(child.tag) is str and child.tag not in DROP and not dropped(child):
            kids.append(to_node(child))  # comments: only their tails count
        if child.tail:
            kids.append(child.tail)
    return node


def parse_body(html: str):
    """(body element, parser errors) of a rendered body, through the one scanner."""
    root, errors = parse_with_errors(html or "", fragment=True)
    return root.find("body"), errors


def parse_tree(html: str) -> Node:
    body, _errors = parse_body(html)
    return to_node(body) if body is not None else Node("#root", {})


def keep_attrs(tag, attrs):
    out = []
    for name in KEEP_ATTRS.get(tag, ()):
        if name in attrs:
            value = attrs[name]
            if (
                name in ("href", "src", "cite")
                and ":" in value
                and scheme_of(value) not in SAFE_SCHEMES
            ):
                continue
            out.append((name, value))
    return tuple(out)


class Inl:
    """An inline element instance (em, a, code...) that tokens sit inside."""

    __slots__ = ("tag", "attrs", "uid", "key")

    def __init__(self, tag, attrs, uid):
        self.tag, self.attrs, self.uid = tag, attrs, uid
        # in-page targets change when headings are renumbered: not a change of the text
        self.key = (
            tag,
            tuple((k, "#" if k == "href" and v.startswith("#") else v) for k, v in attrs),
        )


class Tok:
    """One word or punctuation mark, with the whitespace before it and its inline context."""

    __slots__ = ("ws", "text", "style", "void", "key", "is_word")

    def __init__(self, ws, text, style, void=None, skey=None):
        self.ws, self.text, self.style, self.void = ws, text, style, void
        self.key = (text, tuple(el.key for el in style) if skey is None else skey, void)
        self.is_word = text[:1].isalnum() or text[:1] == "_"


class Cont:
    """A block container instance (ul, li, table, tbody, blockquote...)."""

    __slots__ = ("tag", "attrs", "uid", "notes")

    def __init__(self, tag, attrs, uid, notes=False):
        self.tag, self.attrs, self.uid, self.notes = tag, attrs, uid, notes


class Block:
    """A leaf block: kind is a tag name or '' for an anonymous inline run in a container."""

    # src: the cached template block this one was instantiated from (TEMPLATE: it is one;
    # None: not cached; a template does not point to itself, so it is freed without the collector);
    # eqh: on a template, its unchanged rendering (see redline_render.Out.same_block)
    __slots__ = ("kind", "chain", "toks", "cells", "hid", "key", "sig", "_bag", "src", "eqh")

    def __init__(self, kind, chain, toks=(), cells=None, hid=""):
        self.kind, self.chain, self.toks, self.cells, self.hid = kind, chain, list(toks), cells, hid
        self.sig = tuple(c.tag for c in chain) + (kind,)
        if cells is not None:
            body = tuple((tag, tuple(t.key for t in toks)) for tag, _a, toks in cells)
        else:
            body = tuple(t.key for t in self.toks)
        self.key = (self.sig, body)
        self._bag = self.src = self.eqh = None

    def all_toks(self):
        if self.cells is None:
            return self.toks
        return [t for _tag, _a, toks in self.cells for t in toks]

    def plain(self):
        return "".join(t.ws + t.text for t in self.all_toks()).strip()

    def bag(self):
        if self._bag is None:
            self._bag = Counter(t.text.lower() for t in self.all_toks() if t.is_word)
        return self._bag


def _text(out, s, style, pend, pre):
    """Append the tokens of text ``s``; returns the whitespace pending after it."""
    skey = tuple(el.key for el in style)
    for ws, piece in PAIR_RE.findall(s):
        lead = pend + ws if pre else (" " if (pend or ws) and out else "")
        out.append(Tok(lead, piece, style, None, skey))
        pend = ""
    tail = len(s) - len(s.rstrip(WS))
    if tail:
        pend = pend + s[len(s) - tail :] if pre else " "
    return pend


class Tokenizer:
    def __init__(self, prefix):
        self._ids = itertools.count(1)
        self.prefix = prefix

    def uid(self):
        return f"{self.prefix}{next(self._ids)}"

    def tokens(self, nodes, pre=False):
        """The word tokens of inline content, each with its inline elements (``style``); a
        block element inside is flattened to a space. A stack, not recursion: a recursive
        closure would leave a cycle per call for the collector."""
        out, pend = [], ""
        stack = [(iter(nodes), (), False)]
        while stack:
            items, style, flattened = stack[-1]
            item = next(items, None)
            if item is None:
                stack.pop()
                if flattened:
                    pend = pend or " "
            elif isinstance(item, str):
                pend = _text(out, item, style, pend, pre)
            elif item.tag in ("br", "img", "wbr"):
                attrs = keep_attrs(item.tag, item.attrs)
                out.append(Tok(pend if out else "", "", style, (item.tag, attrs)))
                pend = ""
            elif item.tag in LEAF or item.tag not in INLINE:
                pend = pend or " "  # stray block inside inline: flatten
                stack.append((iter(item.children), style, True))
            else:
                el = Inl(item.tag, keep_attrs(item.tag, item.attrs), self.uid())
                stack.append((iter(item.children), style + (el,), False))
        return out

    def blocks(self, children, chain=(), out=None):
        out = [] if out is None else out
        run = []

        def flush():
            if run:
                toks = self.tokens(run)
                if toks:
                    out.append(Block("", chain, toks))
                run.clear()

        for ch in children:
            if isinstance(ch, str) or ch.tag in INLINE:
                run.append(ch)
                continue
            flush()
            if ch.tag == "tr":
                cells = [
                    (c.tag, keep_attrs(c.tag, c.attrs), self.tokens(c.children))
                    for c in ch.children
                    if not isinstance(c, str) and c.tag in ("td", "th")
                ]
                out.append(Block("tr", chain, cells=cells))
            elif ch.tag in LEAF:
                toks = self.tokens(ch.children, pre=ch.tag == "pre")
                out.append(Block(ch.tag, chain, toks, hid=ch.attrs.get("id", "")))
            else:
                notes = (
                    not chain
                    and ch.tag == "div"
                    and "footnote" in ch.attrs.get("class", "").split()
                )
                cont = Cont(ch.tag, keep_attrs(ch.tag, ch.attrs), self.uid(), notes)
                self.blocks(ch.children, chain + (cont,), out)
        flush()
        return out


TEMPLATE = object()  # Block.src of a template block (redline_pieces.py)


def dropped(el) -> bool:
    """The footnotes' "jump back" arrows and a [TOC] are not content."""
    classes = el.get("class")
    classes = classes.split() if classes else ()
    return (el.tag == "a" and "footnote-backref" in classes) or (
        el.tag == "div" and "toc" in classes
    )
