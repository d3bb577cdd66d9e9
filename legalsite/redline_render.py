"""Rendering for the redline engine: inline runs, word diffs and leaf blocks to HTML and text.

All text is escaped; inline elements are reopened inside each <ins>/<del> and closed at its
end, and block containers are rebuilt from each leaf's container chain, so the output is
always balanced.
"""

from __future__ import annotations

import html as _html
import re
from typing import Any

from .redline_diff import word_ops
from .redline_parse import HEADINGS, TEMPLATE

HIDDEN = {
    "ins": '<span class="visually-hidden">inserted: </span>',
    "del": '<span class="visually-hidden">deleted: </span>',
}
TEXT_MARK = {"ins": ("{+", "+}"), "del": ("[-", "-]")}
_ID_SAFE = re.compile(r"[^\w\-.:]+")


def esc(s: str) -> str:
    return _html.escape(s, quote=False)


def attr_str(attrs) -> str:
    return "".join(f' {k}="{_html.escape(v, quote=True)}"' for k, v in attrs)


# --------------------------------------------------------------------------- inline rendering
class Out:
    """Accumulates HTML and text output plus word counts."""

    def __init__(self, links):
        self.h, self.t = [], []
        self.ins = self.dels = 0
        self.links = links  # section/heading ids of the new version, for '#fragment' links

    def inline(self, toks, skip_ws=False):
        """HTML of a token run, opening/closing inline elements as needed; balanced."""
        h, stack, run = self.h, [], []
        style = None  # the style of the open run; tokens always have a tuple
        for k, tok in enumerate(toks):
            if tok.style is style and not tok.void:
                run.append(tok.ws)
                run.append(tok.text)
                continue
            if run:
                h.append(esc("".join(run)))
                run = []
            style = tok.style
            n = 0
            while n < len(stack) and n < len(style) and stack[n] is style[n]:
                n += 1
            while len(stack) > n:
                h.append(f"</{stack.pop().tag}>")
            if tok.ws and not (skip_ws and k == 0):
                h.append(tok.ws)
            for el in style[n:]:
                h.append(f"<{el.tag}{attr_str(self._attrs(el.tag, el.attrs))}>")
                stack.append(el)
            if tok.void:
                h.append(f"<{tok.void[0]}{attr_str(tok.void[1])}>")
                style = None
            else:
                run.append(tok.text)
        if run:
            h.append(esc("".join(run)))
        while stack:
            h.append(f"</{stack.pop().tag}>")

    def _attrs(self, tag, attrs):
        if tag != "a":
            return attrs
        out = []
        for k, v in attrs:
            if k == "href" and v.startswith("#"):
                if v[1:] not in self.links:
                    continue  # footnotes and other in-page targets do not exist in the redline
                v = "#" + self.links[v[1:]]
            out.append((k, v))
        return tuple(out)

    @staticmethod
    def plain(toks, skip_ws=False):
        return "".join(
            ("" if skip_ws and k == 0 else t.ws) + (t.text if not t.void else " ")
            for k, t in enumerate(toks)
        )

    def marked(self, kind, toks, count=True):
        """A whole run inside <ins>/<del> (kind), with its leading space outside."""
        if not toks:
            return
        if toks[0].ws:
            self.h.append(toks[0].ws)
            self.t.append(toks[0].ws)
        self.h.append(f"<{kind}>{HIDDEN[kind]}")
        self.inline(toks, skip_ws=True)
        self.h.append(f"</{kind}>")
        a, b = TEXT_MARK[kind]
        self.t.append(a + self.plain(toks, skip_ws=True) + b)
        if count:
            words = sum(1 for t in toks if t.is_word)
            if kind == "ins":
                self.ins += words
            else:
                self.dels += words

    def same(self, toks):
        self.inline(toks)
        self.t.append(self.plain(toks))

    def diff(self, old, new, count=True):
        for tag, i1, i2, j1, j2 in word_ops(old, new):
            if tag == "equal":
                self.same(new[j1:j2])
                continue
            lead = ""
            if i1 < i2 and j1 < j2 and (old[i1].ws or new[j1].ws):
                lead = old[i1].ws or new[j1].ws
                self.h.append(lead)
                self.t.append(lead)
            for kind, toks in (("del", old[i1:i2]), ("ins", new[j1:j2])):
                if toks and lead and toks[0].ws:
                    self.h.append(f"<{kind}>{HIDDEN[kind]}")
                    self.inline(toks, skip_ws=True)
                    self.h.append(f"</{kind}>")
                    a, b = TEXT_MARK[kind]
                    self.t.append(a + self.plain(toks, skip_ws=True) + b)
                    if count:
                        n = sum(1 for t in toks if t.is_word)
                        self.ins, self.dels = (
                            (self.ins + n, self.dels)
                            if kind == "ins"
                            else (self.ins, self.dels + n)
                        )
                else:
                    self.marked(kind, toks, count)

    def same_block(self, block, render):
        """HTML that render() writes for an unchanged block (its text is never shown). Kept on
        the block's cached template: it depends only on the tokens and, through in-page links,
        on self.links, whose values it is stored with."""
        src = block if block.src is TEMPLATE else block.src
        if src is not None and src.eqh is not None:
            names, values, html = src.eqh
            if not names or tuple([self.links.get(n) for n in names]) == values:
                return html
        hm, tm = len(self.h), len(self.t)
        render()
        html = "".join(self.h[hm:])
        del self.h[hm:], self.t[tm:]
        if src is not None:
            names = src.eqh[0] if src.eqh is not None else _link_names(block)
            src.eqh = (names, tuple([self.links.get(n) for n in names]), html)
        return html

    def content(self, status, old, new, toks_of, count=True):
        if status == "eq":
            self.same(toks_of(new))
        elif status == "chg":
            self.diff(toks_of(old), toks_of(new), count)
        else:
            self.marked(status, toks_of(old if status == "del" else new), count)


