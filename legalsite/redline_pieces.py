"""A policy's bodies as parsed pieces: each distinct piece parsed and tokenized once.

Consecutive versions of a policy share most of their blocks, and each body is compared twice
(the new side of one redline, the old side of the next). A body's blocks are those of its
top-level *units* (each element directly in <body>, each run of text and inline elements
between them): the tokenizer starts afresh at each, so each distinct unit is tokenized once
into a *template* kept in the caller's dict (``pieces``), and each use instantiates fresh
Block/Cont objects (new uids) that share the immutable tokens. The result equals
``Tokenizer(prefix).blocks`` of the whole body's tree (tests/test_redline_speed.py).

Where the units come from (:func:`unit_keys`):

- HTML in the grammar of :func:`_shape` (Python-Markdown's own output, the common case, and raw
  HTML that looks like it): the body is cut into *groups*
  of whole top-level elements by its text alone, each distinct group parsed alone once and
  keyed by its string (:func:`_group_keys`, which says why that is exact);
- anything else: the body parsed whole by the one scanner (libxml2) and its units keyed by
  their serialization (``etree.tostring``, injective). A parse of each body and a
  serialization of each of its ~90 units was most of a redline's parsing time (the 980
  redlines of the 20 x 50 corpus: 1,000 parses of 24 KB, 92,000 units; 6,700 distinct).

Cutting arbitrary HTML with markers and parsing the pieces apart was tried and dropped
(README, "Redline pieces"): libxml2 keeps state beyond the open elements (a bare <body>, an
element left open, a comment...). The groups here are accepted only where none of that can
occur, and every other body is parsed whole as before, at main's cost: the grammar is decided
on the whole body's text before any group is parsed (:func:`_groups`), so a body that leaves it
near its end parses no group for nothing. parse_blocks over 3 corpus policies x 30 versions with
a comment or a ``<b>`` appended to every body (the review's scratch script, 2026-12-06
14:19 UTC, load 3; main db50322): 0.14-0.15 s, main 0.14-0.16 s (groups parsed first, then the
whole body: 0.21-0.23 s, 1.7x); the same bodies in the grammar 0.095 s, main 0.093-0.095 s. One
body of 32,000 paragraphs and a trailing comment: 0.98-1.03 s, main 0.84-1.06 s (the review,
before this fix: 1.87 s, main 0.76 s).
"""

from __future__ import annotations

import itertools
import re

from lxml import etree

from .redline_parse import (
    DROP,
    INLINE,
    TEMPLATE,
    Block,
    Cont,
    Tokenizer,
    dropped,
    parse_body,
    to_node,
)

UIDS = (None, "uids")  # the key of a pieces dict's uid counter (no unit key holds None)
# ... and of its block keys, each as a small number (_Template): the redline compares and
# hashes block keys (aligning a section's blocks with difflib hashes each one), and a key is
# a tuple of every token's key, rehashed on every use.
KEYS = (None, "keys")


class _Template:
    __slots__ = ("conts", "blocks", "chains")

    def __init__(self, blocks, keys: dict):
        conts: list[tuple] = []
        index: dict[int, int] = {}
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
        for b in blocks:
            b.src = TEMPLATE
            b.key = keys.setdefault(b.key, len(keys))  # equal numbers: equal keys (see KEYS)


def _units(body) -> list[tuple[object, list]]:
    """The top level of ``body`` as (key, items) units: each block element alone, each run
    of texts and inline elements together; items as to_node gives them (dropped elements
    leave their tails)."""
    units: list = []
    run: list = []
    key: list = []
    tostring = etree.tostring

    def flush():
        if run:
            units.append((tuple(key), list(run)))
            run.clear()
            key.clear()

    if body.text:
        run.append(body.text)
        key.append(body.text)
    for child in _node_children(body):
        if isinstance(child, str):
            run.append(child)
            key.append(child)
        elif child.tag in INLINE:
            run.append(child)
            key.append(tostring(child, with_tail=False))
        else:
            flush()
            units.append((tostring(child, with_tail=False), [child]))
        if not isinstance(child, str) and child.tail:
            run.append(child.tail)
            key.append(child.tail)
    flush()
    return units


