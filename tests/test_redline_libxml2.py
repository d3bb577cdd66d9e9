"""The libxml2 behaviours that make the redline's group cut exact (legalsite/redline_pieces.py,
_group_keys), checked on the installed lxml and libxml2: an lxml upgrade (requirements.lock)
whose libxml2 parses differently fails here, not silently in a redline.

(a) A body in the grammar of redline_pieces._shape that libxml2 parses without a complaint is
    built exactly as its tags say: no element closed early or implied, no end tag ignored
    silently (every pair of Markdown's elements, as siblings and nested, with text).
(b) What libxml2 keeps beyond its stack of open elements changes nothing but the top-level white
    space between two groups: two groups parsed together give the two trees parsed alone, with
    the newline between them as top-level text.
Checked on libxml2 2.14.6 (lxml 6.2.0), 2026-12-06: (a) 3,885 bodies, 3,731 without a complaint.
"""

from __future__ import annotations

import html
import itertools

import pytest
from lxml import etree

from legalsite.html_scan import parse_with_errors
from legalsite.redline_pieces import _TAG, _TAGS, _VOID, _shape

CHECKED_ON = (2, 14, 6)  # etree.LIBXML_VERSION the argument and these tests were checked on


def parse(body: str):
    root, errors = parse_with_errors(body, fragment=True)
    return root.find("body"), errors


def tree(el) -> list:
    """An element as [tag, children], texts merged."""
    kids: list = []

    def text(s):
        if s:
            if kids and isinstance(kids[-1], str):
                kids[-1] += s
            else:
                kids.append(s)

    text(el.text)
    for child in el:
        kids.append(tree(child))
        text(child.tail)
    return [el.tag, kids]


def written(body: str) -> list:
    """The tree the tags of ``body`` (in _shape's grammar, nested) say, texts merged."""
    stack: list = [["body", []]]

    def text(s):
        kids = stack[-1][1]
        if s:
            if kids and isinstance(kids[-1], str):
                kids[-1] += html.unescape(s)
            else:
                kids.append(html.unescape(s))

    pos = 0
    for match in _TAG.finditer(body):
        text(body[pos : match.start()])
        pos = match.end()
        end, name = match.groups()
        if name in _VOID:
            stack[-1][1].append([name, []])
        elif not end:
            stack[-1][1].append([name, []])
            stack.append(stack[-1][1][-1])
        else:
            stack.pop()
    text(body[pos:])
    return stack[0]


def test_libxml2_version_is_reported():
    print(f"libxml2 {etree.LIBXML_VERSION}, lxml {etree.LXML_VERSION}; checked on {CHECKED_ON}")
    assert etree.LIBXML_VERSION >= (2, 14, 0), "the group cut was argued on libxml2 2.14"


NON_VOID = sorted(_TAGS - _VOID)


def element(tag: str, inner: str) -> str:
    return f"<{tag}>" if tag in _VOID else f"<{tag}>{inner}</{tag}>"


@pytest.mark.parametrize("outer", NON_VOID + sorted(_VOID))
def test_no_complaint_means_built_as_the_tags_say(outer):
    """(a), on every pair: siblings, nested, nested among text and an entity."""
    checked = 0
    for inner in sorted(_TAGS):
        bodies = [element(outer, "x") + element(inner, "y")]
        if outer not in _VOID:
            bodies += [element(outer, element(inner, "y")), element(outer, "t " + element(inner, "&amp;") + "\nu")]
        for body in bodies:
            assert _shape(body) == ((), ())
            got, errors = parse(body)
            if not errors:
                checked += 1
                assert tree(got) == written(body), (body, etree.LIBXML_VERSION)
    assert checked  # each element is built without a complaint somewhere


GROUPS = [
    '<h2 id="a">A <em>b</em></h2>',
    "<p>a <strong>b</strong> &amp; <a href=\"#x\">c</a><br>\nd</p>",
    "<ul>\n<li>x</li>\n<li>\n<p>y</p>\n</li>\n</ul>",
    "<ol>\n<li>x</li>\n</ol>",
    "<dl>\n<dt>t</dt>\n<dd>d</dd>\n</dl>",
    "<table>\n<thead>\n<tr>\n<th>h</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n<td>c</td>\n</tr>\n</tbody>\n</table>",
    "<pre><code>x &lt; y\n</code></pre>",
    "<pre>\n\nx</pre>",
    "<blockquote>\n<p>q</p>\n</blockquote>",
    '<div class="footnote">\n<hr>\n<ol>\n<li id="fn:1">\n<p>n</p>\n</li>\n</ol>\n</div>',
    "<hr>",
]


def test_groups_parse_together_as_they_parse_alone():
    """(b): every ordered pair of groups, joined by the cut's newline or a blank line."""
    for one, other in itertools.product(GROUPS, repeat=2):
        for gap in ("\n", "\n\n"):
            alone = []
            for group in (one, other):
                body, errors = parse(group)
                assert not errors, group
                alone.append(tree(body)[1])
            body, _errors = parse(one + gap + other)  # "ID a already defined": same tree
            assert tree(body)[1] == alone[0] + [gap] + alone[1], (one, other, etree.LIBXML_VERSION)
