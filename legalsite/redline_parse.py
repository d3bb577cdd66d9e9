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

from lxml import etree

from .html_scan import parse_with_errors, scheme_of

VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())
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


def _node(el) -> Node:
    """``el`` and what it holds as a Node tree; dropped elements leave only their tails."""
    node = Node(el.tag, dict(el.attrib))
    kids = node.children
    if el.text:
        kids.append(el.text)
    for child in el:
        tag = child.tag
        if type(tag) is str and tag not in DROP:  # comments: only their tails count
            classes = child.get("class")
            classes = classes.split() if classes else ()
            if not (
                (tag == "a" and "footnote-backref" in classes)
                or (tag == "div" and "toc" in classes)
            ):
                kids.append(
                    _node(child)
                )  # the footnotes' "jump back" arrows and a [TOC] are not content
        if child.tail:
            kids.append(child.tail)
    return node


def _parse(html: str):
    """(body element, parser errors) of a rendered body, through the one scanner."""
    root, errors = parse_with_errors(html or "", fragment=True)
    return root.find("body"), errors


def parse_tree(html: str) -> Node:
    body, _errors = _parse(html)
    return _node(body) if body is not None else Node("#root", {})


_TEXTS = etree.XPath("count(text()[normalize-space()])")


def _top_level(body) -> tuple[int, int]:
    """How many nodes a body holds at its top, elements and texts that are not only
    whitespace: a cut parse equals the whole parse only if each adds up (see parse_blocks)."""
    return (0, 0) if body is None else (len(body), int(_TEXTS(body)))


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


class Tokenizer:
    def __init__(self, prefix):
        self._ids = itertools.count(1)
        self.prefix = prefix

    def uid(self):
        return f"{self.prefix}{next(self._ids)}"

    def tokens(self, nodes, pre=False):
        out, pending = [], [""]

        def text(s, style):
            skey = tuple(el.key for el in style)
            append, pend = out.append, pending[0]
            for ws, piece in PAIR_RE.findall(s):
                if pre:
                    lead = pend + ws
                else:
                    lead = " " if (pend or ws) and out else ""
                append(Tok(lead, piece, style, None, skey))
                pend = ""
            tail = len(s) - len(s.rstrip(WS))
            if tail:
                pend = pend + s[len(s) - tail :] if pre else " "
            pending[0] = pend

        def walk(items, style):
            for item in items:
                if isinstance(item, str):
                    text(item, style)
                elif item.tag in ("br", "img", "wbr"):
                    attrs = keep_attrs(item.tag, item.attrs)
                    out.append(Tok(pending[0] if out else "", "", style, (item.tag, attrs)))
                    pending[0] = ""
                elif item.tag in LEAF or item.tag not in INLINE:
                    pending[0] = pending[0] or " "  # stray block inside inline: flatten
                    walk(item.children, style)  # noqa: F821 (deleted after the last call)
                    pending[0] = pending[0] or " "
                else:
                    el = Inl(item.tag, keep_attrs(item.tag, item.attrs), self.uid())
                    walk(item.children, style + (el,))  # noqa: F821 (deleted after the last call)

        walk(nodes, ())
        del walk  # it refers to itself: without this, each call leaves a cycle for the collector
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


NUMBERING_RE = re.compile(
    r"^\s*(?:(?:section|article|part|chapter|clause|§)\s*)?"
    r"(?:\d+(?:\.\d+)*\.?|[ivxlcdm]+[.)]|[a-z][.)]|\(\w{1,4}\))\s+",
    re.I,
)


def heading_key(text: str) -> str:
    """Heading text with leading numbering stripped, normalised for alignment."""
    text = (
        text.replace("\u2019", "'")
        .replace("\u2018", "'")
        .replace("\u201c", '"')
        .replace("\u201d", '"')
    )
    text = NUMBERING_RE.sub("", text, count=1)
    return " ".join(text.lower().split())