def _node_children(body):
    """The elements directly in ``body`` that to_node keeps, and the tails of those it drops
    (as strings), in order."""
    for child in body:
        tag = child.tag
        if type(tag) is str and tag not in DROP and not dropped(child):
            yield child
        elif child.tail:
            yield child.tail


def _template(items, keys: dict) -> _Template:
    return _Template(
        Tokenizer("t").blocks([i if isinstance(i, str) else to_node(i) for i in items]), keys
    )


def _instantiate(tmpl, uid, out):
    if not tmpl.conts:  # no block in a container (a paragraph, a heading): share them all
        out.extend(tmpl.blocks)
        return
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


# --------------------------------------------------------------------------- Markdown's blocks
# Where Python-Markdown starts a top-level block: a line starting with one of these tags.
_CUT = re.compile(r"\n(?=<(?:h[1-6]|p|ul|ol|dl|table|pre|blockquote|div|hr)[ >])")
# Every "<" starts a tag in Markdown's own output: a start tag with double-quoted attributes
# whose values hold no "<", ">" or '"' (its serializer escapes them), or an end tag; a bare "<"
# (the second branch) is not Markdown's output.
_TAG = re.compile(r'<(/?)([a-z][a-z0-9]*)(?: [a-z][a-z0-9_:.-]*="[^"<>]*")*>|<')
# The elements Python-Markdown and our extensions write (markup.make_markdown); void: br, hr, img
_TAGS = frozenset(
    "a abbr blockquote br code dd del div dl dt em h1 h2 h3 h4 h5 h6 hr img ins li mark ol p "
    "pre span strong sub sup table tbody td tfoot th thead tr ul".split()
)
_VOID = frozenset(("br", "hr", "img"))
_BLANK = " \t\n\r"  # what libxml2 counts as white space (not \f, nor Unicode spaces)
# pieces: fragment -> its _shape (no unit or group key holds None). Versions of a policy share
# most fragments: the 1,000 bodies of 20 x 50, one dict per policy, cut in 0.09 s against 0.39 s
# with a new dict per body (least of 3, 2026-12-06 14:22 UTC, load 3; a scratch script).
_SHAPES = (None, "shapes")


def _shape(fragment: str) -> tuple[tuple, tuple] | None:
    """The end tags in ``fragment`` of elements opened before it and the elements it leaves
    open, in order; None if it is not in the grammar of Markdown's output (above) or its tags
    do not nest (an end tag that is not of the innermost open element)."""
    opened: list[str] = []
    closes: list[str] = []
    for match in _TAG.finditer(fragment):
        end, name = match.groups()
        if name not in _TAGS:  # also a bare "<" (name None)
            return None
        if name in _VOID:
            if end:
                return None
        elif not end:
            opened.append(name)
        elif not opened:
            closes.append(name)
        elif opened.pop() != name:
            return None
    return tuple(closes), tuple(opened)