def _link_names(block):
    names = []
    for t in block.all_toks():
        for el in t.style:
            if el.tag == "a":
                for k, v in el.attrs:
                    if k == "href" and v.startswith("#") and v[1:] not in names:
                        names.append(v[1:])
    return tuple(names)


# --------------------------------------------------------------------------- block rendering
BLOCK_CLASS = {"ins": "rl-ins-block", "del": "rl-del-block"}
TEXT_PREFIX = {
    "h1": "# ",
    "h2": "## ",
    "h3": "### ",
    "h4": "#### ",
    "h5": "##### ",
    "h6": "###### ",
    "dt": "",
    "pre": "",
    "hr": "----",
    "caption": "",
}


class Ids:
    def __init__(self):
        self.used = set()

    def make(self, base):
        base = "r-" + (_ID_SAFE.sub("-", base).strip("-") or "section")
        cand, n = base, 2
        while cand in self.used:
            cand, n = f"{base}-{n}", n + 1
        self.used.add(cand)
        return cand


_EQ = frozenset({"eq"})


def _chains(items):
    """Each item's container chain: the new block's, or for a deleted block its old chain
    with each container that an aligned pair shows to continue in the new version replaced."""
    old_to_new = {}
    for status, old, new in items:
        if status in ("eq", "chg"):
            for co, cn in zip(old.chain, new.chain, strict=False):
                if co.tag != cn.tag:
                    break
                old_to_new.setdefault(co.uid, cn)
    return [
        new.chain if new is not None else tuple(old_to_new.get(c.uid, c) for c in old.chain)
        for _status, old, new in items
    ]