class Section:
    """A heading and the blocks up to the next heading of its level. Without a heading it is
    one of the special sections: 'preamble' (text before the first heading) or 'footnotes'."""

    __slots__ = ("heading", "blocks", "index", "key", "_bag", "size", "special")

    def __init__(self, heading, blocks, index, special=None):
        self.heading, self.blocks, self.index = heading, blocks, index
        self.special = special if heading is None else None
        if heading is None and special is None:
            self.special = "preamble"
        self.key = heading_key(heading.plain()) if heading is not None else None
        self._bag = None
        self.size = sum(len(b.all_toks()) for b in blocks) + 1

    def bag(self):
        if self._bag is None:
            bag = Counter()
            for b in self.blocks:
                bag.update(b.bag())
            if self.heading is not None:
                bag.update(self.key.split())
            self._bag = bag
        return self._bag


def section_level(*block_lists) -> str | None:
    """The heading tag that splits sections: the highest level that repeats (else the highest)."""
    counts = Counter(
        b.kind for blocks in block_lists for b in blocks if not b.chain and b.kind in HEADINGS
    )
    if not counts:
        return None
    repeating = [k for k, n in counts.items() if n > 1]
    return min(repeating or counts)


def split_sections(blocks, level):
    sections, current, heading, notes = [], [], None, []
    for b in blocks:
        if b.chain and b.chain[0].notes:
            if b.kind != "hr":  # the rule above the footnotes is decoration
                notes.append(b)
        elif level and b.kind == level and not b.chain:
            if heading is not None or current:
                sections.append(Section(heading, current, len(sections)))
            heading, current = b, []
        else:
            current.append(b)
    if heading is not None or current:
        sections.append(Section(heading, current, len(sections)))
    if notes:
        sections.append(Section(None, notes, len(sections), "footnotes"))
    return sections


def dice(a: Counter, b: Counter) -> float:
    total = sum(a.values()) + sum(b.values())
    if not total:
        return 1.0
    if len(a) > len(b):
        a, b = b, a
    common = sum(min(n, b[w]) for w, n in a.items() if w in b)
    return 2.0 * common / total


# --------------------------------------------------------------------------- cached parsing
# Consecutive versions of a policy share most of their sections byte for byte, and each body
# is compared twice (as the new side of one redline, the old side of the next). So a body is
# cut textually before each "<hN" and after each "</hN>" that start or end a line (a
# renumbered heading then leaves its section's text a known piece), every piece is parsed and
# tokenized once into a *template* kept in the caller's dict, and each use instantiates fresh
# Block/Cont objects (new uids) that share the immutable tokens. That equals parsing the whole
# body when the parser is in its initial state at every cut and nothing a piece leaves open
# takes in the next: so no comment, CDATA or raw-text element in the body, no parse error in
# any piece, and either every piece closes all it opens (as Markdown writes them) or, checked
# by one parse of the whole body in C, as many elements and texts at its top as at the pieces'
# tops (what a piece leaves open can only take in what follows, which then is not at the
# top); and no inline run (text or inline elements outside any block) going on across a cut.
# Otherwise the whole body is parsed the slow way.
_CUT_RE = re.compile(r"<h[1-6](?=[\s/>])|</h[1-6]>")
_UNCUTTABLE = (
    "<!",
    "<script",
    "<style",
    "<textarea",
    "<title",
    "<xmp",
    "<iframe",
    "<noembed",
    "<noframes",
    "<noscript",
    "<plaintext",
)

TEMPLATE = object()  # Block.src of a template block


class _Template:
    __slots__ = ("conts", "blocks", "chains", "leads_with_run", "ends_with_run", "top", "closed")

    def __init__(self, blocks, leads_with_run, ends_with_run, top, closed):
        conts, index = [], {}
        chains = []
        for b in blocks:
            idx = []
            for c in b.chain:
                k = index.get(id(c))
                if k is None:
                    k = index[id(c)] = len(conts)
                    conts.append((c.tag, c.attrs, c.notes))
                idx.append(k)
            chains.append(tuple(idx))
        self.conts, self.blocks, self.chains = conts, blocks, chains
        self.leads_with_run, self.ends_with_run = leads_with_run, ends_with_run
        self.top = top  # its top level (see _top_level)
        self.closed = closed  # it closes every element it opens, by an end tag (see _closes_all)
        for b in blocks:
            b.src = TEMPLATE


