"""Redline engine: compare two rendered policy bodies section by section.

``redline(old_html, new_html)`` aligns sections by heading (leading numbering ignored, so a
renumbered section stays one section; a renamed one is paired by its content; a moved one is
shown once, as moved), aligns blocks inside each section (paragraphs, headings, list items,
table rows, ...) and marks word-level changes with ``<ins>``/``<del>`` carrying visually-hidden
"inserted: "/"deleted: " text for screen readers. Unchanged sections collapse into
``<details>``. Output: an escaped, balanced HTML fragment plus a plain-text rendering.
Pure and deterministic: same input, same bytes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from .redline_diff import align_blocks, align_sections, section_level, split_sections
from .redline_parse import HEADINGS
from .redline_pieces import KEYS, UIDS, parse_blocks, unit_keys
from .redline_render import Ids, Out, esc, render_blocks
from .wording import counted  # issue 15: "1 word", not "1 words"

__all__ = ["Redline", "RedlineStats", "redline"]

SPECIAL_TITLES = {"preamble": "Text before the first heading", "footnotes": "Footnotes"}
TEXT_MARKER = {"added": "+", "removed": "-", "moved": ">", "changed": "~", "unchanged": "="}


@dataclass(frozen=True)
class RedlineStats:
    sections_changed: int
    sections_added: int
    sections_removed: int
    sections_moved: int
    words_inserted: int
    words_deleted: int


@dataclass(frozen=True)
class Redline:
    html: str  # HTML fragment (no <html>/<body>), escaped and balanced: safe for Jinja's |safe
    text: str  # plain-text summary with [-deleted-]{+inserted+} markers
    stats: RedlineStats


_HIDDEN = (("ins", "inserted: "), ("del", "deleted: "))


def _say(words: dict | None):
    """The word for a msgid of :data:`WORDS`: English, or from ``words``."""
    if not words:
        return lambda word: word
    return lambda word: words[word]


def _label_html(label):
    return (
        f'<span class="rl-label"><span class="visually-hidden">(</span>{esc(label)}'
        f'<span class="visually-hidden">)</span></span>'
    )


def _capture(out, fn):
    """Run fn() and return (html, text) it produced, removing them from the main buffers."""
    hm, tm = len(out.h), len(out.t)
    fn()
    h, t = "".join(out.h[hm:]), "".join(out.t[tm:])
    del out.h[hm:], out.t[tm:]
    return h, t


def _heading(out, old, new, status, count):
    """(html, text) of a section's heading: the one of ``old`` and ``new`` there is, marked as
    ``status`` ("ins" or "del"), or the word diff of the two ("chg"). A section without a
    heading has a special title instead (:func:`_special_title`)."""
    if status in ("ins", "del"):
        block = new if new is not None else old
        return _capture(out, lambda: out.marked(status, block.toks, count))
    if old.key == new.key:
        return _capture(out, lambda: out.same(new.toks))
    return _capture(out, lambda: out.diff(old.toks, new.toks, count))


def _special_title(sec, say):
    """(html, text) of the title of a section without a heading (preamble, footnotes)."""
    title = SPECIAL_TITLES[sec.special]
    return esc(say(title)), title


def N_(word: str) -> str:
    """Marks a message for pybabel's extraction (templates/locale/babel.cfg); returns it as is."""
    return word


# The words a redline's HTML adds (labels, special titles, screen-reader text): English by
# default; a translated redline (render_i18n.py) passes its catalogue's, under these msgids.
WORDS = (
    N_("changed"),
    N_("renamed"),
    N_("renumbered"),
    N_("moved from position %(n)s"),
    N_("unchanged"),
    N_("added"),
    N_("removed"),
    N_("Text before the first heading"),
    N_("Footnotes"),
    N_("inserted: "),
    N_("deleted: "),
)


def redline(
    old_html: str, new_html: str, pieces: dict | None = None, words: dict | None = None
) -> Redline:
    """Compare two rendered policy bodies; see the module docstring. ``pieces``: parsed
    pieces of bodies to reuse and add to (redline_pieces.parse_blocks); by default the two
    bodies share theirs, and :func:`redlines` passes them on from one pair to the next.
    ``words``: msgid -> translation of each of :data:`WORDS` (issue 17), else English."""
    return _redline(old_html, new_html, {} if pieces is None else pieces, words)


def redlines(pairs: list[tuple[str, str]]) -> list[Redline]:
    """The redline of each (old, new) pair; consecutive versions share most pieces, so the
    pieces are passed on, and cut back to the last new side's when they grow. The numbering of
    block keys (KEYS) is kept whole, as the kept templates hold its numbers: it grows with the
    distinct blocks of the pairs (one policy of 1,000 versions in one call: 95 MB at peak,
    traced, against 68 MB without it; a build's call is one policy's versions, 50 in the
    benchmark corpus)."""
    out: list[Redline] = []
    pieces: dict = {}
    for old_html, new_html in pairs:
        out.append(redline(old_html, new_html, pieces))
        if len(pieces) > 1000:  # a body has ~90 top-level units: keep the new side's
            keys = unit_keys(new_html, pieces)
            kept = {(None, "body", new_html): keys, _LAST: pieces[_LAST], UIDS: pieces[UIDS]}
            kept[KEYS] = pieces.setdefault(KEYS, {})  # the templates kept hold its numbers
            pieces = {key: pieces[key] for key in keys} | kept
    return out


_LAST = (None, "last")  # pieces: the last redline's new side, (html, blocks, level, sections)


