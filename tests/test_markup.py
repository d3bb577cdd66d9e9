"""Markdown: anchors, placeholders, and section reuse that never changes the result."""

from __future__ import annotations

import random

import pytest

from conftest import FIXTURE, REPO
from legalsite.markup import heading_slug, make_markdown, render_body, render_markdown


@pytest.mark.parametrize("text,slug", [
    ("1. Data Collection", "data-collection"), ("12.3 Retention", "retention"), ("Section 4 — Your Rights", "your-rights"),
    ("§ 5 Contact", "contact"), ("a) Scope", "scope"), ("Données & vie privée", "donnees-vie-privee"), ("2.", "2"),
])
def test_heading_slug_drops_numbering(text, slug):
    assert heading_slug(text) == slug


def bodies():
    for path in sorted([*(FIXTURE / "content").rglob("*.md"), *(REPO / "content").rglob("*.md")]):
        yield path.read_text().split("\n---\n", 1)[1]
    rng = random.Random(7)
    words = "data account provider retention request law right access delete copy billing logs".split()
    pieces = ["## {n}. {w}\n\n{p}\n", "### {w}\n\n{p}\n", "- {w}\n- {p}\n", "| a | b |\n| - | - |\n| {w} | {p} |\n",
              "{p}\n", "## {w}\n\n{p}\n", "1. {w}\n2. {p}\n", "> {p}\n", "## {n}. {w}\n"]
    for _ in range(60):
        chunks = []
        for n in range(rng.randint(1, 12)):
            p = " ".join(rng.choice(words) for _ in range(rng.randint(3, 30)))
            chunks.append(rng.choice(pieces).format(n=n, w=rng.choice(words).title(), p=p))
        yield "\n".join(chunks)
    from benchmarks.corpus import write_corpus
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as folder:
        write_corpus(Path(folder), 3, 8)
        for path in sorted(Path(folder).rglob("*.md")):
            yield path.read_text().split("\n---\n", 1)[1]
    yield "Para.\n\n- a\n\n- b\n\n  continued\n\nAfter.\n\n1. one\n\n2. two\n\nTerm\n:   Definition\n\nNext.\n"
    yield "## A\n\nText\n\n    code\n\nMore.\n\n> quote\n\n> more\n\n*emph* start.\n\n* item\n\n| a | b |\n| - | - |\n| 1 | 2 |\n"
    yield "## Terms\n\nBusiness Day\n:   A weekday.\n\nDocumentation\n:   The guides.\n\nAfter.\n"
    yield "## A\n\nTitle\n-----\n\nText\n\n### Sub\n\nText\n\n### Sub\n\nMore\n"
    yield "Intro.\n\n## A\n\nSee [x][1].\n\n## B\n\n[1]: https://example.org\n"
    yield "## A\n\nNote[^n].\n\n## B\n\n[^n]: A footnote.\n"
    yield "## Same\n\nx\n\n## Same\n\ny\n"
    yield "## A\n\n```\n## not a heading\n```\n"
    yield "<div markdown=\"1\">\n## inside\n</div>\n"
    # repeated anchors: the whole body numbers them measures, measures_1, measures_2
    yield "## 1. A\n\n### 1.1 Measures\n\nx\n\n## 2. B\n\n### 2.1 Measures\n\ny\n\n### Measures\n\nz\n"
    yield "## Same\n\n## Same\n\nx\n\n## C\n\n### Same\n\ny\n\n## Same 1\n\n## Same\n"
    yield "## A\n\n### Bar\n\nx\n\n## B {#bar}\n\ny\n\n## Bar\n"
    yield "## A\n\n### Bar\n\nx\n\n## Bar {: id=bar }\n\ny\n"
    yield "## Bar\n\nx\n\n## B\n\nSee <span id=\"bar\">here</span>.\n\n## Bar\n\ny\n"
    yield "## Bar\n\nText with id=\"x\" in it.\n\n## Bar\n"
    yield "[TOC]\n\n## A\n\nx\n\n## B\n\ny\n"
    yield "## A\n\nx\n\n## A\n\nTerm\n:   Definition\n\n## A\n"
    yield "## Bar\n\nx\n\n## Bar<span id=\"x\"></span>\n\ny\n"