def _group_keys(html: str, pieces: dict) -> tuple | None:
    """The body's units as groups of whole top-level elements, each with its template in
    ``pieces`` (key: the group's text), or None: parse the body whole.

    Why a group parsed alone gives the tree it has in the whole body. The body is cut into
    fragments before each line that starts with a block tag Markdown writes (:data:`_CUT`; the
    newline is dropped); a group is a run of fragments after which every element opened is
    closed again, by the tags' nesting, and the newline between two groups is white space
    directly in <body>. The whole body is in the grammar of :func:`_shape` (decided on its text
    before any group is parsed): each "<" starts a tag (no comment, doctype, processing
    instruction or CDATA: those start "<!" or "<?"), from a short list of Markdown's elements (no
    <html>, <head> or <body>, whose misplaced start tags libxml2 counts beyond its stack; no
    <script>, <style>, <textarea> or <title>, whose content is raw text), and end tags nest with
    their start tags. So every cut falls before a "<" that starts a tag, outside any tag, and a
    group ends with a tag: libxml2 never reads a group's end of input inside an element. A group
    is kept only if libxml2 parses it alone without a complaint (nor at excessive depth, where
    libxml2 stops reading the whole body). The argument rests on two behaviours of libxml2,
    checked on 2.14.6 (lxml 6.2.0; ``lxml.etree.LIBXML_VERSION``) by tests/test_redline_libxml2.py:

    (a) it never ignores an end tag of one of :data:`_TAGS` without a complaint, and implies no
        element inside <body>: so in a group parsed without a complaint, n end tags each close
        one of the n elements opened, the innermost (each closes at least one), every element
        is built as its tags say, and the group ends with only <html><body> open;
    (b) what it keeps beyond its stack of open elements (the current node's last child, what
        follows the end of input) changes nothing but the white space text between two groups.

    Then, by induction over the groups, each group starts with <html><body> open and nothing
    else pending, alone or after the groups before it, and ends so: libxml2 reads the same bytes
    from the same state and builds the same elements; the whole body's tree differs only by the
    cuts' newlines (tails of a group's last element), top-level white space that makes no block.

    Its blocks are the whole body's blocks at that place when its top level holds only block
    elements and white space (:func:`_only_blocks`, checked on the tree): no run of text or
    inline elements then reaches across a group's edge, and white space makes no block.
    tests/test_redline_speed.py compares the blocks with the whole parse's on the 1,000 bodies of
    the golden corpus and on cases built to break the cut."""
    groups = _groups(html, pieces.setdefault(_SHAPES, {}))
    if groups is None:
        return None
    for group in groups:  # the whole body is in the grammar: only now parse its groups
        if group not in pieces:
            body, errors = parse_body(group)
            whole = body is not None and not errors and _only_blocks(body)
            pieces[group] = (
                _Template(
                    Tokenizer("t").blocks(to_node(body).children), pieces.setdefault(KEYS, {})
                )
                if whole
                else None
            )
        if pieces[group] is None:
            return None
    return groups


def _groups(html: str, shapes: dict) -> tuple | None:
    """The body's groups of whole top-level elements (by its text alone, white space between
    them left out), or None if a fragment is not in the grammar or the tags do not nest."""
    groups: list[str] = []
    fragments = _CUT.split(html)
    open_: list[str] = []
    start = 0
    for at, fragment in enumerate(fragments):
        shape = shapes.get(fragment, False)
        if shape is False:
            shape = shapes[fragment] = _shape(fragment)
        if shape is None:
            return None
        closes, opened = shape
        for name in closes:
            if not open_ or open_.pop() != name:
                return None
        open_ += opened
        if open_:
            continue
        group = fragment if start == at else "\n".join(fragments[start : at + 1])
        start = at + 1
        if group.strip(_BLANK):  # white space between blocks makes no block
            groups.append(group)
    return None if open_ else tuple(groups)


def _only_blocks(body) -> bool:
    """Whether ``body`` holds only elements that are units of their own, and white space."""
    if body.text and body.text.strip(_BLANK):
        return False
    for child in body:
        tag = child.tag
        if type(tag) is not str or tag in INLINE or tag in DROP or dropped(child):
            return False
        if child.tail and child.tail.strip(_BLANK):
            return False
    return True


def unit_keys(html: str, pieces: dict) -> tuple:
    """The keys of a body's top-level units, each with its template in ``pieces`` (unit key
    -> template; (None, "body", html) -> the body's keys, so that a body is cut once: a unit
    key never holds None, so a body that is one run of text cannot take its run's key)."""
    html = html or ""  # as on main: no body, no blocks
    body_key = (None, "body", html)
    keys = pieces.get(body_key)
    if keys is None:
        keys = _group_keys(html, pieces)
        if keys is None:
            body, _errors = parse_body(html)
            units = _units(body) if body is not None else []
            for key, items in units:
                if key not in pieces:
                    pieces[key] = _template(items, pieces.setdefault(KEYS, {}))
            keys = tuple(key for key, _items in units)
        pieces[body_key] = keys
    return keys


def parse_blocks(html: str, prefix: str, pieces: dict | None = None) -> list:
    """The leaf blocks of a body; uids start with prefix. Same as Tokenizer(prefix).blocks of
    the whole tree (see above); ``pieces``: templates to reuse and add to. A block's ``key``
    is a number given by ``pieces`` (KEYS): only blocks parsed with the same dict compare."""
    pieces = {} if pieces is None else pieces
    counter = pieces.setdefault(UIDS, itertools.count(1))  # uids unique across one dict
    uid = lambda: f"{prefix}{next(counter)}"  # noqa: E731
    out: list = []
    for key in unit_keys(html, pieces):
        _instantiate(pieces[key], uid, out)
    return out