def _redline(old_html: str, new_html: str, pieces: dict, words: dict | None = None) -> Redline:
    # A body is the new side of one redline and the old side of the next: its blocks are used
    # again (the uids of one pieces dict are unique); the new side is always made afresh, so
    # the two sides of one redline never share a container, even when the bodies are equal.
    # Its sections too, when they are split at the same heading level.
    last = pieces.pop(_LAST, None)
    if last is None or last[0] != old_html:
        last = (old_html, parse_blocks(old_html, "o", pieces), None, None)
    old_blocks = last[1]
    new_blocks = parse_blocks(new_html, "n", pieces)
    level = section_level(old_blocks, new_blocks)
    olds = (
        last[3] if last[3] is not None and last[2] == level else split_sections(old_blocks, level)
    )
    news = split_sections(new_blocks, level)
    pieces[_LAST] = (new_html, new_blocks, level, news)
    pairs, stable = align_sections(olds, news)
    stable_old = {i for i, _j in stable}

    # ids: every heading of the new version keeps its anchor, prefixed "r-"; unique
    ids, idmap = Ids(), {}
    for b in new_blocks:
        if b.kind in HEADINGS and b.hid and b.hid not in idmap:
            idmap[b.hid] = ids.make(b.hid)
    say = _say(words)  # issue 17
    hidden = {k: f'<span class="visually-hidden">{esc(say(w))}</span>' for k, w in _HIDDEN}
    out = Out(idmap, hidden if words else None)

    # output order: the new version's sections, each removed one after its old predecessor
    after, anchor = defaultdict(list), -1
    for s in olds:
        if s.index in stable_old:
            anchor = pairs[s.index]
        elif s.index not in pairs:
            after[anchor].append(s)
    rev = {j: i for i, j in pairs.items()}
    order = [(s, None) for s in after[-1]]
    for s in news:
        order.append((olds[rev[s.index]] if s.index in rev else None, s))
        order.extend((o, None) for o in after[s.index])

    first_old_heading = 1 if olds and olds[0].heading is not None else 0
    counts = dict(changed=0, added=0, removed=0, moved=0)
    html, text = ['<div class="redline">\n'], []
    for old, new in order:
        if new is None or old is None:
            kind = "removed" if new is None else "added"
            status = "del" if new is None else "ins"
            sec = old or new
            assert sec is not None  # one of the two is a section
            items = [
                (status, b, None) if status == "del" else (status, None, b) for b in sec.blocks
            ]
            labels, collapsed, renumbered_only = [kind], False, False
            counts[kind] += sec.heading is not None  # the special sections are not counted
            h_html, h_text = (
                _special_title(sec, say)
                if sec.heading is None
                else _heading(out, sec.heading, sec.heading, status, True)
            )
            if sec.heading is None:
                sid = sec.special
            elif new is not None:
                sid = new.heading.hid or "section"
            else:
                sid = "removed-" + (old.heading.hid or "section")
        else:
            items = align_blocks(old.blocks, new.blocks)
            body_changed = any(st != "eq" for st, _o, _n in items)
            oh, nh = old.heading, new.heading
            head_changed = oh is not None and oh.key != nh.key
            renamed = head_changed and old.key != new.key
            renumbered_only = head_changed and not renamed
            moved = old.index not in stable_old
            labels = []
            if body_changed:
                labels.append("changed")
            if renamed:
                labels.append("renamed")
            elif renumbered_only:
                labels.append("renumbered")
            if moved:
                labels.append(
                    say("moved from position %(n)s") % {"n": old.index + first_old_heading}
                )
                counts["moved"] += 1
            kind = "moved" if moved else "changed" if body_changed or renamed else "unchanged"
            if (body_changed or renamed) and nh is not None:
                counts["changed"] += 1
            labels = labels or ["unchanged"]
            collapsed = not body_changed
            h_html, h_text = (
                _special_title(new, say)
                if nh is None
                else _heading(out, oh, nh, "chg", not renumbered_only)
            )
            sid = new.special if nh is None else (nh.hid or "section")
        if new is not None and new.heading is not None and new.heading.hid in idmap:
            sec_id = idmap[new.heading.hid]
        else:
            sec_id = ids.make(sid)
        label = ", ".join(say(w) if w in WORDS else w for w in labels)
        classes = (
            "rl-section rl-"
            + kind
            + "".join(
                f" rl-{w}"
                for w in ("changed", "renamed", "renumbered")
                if w in labels and w != kind
            )
        )
        body_h, body_t = _capture(
            out,
            lambda items=items, kind=kind: render_blocks(
                out, items, idmap, text_all=kind in ("added", "removed")
            ),
        )
        text.append(f"{TEXT_MARKER[kind]} {h_text} ({label})\n")
        if not collapsed:
            text.append(body_t)
        block = (new or old).heading
        if collapsed:
            html.append(
                f'<details class="{classes}" id="{sec_id}">\n<summary><span class="rl-title">'
                f"{h_html}</span> {_label_html(label)}</summary>\n"
                f'<div class="rl-body">\n{body_h}</div>\n</details>\n'
            )
        elif block is None:
            html.append(
                f'<div class="{classes}" id="{sec_id}">\n<p class="rl-heading">{h_html} '
                f"{_label_html(label)}</p>\n{body_h}</div>\n"
            )
        else:
            tag = block.kind
            html.append(
                f'<section class="{classes}" id="{sec_id}">\n<{tag} class="rl-heading">{h_html} '
                f"{_label_html(label)}</{tag}>\n{body_h}</section>\n"
            )
    html.append("</div>\n")
    stats = RedlineStats(
        counts["changed"], counts["added"], counts["removed"], counts["moved"], out.ins, out.dels
    )
    summary = (
        f"{stats.sections_changed} changed, {stats.sections_added} added, "
        f"{stats.sections_removed} removed, {stats.sections_moved} moved sections; "
        f"{counted(stats.words_inserted, 'word')} inserted, {stats.words_deleted} deleted\n\n"
    )
    return Redline("".join(html), summary + "".join(text), stats)