def render_blocks(out: Out, items, idmap, count=True, text_all=False):
    """Render aligned leaf blocks [(status, old, new)], rebuilding their containers.

    Most sections are unchanged (every item "eq"): their blocks sit in the new version's
    containers, none of which gets a class, so the maps below are not needed for them."""
    state: dict[str, set[str]] = {}  # container uid -> set of statuses of blocks inside
    if all(status == "eq" for status, _o, _n in items):
        chains = [new.chain for _s, _o, new in items]
    else:
        chains = _chains(items)
        for (status, _o, _n), chain in zip(items, chains, strict=False):
            for c in chain:
                state.setdefault(c.uid, set()).add(status)

    h, skipped = out.h, 0
    stack: list = []
    for (status, old, new), chain in zip(items, chains, strict=False):
        n = 0
        while n < len(stack) and n < len(chain) and stack[n] is chain[n]:
            n += 1
        while len(stack) > n:
            h.append(f"</{stack.pop().tag}>\n")
        for c in chain[n:]:
            only = state.get(c.uid, _EQ)
            cls = (
                f' class="{BLOCK_CLASS[next(iter(only))]}"'
                if len(only) == 1 and only <= {"ins", "del"}
                else ""
            )
            h.append(f"<{c.tag}{attr_str(c.attrs)}{cls}>")
            stack.append(c)
        block = new if new is not None else old
        kind = block.kind
        cls = f' class="{BLOCK_CLASS[status]}"' if status in BLOCK_CLASS else ""
        show_text = text_all or status != "eq"
        if show_text and skipped:
            out.t.append(f"    [... {skipped} unchanged block{'s' if skipped > 1 else ''}]\n")
            skipped = 0
        elif not show_text:
            skipped += 1
        if not show_text:  # an unchanged block: only its HTML
            if kind == "hr":
                h.append("<hr>")
            elif kind == "tr":
                h.append(
                    out.same_block(new, lambda: _render_row(out, status, old, new, cls, count))
                )
            else:
                hid = ""
                if kind in HEADINGS and new.hid in idmap:
                    hid = f' id="{idmap[new.hid]}"'
                if kind:
                    h.append(f"<{kind}{hid}>")
                h.append(out.same_block(new, lambda: out.inline(new.toks)))
                if kind:
                    h.append(f"</{kind}>")
            if kind or not chain or chain[-1].tag != "li":
                h.append("\n")
            continue
        mark = len(out.t)
        depth = sum(1 for c in chain if c.tag in ("ul", "ol", "dd", "blockquote"))
        if kind == "hr":
            h.append(f"<hr{cls}>")
            out.t.append("")
        elif kind == "tr":
            _render_row(out, status, old, new, cls, count)
        else:
            tag = kind or None
            if tag:
                hid = ""
                if tag in HEADINGS and new is not None and new.hid in idmap:
                    hid = f' id="{idmap[new.hid]}"'
                h.append(f"<{tag}{hid}{cls}>")
            elif status in BLOCK_CLASS and stack and len(state[stack[-1].uid]) > 1:
                h.append(f"<span{cls}>")  # an inserted run inside an otherwise kept container
                tag = "span"
            out.content(status, old, new, lambda b: b.toks, count)
            if tag:
                h.append(f"</{tag}>")
        if kind or not chain or chain[-1].tag != "li":
            h.append("\n")
        body = "".join(out.t[mark:])
        del out.t[mark:]
        if show_text:
            bullet = (
                "* "
                if chain and chain[-1].tag == "li"
                else "> "
                if chain and chain[-1].tag == "blockquote"
                else ""
            )
            prefix = "    " + "  " * max(depth - 1, 0) + bullet + TEXT_PREFIX.get(kind, "")
            if kind == "pre":
                body = body.replace("\n", "\n    ")
            out.t.append(prefix + body.rstrip() + "\n")
    if skipped and text_all is False and len(items) != skipped:
        out.t.append(f"    [... {skipped} unchanged block{'s' if skipped > 1 else ''}]\n")
    while stack:
        h.append(f"</{stack.pop().tag}>\n")


def _render_row(out: Out, status, old, new, cls, count=True):
    h = out.h
    h.append(f"<tr{cls}>")
    row = (new if new is not None else old).cells
    olds = old.cells if old is not None else []
    width = max(len(row), len(olds))
    out.t.append("|")
    for k in range(width):
        # a cell is (tag, attrs, tokens); the status says which sides have one
        cell_new: Any = new.cells[k] if new is not None and k < len(new.cells) else None
        cell_old: Any = olds[k] if k < len(olds) else None
        tag, attrs, _ = cell_new or cell_old
        h.append(f"<{tag}{attr_str(attrs)}>")
        out.t.append(" ")
        if status == "eq":
            out.same(cell_new[2])
        elif cell_new is not None and cell_old is not None and status == "chg":
            out.diff(cell_old[2], cell_new[2], count)
        elif cell_new is not None and status != "del":
            out.marked("ins", cell_new[2], count)
        else:
            out.marked("del", cell_old[2], count)
        h.append(f"</{tag}>")
        out.t.append(" |")
    h.append("</tr>")
