"""The Atom validator (tests/atomcheck.py) accepts RFC 4287's examples and
reports broken variants of them."""

from __future__ import annotations

import pytest

import atomcheck
from atomcheck import is_rfc3339_date_time, validate_atom

# RFC 4287 section 1.1, "A brief, single-entry Atom Feed Document".
MINIMAL = """\
<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">

  <title>Example Feed</title>
  <link href="http://example.org/"/>
  <updated>2003-12-13T18:30:02Z</updated>
  <author>
    <name>John Doe</name>
  </author>
  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>

  <entry>
    <title>Atom-Powered Robots Run Amok</title>
    <link href="http://example.org/2003/12/13/atom03"/>
    <id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>
    <updated>2003-12-13T18:30:02Z</updated>
    <summary>Some text.</summary>
  </entry>

</feed>
"""

# RFC 4287 section 1.1, "A more extensive, single-entry Atom Feed Document".
EXTENSIVE = """\
<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="text">dive into mark</title>
  <subtitle type="html">
    A &lt;em&gt;lot&lt;/em&gt; of effort
    went into making this effortless
  </subtitle>
  <updated>2005-07-31T12:29:29Z</updated>
  <id>tag:example.org,2003:3</id>
  <link rel="alternate" type="text/html"
   hreflang="en" href="http://example.org/"/>
  <link rel="self" type="application/atom+xml"
   href="http://example.org/feed.atom"/>
  <rights>Copyright (c) 2003, Mark Pilgrim</rights>
  <generator uri="http://www.example.com/" version="1.0">
    Example Toolkit
  </generator>
  <entry>
    <title>Atom draft-07 snapshot</title>
    <link rel="alternate" type="text/html"
     href="http://example.org/2005/04/02/atom"/>
    <link rel="enclosure" type="audio/mpeg" length="1337"
     href="http://example.org/audio/ph34r_my_podcast.mp3"/>
    <id>tag:example.org,2003:3.2397</id>
    <updated>2005-07-31T12:29:29Z</updated>
    <published>2003-12-13T08:29:29-04:00</published>
    <author>
      <name>Mark Pilgrim</name>
      <uri>http://example.org/</uri>
      <email>f8dy@example.com</email>
    </author>
    <contributor>
      <name>Sam Ruby</name>
    </contributor>
    <contributor>
      <name>Joe Gregorio</name>
    </contributor>
    <content type="xhtml" xml:lang="en"
     xml:base="http://diveintomark.org/">
      <div xmlns="http://www.w3.org/1999/xhtml">
        <p><i>[Update: The Atom draft is finished.]</i></p>
      </div>
    </content>
  </entry>
</feed>
"""

ENTRY_ID = "<id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>"
ENTRY_UPDATED = "<updated>2003-12-13T18:30:02Z</updated>\n    <summary>"
SECOND_ENTRY = """
  <entry>
    <title>Second</title>
    <link href="http://example.org/2"/>
    <id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>
    <updated>2003-12-14T18:30:02Z</updated>
  </entry>
</feed>"""


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def check(tmp_path, text: str) -> list[str]:
    path = tmp_path / "feed.atom"
    path.write_text(text, encoding="utf-8")
    return validate_atom(path)


@pytest.mark.parametrize("text", [MINIMAL, EXTENSIVE], ids=["minimal", "extensive"])
def test_rfc_examples_are_valid(tmp_path, text):
    assert check(tmp_path, text) == []


def test_entry_document_is_valid(tmp_path):
    entry = EXTENSIVE[EXTENSIVE.index("<entry>") : EXTENSIVE.index("</entry>") + 8]
    entry = _replace(entry, "<entry>", '<entry xmlns="http://www.w3.org/2005/Atom">')
    assert check(tmp_path, entry) == []


def test_missing_entry_id(tmp_path):
    problems = check(tmp_path, _replace(MINIMAL, ENTRY_ID, ""))
    assert any("error:" in p and '"id"' in p for p in problems), problems  # jing
    assert any("exactly one atom:id, found 0" in p for p in problems), problems