@pytest.mark.parametrize("body", list(bodies()))
def test_section_reuse_renders_exactly_like_the_whole_body(body):
    md = make_markdown({"contact_email": "a@b.c"})
    memo: dict = {}
    render_body(md, body + "\n## Warm\n\nthe memo.\n", memo)  # a memo already holding sections
    assert render_body(md, body, memo) == render_markdown(md, body)


def test_a_new_version_renders_only_its_changed_blocks_even_with_repeated_anchors(monkeypatch):
    import legalsite.markup as markup
    first = "## 1. A\n\n### 1.1 Measures\n\nx\n\n## 2. B\n\n### 2.1 Measures\n\ny\n\nz\n"
    second = first.replace("y\n", "y, reworded\n")
    md = make_markdown({})
    memo: dict = {}
    render_body(md, first, memo)
    rendered = []
    real = markup.render_markdown
    monkeypatch.setattr(markup, "render_markdown", lambda md, text: rendered.append(text) or real(md, text))
    result = render_body(md, second, memo)
    assert rendered == ["y, reworded\n\n"]
    assert result == real(md, second)


LOCAL_IMAGES = ("copy the file into templates/assets/ (each file there, not in a subfolder, is published as "
                "/assets/<file name>) and use /assets/<file name>, e.g. ![what it shows](/assets/seal.png); "
                "or link to it instead")


def test_a_backslash_url_is_another_site_as_browsers_read_it():
    from legalsite.markup import scan_html
    assert [f.message for f in scan_html('<img src="/\\img.example.net/a.png" alt="">')] == [
        "img loads '/\\img.example.net/a.png' from another site: " + LOCAL_IMAGES]
    assert scan_html('<img src="/assets/a.png" alt="">') == []


def test_markdown_extensions_are_ours_not_looked_up_by_name(monkeypatch):
    """Extensions named as strings are found among every installed package's entry
    points: slow, and another package could register "toc" and replace ours."""
    import markdown.util

    def no_lookup():
        raise AssertionError("an extension was looked up by name")

    monkeypatch.setattr(markdown.util, "get_installed_extensions", no_lookup)
    md = make_markdown({})
    html = md.convert("## 2. Data\n\n| a |\n|---|\n| b |\n\nText[^1] {: .x }\n\n[^1]: note\n\n*[API]: interface\n")
    assert '<h2 id="data">2. Data</h2>' in html and "<table>" in html and 'class="footnote"' in html


def test_line_start_patterns_decide_as_their_multiline_caret_forms():
    """markup matches "\\n" + text where the plain form of each pattern has "^" (multi-line),
    for speed; the plain forms are the specification."""
    import re

    from legalsite import markup
    split = re.compile(r"^(?=## )", re.MULTILINE)
    cross = re.compile(r"^ {0,3}\[[^\]]+\]:|\[\^|^\*\[|^ {0,3}(?:```|~~~|<)|\[TOC\]", re.MULTILINE)
    spans = re.compile(r"^(?::|=+\s*$|-+\s*$)", re.MULTILINE)
    rng = random.Random(7)
    pieces = ["## ", "\n", " ", "[", "]", ":", "^", "*", "`", "~", "<", "TOC", "=", "-", "a", "\t", "[TOC]", "```",
              "  [x]: y", "*[", "[^1]"]
    texts = [path.read_text() for path in sorted((FIXTURE / "content").rglob("*.md"))]
    texts += ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 16))) for _ in range(20000)]
    for text in texts:
        assert markup._sections(text) == split.split(text), repr(text)
        assert markup._cross_section(text) == bool(cross.search(text)), repr(text)
        for section in split.split(text):
            assert bool(markup._SPANS_BLANK_LINES.search("\n" + section)) == bool(spans.search(section)), repr(section)
