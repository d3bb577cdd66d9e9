"""Alignment for the redline engine: words inside a block, blocks inside a section, sections
(a body's leaf blocks are first split into sections at its repeating heading level).

Everything is built on difflib.SequenceMatcher, always on small sequences: sections are
aligned by heading, blocks within one aligned section, words within one aligned block (long
blocks are first aligned by sentence), so the cost stays near-linear in document size.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter, defaultdict, deque
from difflib import SequenceMatcher

from .redline_parse import HEADINGS

WORD_LIMIT = 1200  # tokens per side above which a block is first aligned by sentence
PAIR_DP_LIMIT = 2500  # cells of the similarity matrix when pairing replaced blocks
BLOCK_PAIR_MIN = 0.4  # word-bag similarity for two differing blocks to be shown as one edit
SECTION_GAP_MIN = 0.5  # similarity for unmatched sections in the same gap (heading renamed)
SECTION_ONE_MIN = 0.3  # ... when the gap holds exactly one old and one new section
SECTION_ANY_MIN = 0.6  # ... anywhere else (a section both renamed and moved)
SENTENCE_END = frozenset(".!?;:")


# --------------------------------------------------------------------------- sections
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


# --------------------------------------------------------------------------- words
def _matcher_ops(a, b, autojunk=False):
    return SequenceMatcher(None, a, b, autojunk=autojunk).get_opcodes()


def _chunks(keys, texts):
    out, start = [], 0
    for k, text in enumerate(texts):
        if text in SENTENCE_END:
            out.append((start, k + 1))
            start = k + 1
    if start < len(keys):
        out.append((start, len(keys)))
    return out


def _raw_ops(a, b, ta, tb, depth=0):
    if len(a) + len(b) <= WORD_LIMIT or depth > 1:
        return _matcher_ops(a, b, autojunk=depth > 1)
    ca, cb = _chunks(a, ta), _chunks(b, tb)
    ka = [tuple(a[s:e]) for s, e in ca]
    kb = [tuple(b[s:e]) for s, e in cb]
    ops = []
    for tag, i1, i2, j1, j2 in _matcher_ops(ka, kb):
        a1 = ca[i1][0] if i1 < len(ca) else len(a)
        a2 = ca[i2 - 1][1] if i2 > i1 else a1
        b1 = cb[j1][0] if j1 < len(cb) else len(b)
        b2 = cb[j2 - 1][1] if j2 > j1 else b1
        if tag != "replace":
            ops.append((tag, a1, a2, b1, b2))
        else:
            for t, x1, x2, y1, y2 in _raw_ops(a[a1:a2], b[b1:b2], ta[a1:a2], tb[b1:b2], depth + 1):
                ops.append((t, x1 + a1, x2 + a1, y1 + b1, y2 + b1))
    return ops


def word_ops(old_toks, new_toks):
    """Opcodes between two token lists, with short equalities between edits folded into them
    (the 'semantic cleanup' of diff-match-patch), so edits read as phrases, not confetti."""
    a = [t.key for t in old_toks]
    b = [t.key for t in new_toks]
    if a == b:
        return [("equal", 0, len(a), 0, len(b))] if a else []
    ops = _raw_ops(a, b, [t.text for t in old_toks], [t.text for t in new_toks])

    prefix = {}
    for _name, toks in (("a", old_toks), ("b", new_toks)):
        acc, sums = 0, [0]
        for t in toks:
            acc += len(t.text) or 1
            sums.append(acc)
        prefix[id(toks)] = sums

    def chars(toks, i, j):
        sums = prefix[id(toks)]
        return sums[j] - sums[i]

    out = []
    for op in ops:
        op = list(op)
        if op[0] != "equal" and out and out[-1][0] != "equal":
            prev = out.pop()
            op = ["replace", prev[1], op[2], prev[3], op[4]]
        while (
            op[0] != "equal" and len(out) >= 2 and out[-1][0] == "equal" and out[-2][0] != "equal"
        ):
            eq, before = out[-1], out[-2]
            size = chars(old_toks, eq[1], eq[2])
            if size > max(
                chars(old_toks, before[1], before[2]), chars(new_toks, before[3], before[4])
            ) or size > max(chars(old_toks, op[1], op[2]), chars(new_toks, op[3], op[4])):
                break
            out.pop()
            out.pop()
            op = ["replace", before[1], op[2], before[3], op[4]]
        out.append(op)
    result = []
    for tag, i1, i2, j1, j2 in out:
        if tag == "replace":
            tag = "delete" if j1 == j2 else "insert" if i1 == i2 else "replace"
        if i1 != i2 or j1 != j2:
            result.append((tag, i1, i2, j1, j2))
    return result


# --------------------------------------------------------------------------- blocks
def _pair_dp(olds, news, score, minimum):
    """Order-preserving pairing maximising total similarity (pairs below `minimum` ignored)."""
    n, m = len(olds), len(news)
    if n * m > PAIR_DP_LIMIT:  # large rewrite: pair positionally where similar enough
        return [(i, i) for i in range(min(n, m)) if score(olds[i], news[i]) >= minimum]
    sc = [[score(o, w) for w in news] for o in olds]
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row, nxt = best[i], best[i + 1]
        for j in range(m - 1, -1, -1):
            s = sc[i][j]
            take = s + nxt[j + 1] if s >= minimum else -1.0
            row[j] = max(take, nxt[j], row[j + 1])
    pairs, i, j = [], 0, 0
    while i < n and j < m:
        s = sc[i][j]
        if s >= minimum and best[i][j] == s + best[i + 1][j + 1]:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            i += 1
        else:
            j += 1
    return pairs


def _block_score(a, b):
    if a.sig != b.sig:
        return 0.0
    return dice(a.bag(), b.bag())


def align_blocks(olds, news):
    """[(status, old_block, new_block)] with status 'eq', 'chg', 'del' or 'ins'."""
    ka, kb = [b.key for b in olds], [b.key for b in news]
    if ka == kb:  # what the matcher says of equal sequences (cheap: cached blocks share keys)
        return [("eq", o, n) for o, n in zip(olds, news, strict=True)]
    out = []
    for tag, i1, i2, j1, j2 in _matcher_ops(ka, kb):
        if tag == "equal":
            out.extend(
                ("eq", olds[i], news[j]) for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            )
            continue
        pairs = (
            _pair_dp(olds[i1:i2], news[j1:j2], _block_score, BLOCK_PAIR_MIN)
            if tag == "replace"
            else []
        )
        i, j = i1, j1
        for pi, pj in pairs + [(i2 - i1, j2 - j1)]:
            out.extend(("del", olds[k], None) for k in range(i, i1 + pi))
            out.extend(("ins", None, news[k]) for k in range(j, j1 + pj))
            if i1 + pi < i2:
                out.append(("chg", olds[i1 + pi], news[j1 + pj]))
            i, j = i1 + pi + 1, j1 + pj + 1
    return out


# --------------------------------------------------------------------------- sections
def _lis(pairs, weight):
    """Subset of pairs (sorted by old index) whose new indexes increase, heaviest first."""
    pairs = sorted(pairs)
    n = len(pairs)
    if n > 400:  # plain longest increasing subsequence, O(n log n)
        tails, tails_idx, prev = [], [], [-1] * n
        for k, (_o, nw) in enumerate(pairs):
            pos = bisect.bisect_left(tails, nw)
            if pos == len(tails):
                tails.append(nw)
                tails_idx.append(k)
            else:
                tails[pos], tails_idx[pos] = nw, k
            prev[k] = tails_idx[pos - 1] if pos else -1
        k, keep = (tails_idx[-1] if tails_idx else -1), set()
        while k >= 0:
            keep.add(pairs[k])
            k = prev[k]
        return keep
    best, prev = [0.0] * n, [-1] * n
    for k in range(n):
        best[k] = weight(pairs[k])
        for q in range(k):
            if pairs[q][1] < pairs[k][1] and best[q] + weight(pairs[k]) > best[k]:
                best[k], prev[k] = best[q] + weight(pairs[k]), q
    k, keep = (max(range(n), key=lambda x: (best[x], -x)) if n else -1), set()
    while k >= 0:
        keep.add(pairs[k])
        k = prev[k]
    return keep


def _section_score(a, b):
    return dice(a.bag(), b.bag())


def align_sections(olds, news):
    """Returns (pairs {old_index: new_index}, stable set of (old, new) pairs kept in order)."""
    pairs = {}
    specials = {s.special: s.index for s in news if s.special}
    for s in olds:
        if s.special in specials:
            pairs[s.index] = specials[s.special]
    queue = defaultdict(deque)
    for s in news:
        if s.heading is not None:
            queue[s.key].append(s.index)
    for s in olds:
        if s.heading is not None and queue[s.key]:
            pairs[s.index] = queue[s.key].popleft()

    def weight(p):
        return olds[p[0]].size

    stable = sorted(_lis(pairs.items(), weight))
    used_new = set(pairs.values())
    bounds = [(-1, -1)] + stable + [(len(olds), len(news))]
    for (ao, an), (bo, bn) in zip(bounds, bounds[1:], strict=False):
        gap_old = [s for s in olds[ao + 1 : bo] if s.index not in pairs and s.heading is not None]
        gap_new = [
            s for s in news[an + 1 : bn] if s.index not in used_new and s.heading is not None
        ]
        if not gap_old or not gap_new:
            continue
        minimum = SECTION_ONE_MIN if len(gap_old) == len(gap_new) == 1 else SECTION_GAP_MIN
        for i, j in _pair_dp(gap_old, gap_new, _section_score, minimum):
            pairs[gap_old[i].index] = gap_new[j].index
            used_new.add(gap_new[j].index)
    rest_old = [s for s in olds if s.index not in pairs and s.heading is not None]
    rest_new = [s for s in news if s.index not in used_new and s.heading is not None]
    if rest_old and rest_new and len(rest_old) * len(rest_new) <= 10000:
        cands = sorted(
            (-_section_score(o, w), o.index, w.index) for o in rest_old for w in rest_new
        )
        for neg, i, j in cands:
            if -neg < SECTION_ANY_MIN:
                break
            if i not in pairs and j not in used_new:
                pairs[i] = j
                used_new.add(j)
    return pairs, _lis(pairs.items(), weight)