def test_missing_entry_updated(tmp_path):
    problems = check(tmp_path, _replace(MINIMAL, ENTRY_UPDATED, "<summary>"))
    assert any("error:" in p and '"updated"' in p for p in problems), problems
    assert any("exactly one atom:updated, found 0" in p for p in problems), problems


def test_bad_date(tmp_path):
    bad = _replace(EXTENSIVE, "2003-12-13T08:29:29-04:00", "2026-13-01T08:29:29-04:00")
    problems = check(tmp_path, bad)
    assert any("error:" in p and "published" in p for p in problems), problems
    assert any("'2026-13-01T08:29:29-04:00' is not an RFC 3339" in p for p in problems)


def test_duplicate_entry_id(tmp_path):
    problems = check(tmp_path, _replace(MINIMAL, "\n</feed>", SECOND_ENTRY))
    assert any("duplicate entry id" in p and "entry #2" in p for p in problems), problems


def test_wrong_namespace(tmp_path):
    bad = _replace(MINIMAL, "http://www.w3.org/2005/Atom", "http://purl.org/atom/ns#")
    problems = check(tmp_path, bad)
    assert any("error:" in p for p in problems), problems
    assert any("not atom:feed or atom:entry" in p for p in problems), problems


def test_unknown_atom_element(tmp_path):
    bad = _replace(MINIMAL, "<summary>", "<bogus>x</bogus><summary>")
    problems = check(tmp_path, bad)
    assert any('element "bogus" not allowed' in p for p in problems), problems


def test_foreign_extension_element_is_allowed(tmp_path):
    ok = _replace(MINIMAL, "<summary>", '<ex:rating xmlns:ex="urn:x-ex">5</ex:rating><summary>')
    assert check(tmp_path, ok) == []


def test_author_required_on_feed_or_every_entry(tmp_path):
    bad = _replace(MINIMAL, "<author>\n    <name>John Doe</name>\n  </author>", "")
    problems = check(tmp_path, bad)
    assert any("no atom:author" in p for p in problems), problems


def test_duplicate_alternate_link(tmp_path):
    bad = _replace(
        MINIMAL,
        '<link href="http://example.org/2003/12/13/atom03"/>',
        '<link href="http://example.org/a"/><link rel="alternate" href="http://example.org/b"/>',
    )
    problems = check(tmp_path, bad)
    assert any('more than one atom:link rel="alternate"' in p for p in problems), problems


def test_entry_needs_alternate_link_or_content(tmp_path):
    bad = _replace(MINIMAL, '<link href="http://example.org/2003/12/13/atom03"/>', "")
    problems = check(tmp_path, bad)
    assert any('rel="alternate" or an atom:content' in p for p in problems), problems


@pytest.mark.parametrize(
    "value",
    [  # RFC 4287 section 3.3's examples, plus a leap second and a leap day
        "2003-12-13T18:30:02Z",
        "2003-12-13T18:30:02.25Z",
        "2003-12-13T18:30:02+01:00",
        "2003-12-13T18:30:02.25+01:00",
        "2016-12-31T23:59:60Z",
        "2024-02-29T00:00:00Z",
    ],
)
def test_rfc3339_valid(value):
    assert is_rfc3339_date_time(value)


@pytest.mark.parametrize(
    "value",
    [
        "2026-13-01T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "2003-12-13t18:30:02z",
        "2003-12-13 18:30:02Z",
        "2003-12-13T18:30:02",
        "2003-12-13",
        " 2003-12-13T18:30:02Z",
        "2003-12-13T24:00:00Z",
        "2003-12-13T18:30:02+0100",
    ],
)
def test_rfc3339_invalid(value):
    assert not is_rfc3339_date_time(value)


def test_missing_jing_is_a_clear_failure(tmp_path, monkeypatch):
    path = tmp_path / "feed.atom"
    path.write_text(MINIMAL, encoding="utf-8")
    monkeypatch.setattr(atomcheck.shutil, "which", lambda name: None)
    with pytest.raises(AssertionError, match="apt-get install jing"):
        validate_atom(path)