def _piece_template(piece):
    body, errors = _parse(piece)
    if errors:
        return None
    children = _node(body).children if body is not None else []

    def is_run(node):  # None: an empty piece, transparent to runs
        return None if node is None else isinstance(node, str) or node.tag in INLINE

    return _Template(
        Tokenizer("t").blocks(children),
        is_run(children[0] if children else None),
        is_run(children[-1] if children else None),
        _top_level(body),
        _closes_all(piece),
    )


_TAG = re.compile(
    r"""<(/?)([a-zA-Z][a-zA-Z0-9]*)(?:"[^"]*"|'[^']*'|[^'">])*>"""
)  # quoted values skipped


def _closes_all(piece: str) -> bool:
    """Whether every element ``piece`` opens has its end tag in it (and nothing else ends):
    with no parse error, the parser then ends the piece as it began, holding nothing open."""
    depth: dict[str, int] = {}
    for end, name in _TAG.findall(piece):
        name = name.lower()
        if name not in VOID:
            depth[name] = depth.get(name, 0) + (-1 if end else 1)
    return not any(depth.values())


def _instantiate(tmpl, uid, out):
    conts = [Cont(tag, attrs, uid(), notes) for tag, attrs, notes in tmpl.conts]
    new = Block.__new__
    for tb, idx in zip(tmpl.blocks, tmpl.chains, strict=False):
        if not idx:  # outside any container: nothing tied to this redline, share the template
            out.append(tb)
            continue
        b = new(Block)
        b.kind, b.toks, b.cells, b.hid, b.key, b.sig = (
            tb.kind,
            tb.toks,
            tb.cells,
            tb.hid,
            tb.key,
            tb.sig,
        )
        b.chain = tuple([conts[k] for k in idx])
        b._bag, b.src = tb._bag, tb
        out.append(b)


def cut(html: str) -> list[str]:
    """``html`` cut before each "<hN" that starts a line and after each "</hN>" that ends one."""
    bounds = [0]
    for m in _CUT_RE.finditer(html):
        at = m.end() if html[m.start() + 1] == "/" else m.start()
        if html[at - 1 : at + 1] in ("\n<", ">\n", ">") and at != bounds[-1]:
            bounds.append(at)
    return [html[a:b] for a, b in zip(bounds, bounds[1:] + [len(html)], strict=True)]


def parse_blocks(html: str, prefix: str, pieces: dict | None = None) -> list:
    """The leaf blocks of a body; uids start with prefix. Same as parsing it in one go, which
    is what happens without ``pieces`` (piece -> template: those to reuse, and where new
    ones go; (body,) -> True once the body is checked)."""
    html = html or ""
    whole = lambda: Tokenizer(prefix).blocks(parse_tree(html).children)  # noqa: E731
    # A body is checked once: a redline's new side is the next one's old side.
    checked = pieces is not None and (html,) in pieces
    if not checked and (
        pieces is None or any(tag in lowered for lowered in [html.lower()] for tag in _UNCUTTABLE)
    ):
        return whole()
    assert pieces is not None  # the return above
    tmpls = []
    for p in cut(html):
        t = pieces.get(p)
        if t is None:
            t = pieces[p] = _piece_template(p)
        if t is None:
            return whole()
        tmpls.append(t)
    in_run = False
    for t in tmpls:
        if t.leads_with_run is not None:
            if in_run and t.leads_with_run:
                return whole()
            in_run = t.ends_with_run
    if not checked:
        if not all(t.closed for t in tmpls):
            body, errors = _parse(html)
            if errors or _top_level(body) != (
                sum(t.top[0] for t in tmpls),
                sum(t.top[1] for t in tmpls),
            ):
                return whole()
        pieces[(html,)] = True
    counter = itertools.count(1)
    uid = lambda: f"{prefix}{next(counter)}"  # noqa: E731
    out: list = []
    for t in tmpls:
        _instantiate(t, uid, out)
    return out
