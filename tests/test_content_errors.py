"""Every content error: exact message, right line, all reported together, nothing written."""

from __future__ import annotations

import pytest
from conftest import REPO

GOOD = """\
---
title: Privacy Policy
effective: 2026-01-01
---

## 1. Section

Text.
"""


def version(effective: str, body: str = "## 1. Section\n\nText.\n", **fields: str) -> str:
    lines = ["---", "title: Privacy Policy", f"effective: {effective}"]
    lines += [f"{key}: {value}" for key, value in fields.items()]
    return "\n".join(lines) + "\n---\n\n" + body


def errors_of(cli, *args: str) -> list[str]:
    code, out, err = cli("check", "--as-of", "2026-06-15", *args)
    assert code == 1, out + err
    lines = err.strip().splitlines()
    assert lines[-1].endswith("nothing was written. Fix them and run the command again.")
    return lines[:-1]


CASES = {
    "yaml syntax error at its real line": (
        {"content/privacy/2026-01-01.md": "---\ntitle: Privacy Policy\neffective: 2026-01-01\nsummary: [oops\n---\n\nText.\n"},
        ["content/privacy/2026-01-01.md:4: front matter is not valid YAML: expected ',' or ']', but got '<stream end>'; check quotes and colons (a value containing ': ' needs quotes)"],
    ),
    "unclosed double quote at the line it opens (issue 15: was the closing '---' line)": (
        {"content/privacy/2026-01-01.md": '---\ntitle: "Privacy Policy\neffective: 2026-01-01\nsummary: x\n---\n\nText.\n'},
        ["content/privacy/2026-01-01.md:2: front matter is not valid YAML: the quoted value that starts on this line is never closed: end it with the same quote (' or \") on this line"],
    ),
    "unclosed single quote in a later field": (
        {"content/privacy/2026-01-01.md": "---\ntitle: Privacy Policy\neffective: 2026-01-01\nsummary: 'We now keep logs\ndraft: true\n---\n\nText.\n"},
        ["content/privacy/2026-01-01.md:4: front matter is not valid YAML: the quoted value that starts on this line is never closed: end it with the same quote (' or \") on this line"],
    ),
    "a list as a field name": (
        {"content/privacy/2026-01-01.md": "---\ntitle: Privacy Policy\neffective: 2026-01-01\n? [a, b]\n: x\n---\n\nText.\n"},
        ["content/privacy/2026-01-01.md:4: a field name must be a plain word before the colon, e.g. 'title: Privacy Policy'"],
    ),
    "blank line after the opening delimiter keeps line numbers": (
        {"content/privacy/2026-01-01.md": "---\n\ntitle: Privacy Policy\neffective: 2026-01-01\ntitel: x\n---\n\nText.\n"},
        ["content/privacy/2026-01-01.md:5: unknown field 'titel': did you mean 'title'?"],
    ),
    "missing title and effective": (
        {"content/privacy/2026-01-01.md": "---\nsummary: x\n---\n\nText.\n"},
        [
            "content/privacy/2026-01-01.md:1: missing field 'effective': add the date this version takes effect, e.g. 'effective: 2026-04-01'",
            "content/privacy/2026-01-01.md:1: missing field 'title': add e.g. 'title: Privacy Policy'",
        ],
    ),
    "unknown field": (
        {"content/privacy/2026-01-01.md": version("2026-01-01", author="legal")},
        ["content/privacy/2026-01-01.md:4: unknown field 'author': allowed fields are title, effective, summary, draft, date_precision, retitled, non_material"],
    ),
    "quoted date is a string, not a date": (
        {"content/privacy/2026-01-01.md": version('"2026-01-01"')},
        ["content/privacy/2026-01-01.md:3: effective '2026-01-01' is not a date: write it as YYYY-MM-DD without quotes, e.g. 'effective: 2026-04-01'"],
    ),
    "impossible date": (
        {"content/privacy/2026-02-30.md": version("2026-02-30")},
        ["content/privacy/2026-02-30.md:3: effective: 2026-02-30 is not a real date (day is out of range for month): use YYYY-MM-DD"],
    ),
    "date and time": (
        {"content/privacy/2026-01-01.md": version("2026-01-01 10:00:00")},
        ["content/privacy/2026-01-01.md:3: effective must be a date without a time: write YYYY-MM-DD"],
    ),
    "file name does not match effective": (
        {"content/privacy/2026-01-02.md": version("2026-01-01")},
        ["content/privacy/2026-01-02.md:3: effective 2026-01-01 does not match the file name 2026-01-02.md: rename the file to 2026-01-01.md or fix the date"],
    ),
    "empty body": (
        {"content/privacy/2026-01-01.md": version("2026-01-01", body="\n\n")},
        ["content/privacy/2026-01-01.md:4: the policy text is empty: write it below the closing '---'"],
    ),
    "invalid utf-8 at its line": (
        {"content/privacy/2026-01-01.md": GOOD.encode() + b"caf\xe9\n"},
        ["content/privacy/2026-01-01.md:9: not valid UTF-8: save the file with UTF-8 encoding"],
    ),
    "no front matter": (
        {"content/privacy/2026-01-01.md": "## 1. Section\n\nText.\n"},
        ["content/privacy/2026-01-01.md:1: missing front matter: the file must start with a line '---', then title, effective and summary, then '---'"],
    ),
    "unclosed front matter": (
        {"content/privacy/2026-01-01.md": "---\ntitle: Privacy Policy\n"},
        ["content/privacy/2026-01-01.md:1: front matter is not closed: add a line '---' after the last field"],
    ),
    "duplicate key": (
        {"content/privacy/2026-01-01.md": version("2026-01-01", title="Again")},
        ["content/privacy/2026-01-01.md:4: field 'title' appears twice (first on line 2): keep one"],
    ),
    "draft must be a boolean": (
        {"content/privacy/2026-01-01.md": version("2026-01-01", draft="yes please")},
        ["content/privacy/2026-01-01.md:4: draft must be true or false, not 'yes please'"],
    ),
    "date precision": (
        {"content/privacy/2026-01-01.md": version("2026-01-01", date_precision="week")},
        ["content/privacy/2026-01-01.md:4: date_precision must be 'day' or 'month', not 'week'"],
    ),
    "summary missing after the first version": (
        {"content/privacy/2026-01-01.md": GOOD, "content/privacy/2026-03-01.md": version("2026-03-01")},
        ["content/privacy/2026-03-01.md:1: summary is missing: say in plain words what changed since the previous version, e.g. 'summary: We now keep API logs for 30 days instead of 90.'"],
    ),
    "title changed without retitled": (
        {"content/privacy/2026-01-01.md": GOOD,
         "content/privacy/2026-03-01.md": "---\ntitle: Data Policy\neffective: 2026-03-01\nsummary: New name.\n---\n\nText.\n"},
        ["content/privacy/2026-03-01.md:2: title changed from 'Privacy Policy' to 'Data Policy': if that is intended add 'retitled: true', otherwise restore the title"],
    ),
    "file in the wrong place": (
        {"content/privacy/2026-01-01.md": GOOD, "content/notes.md": "x", "content/privacy/old/2025-01-01.md": GOOD,
         "content/Privacy Policy/2026-01-01.md": GOOD, "content/privacy/latest.md": GOOD},
        [
            "content/Privacy Policy/2026-01-01.md:1: policy folder 'Privacy Policy' must be lowercase letters, digits and hyphens, e.g. 'privacy' or 'terms-of-service'",
            "content/notes.md:1: files directly in content/ are not read: put each version at content/<policy>/<YYYY-MM-DD>.md",
            "content/privacy/latest.md:1: file name 'latest.md' must be the effective date, e.g. 2026-04-01.md",
            "content/privacy/old/2025-01-01.md:1: policies have no subfolders: move this file to content/<policy>/<YYYY-MM-DD>.md",
        ],
    ),
    "policy folder named like the site's own pages": (
        {"content/privacy/2026-01-01.md": GOOD, "content/changelog/2026-01-01.md": GOOD, "content/assets/2026-01-01.md": GOOD},
        [
            "content/assets/2026-01-01.md:1: policy folder 'assets' has the name of the site's own stylesheet and images folder: rename the folder, e.g. 'assets-policy'",
            "content/changelog/2026-01-01.md:1: policy folder 'changelog' has the name of the site's own changelog page: rename the folder, e.g. 'changelog-policy'",
        ],
    ),
    "level-1 heading": (
        {"content/privacy/2026-01-01.md": version("2026-01-01", body="# Privacy Policy\n\n## 1. Section\n\nText.\n")},
        ["content/privacy/2026-01-01.md:6: a level-1 heading ('# …') is not allowed: the page title comes from 'title'; use '## ' for sections"],
    ),
    "unknown setting placeholder": (
        {"content/privacy/2026-01-01.md": version("2026-01-01", body="Text.\n\nCall {{ phone }}.\n")},
        ["content/privacy/2026-01-01.md:8: unknown setting {{ phone }}: policy text can use {{ contact_email }}"],
    ),
}


@pytest.mark.parametrize("files,expected", CASES.values(), ids=CASES.keys())
def test_error_message(project, cli, files, expected):
    project(files)
    assert errors_of(cli) == expected


UNSAFE_BODY = """\
## 1. Section

Fine text with [a link to another site](https://example.org/) is allowed.

<script>document.cookie = "a=b"</script>

<p onclick="steal()">Click</p>

[Run](javascript:alert(1))

<iframe src="https://example.org/embed"></iframe>

![logo](https://cdn.example.org/logo.png)

<img srcset="https://cdn.example.org/a.png 2x" alt="">

<video poster="https://cdn.example.org/p.jpg"></video>

<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Inter">

<style>@import url("https://example.org/x.css");</style>

<span style="background: url(https://example.org/x.png)">styled</span>

![ref image][logo]

<object data="https://example.org/x.swf"></object>

<embed src="https://example.org/x.swf">

<a href="/" ping="https://tracker.example.org/">ping</a>

[logo]: https://cdn.example.org/ref.png
"""


def test_unsafe_content_is_reported_with_lines(project, cli):
    project({"content/privacy/2026-01-01.md": version("2026-01-01", body=UNSAFE_BODY)})
    path = "content/privacy/2026-01-01.md"
    assert errors_of(cli) == [
        f"{path}:10: raw <script> is not allowed in a policy: remove it (the site's only script is the analytics tracker, added by the template)",
        f"{path}:12: event handler attribute 'onclick' is not allowed: remove it (pages run no inline script)",
        f"{path}:14: 'javascript:' URLs are not allowed in href=: link to a real page instead",
        f"{path}:16: <iframe> is not allowed: link to the page instead",
        f"{path}:18: img loads 'https://cdn.example.org/logo.png' from another site: copy the file into templates/assets/ (each file there, not in a subfolder, is published as /assets/<file name>) and use /assets/<file name>, e.g. ![what it shows](/assets/seal.png); or link to it instead",
        f"{path}:20: img loads 'https://cdn.example.org/a.png 2x' from another site: copy the file into templates/assets/ (each file there, not in a subfolder, is published as /assets/<file name>) and use /assets/<file name>, e.g. ![what it shows](/assets/seal.png); or link to it instead",
        f"{path}:22: video loads 'https://cdn.example.org/p.jpg' from another site: copy the file into the site or link to it instead",
        f"{path}:24: <link> is not allowed in content: styles come from the site's stylesheet",
        f"{path}:26: <style> is not allowed in content: put styles in templates/assets/*.css",
        f"{path}:28: inline style attributes are blocked by the Content-Security-Policy: use a class and templates/assets/*.css",
        f"{path}:32: <object> is not allowed: link to the document instead",
        f"{path}:34: <embed> is not allowed: link to the document instead",
        f"{path}:36: <a ping> would report clicks to another server: remove the ping attribute",
        f"{path}:38: img loads 'https://cdn.example.org/ref.png' from another site: copy the file into templates/assets/ (each file there, not in a subfolder, is published as /assets/<file name>) and use /assets/<file name>, e.g. ![what it shows](/assets/seal.png); or link to it instead",
    ]


ALLOW_LIST_BODY = """\
## 1. Section

Text with a [link](https://example.org/) and a [mail](mailto:privacy@example.com).

<svg viewBox="0 0 10 10">
<filter id="f"><feImage href="https://evil.example/i.png"/></filter>
<use href="https://evil.example/s.svg#a"/>
<image xlink:href="//evil.example/p.png"/>
</svg>

<p><a href="jav&#x61;script:alert(1)">click</a></p>

[Run](jav&#x61;script:alert(2))

<p><marquee>old</marquee></p>

<p contenteditable="true">odd</p>

<details><summary>More</summary><math><mi xlink:href="javascript:alert(3)">m</mi></math></details>
"""


def test_content_html_is_judged_by_an_allow_list_at_its_source_lines(project, cli):
    """SVG resources and markup that no deny-list named were caught only by the output audit,
    at a `_site/` line, or not at all; an entity-encoded `javascript:` got line 1."""
    project({"content/privacy/2026-01-01.md": version("2026-01-01", body=ALLOW_LIST_BODY)})
    path = "content/privacy/2026-01-01.md"
    fix = "use Markdown, or the HTML a policy needs (README, 'What the text may contain')"
    loads = "from another site: copy the file into the site or link to it instead"
    assert errors_of(cli) == [
        f"{path}:10: <svg> is not allowed in a policy: {fix}",
        f"{path}:11: feimage loads 'https://evil.example/i.png' {loads}",
        f"{path}:12: use loads 'https://evil.example/s.svg#a' {loads}",
        f"{path}:13: image loads '//evil.example/p.png' {loads}",
        f"{path}:16: 'javascript:' URLs are not allowed in href=: link to a real page instead",
        f"{path}:18: 'javascript:' URLs are not allowed in href=: link to a real page instead",
        f"{path}:20: <marquee> is not allowed in a policy: {fix}",
        f"{path}:22: attribute 'contenteditable' is not allowed on <p> in a policy: remove it",
        f"{path}:24: 'javascript:' URLs are not allowed in xlink:href=: link to a real page instead",
        f"{path}:24: <math> is not allowed in a policy: {fix}",
    ]


def test_a_bare_body_or_html_tag_is_refused_at_its_line(project, cli):
    """A stray <body> or <html> start tag passed the content check when it had no attributes
    (libxml2 drops it); it is refused at its line like one with attributes."""
    body = "## 1. Section\n\n<body>\n<p>a</p>\n\n<html>\n<p>b</p>\n"
    project({"content/privacy/2026-01-01.md": version("2026-01-01", body=body)})
    path = "content/privacy/2026-01-01.md"
    fix = "use Markdown, or the HTML a policy needs (README, 'What the text may contain')"
    assert errors_of(cli) == [
        f"{path}:8: <body> is not allowed in a policy: {fix}",
        f"{path}:11: <html> is not allowed in a policy: {fix}",
    ]


WORDS_FIRST_BODY = """\
## 1. Section

We never put javascript: links in a policy, nor jav&#x61;script: ones.

Click [here](&#106;avascript:alert(1)) for more.

<p><a href="&#106;avascript:alert(2)">raw</a> and <a href="&#x6A;ava&#x09;script&colon;alert(2)">tab</a></p>

<p><a
  href="&#106;avascript:alert(3)">split tag</a></p>
"""


def test_an_encoded_javascript_link_is_reported_at_its_own_line(project, cli):
    """Issue 15: the line was that of the first mention of 'javascript:' anywhere (here prose)."""
    project({"content/privacy/2026-01-01.md": version("2026-01-01", body=WORDS_FIRST_BODY)})
    path = "content/privacy/2026-01-01.md"
    message = "'javascript:' URLs are not allowed in href=: link to a real page instead"
    assert errors_of(cli) == [f"{path}:10: {message}", f"{path}:12: {message}", f"{path}:15: {message}"]


def test_an_external_image_error_says_where_local_images_go_and_that_advice_works(project, cli, tmp_path):
    import shutil

    body = "## 1. Section\n\n![Our seal](https://cdn.example.org/seal.png)\n"
    project({"content/privacy/2026-01-01.md": version("2026-01-01", body=body)})
    assert errors_of(cli) == [
        "content/privacy/2026-01-01.md:8: img loads 'https://cdn.example.org/seal.png' from another site: copy the file "
        "into templates/assets/ (each file there, not in a subfolder, is published as /assets/<file name>) and use "
        "/assets/<file name>, e.g. ![what it shows](/assets/seal.png); or link to it instead"]
    # Following it: the file in templates/assets/ is published at /assets/seal.png and the page shows it.
    (tmp_path / "templates").unlink()
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
    (tmp_path / "templates/assets/seal.png").write_bytes(png)
    (tmp_path / "content/privacy/2026-01-01.md").write_text(
        version("2026-01-01", body=body.replace("https://cdn.example.org/seal.png", "/assets/seal.png")))
    code, _, err = cli("build", "--as-of", "2026-06-15")
    assert code == 0, err
    assert (tmp_path / "_site/assets/seal.png").read_bytes() == png
    assert '<img alt="Our seal" src="/assets/seal.png">' in (tmp_path / "_site/privacy/index.html").read_text()


def test_all_errors_of_all_files_are_reported_and_nothing_is_written(project, cli, tmp_path):
    project({
        "content/privacy/2026-01-01.md": version("2026-01-01", author="x"),
        "content/terms/2026-01-01.md": version('"2026-01-01"'),
    })
    code, out, err = cli("build", "--as-of", "2026-06-15")
    assert code == 1
    assert err.splitlines() == [
        "content/privacy/2026-01-01.md:4: unknown field 'author': allowed fields are title, effective, summary, draft, date_precision, retitled, non_material",
        "content/terms/2026-01-01.md:3: effective '2026-01-01' is not a date: write it as YYYY-MM-DD without quotes, e.g. 'effective: 2026-04-01'",
        "2 problems found; nothing was written. Fix them and run the command again.",
    ]
    assert not (tmp_path / "_site").exists()


def test_duplicate_dates(project, cli):
    project({
        "content/privacy/2026-01-01.md": GOOD,
        "content/privacy/2026-01-02.md": version("2026-01-01"),
    })
    assert errors_of(cli) == [
        "content/privacy/2026-01-02.md:3: effective 2026-01-01 does not match the file name 2026-01-02.md: rename the file to 2026-01-01.md or fix the date",
    ]


def test_editor_leftovers_are_ignored(project, cli):
    project({
        "content/privacy/2026-01-01.md": GOOD,
        "content/privacy/.2026-01-01.md.swp": b"\x00binary",
        "content/privacy/2026-01-01.md~": "old",
        "content/.DS_Store": b"\x00",
    })
    code, out, err = cli("check", "--as-of", "2026-06-15")
    assert (code, err) == (0, "warning: site.toml: contact_email is not set: pages show a highlighted placeholder where the address belongs\nwarning: site.toml: base_url is the placeholder https://legal.1vy.example: set the real address before publishing\n")
    assert out.startswith("ok: 1 policy, 1 version, 6 pages, 16 files in ")


def test_draft_may_have_an_empty_summary_and_is_left_out_of_production(project, cli, tmp_path):
    project({
        "content/privacy/2026-01-01.md": GOOD,
        "content/privacy/2026-07-01.md": version("2026-07-01", summary='""', draft="true"),
    })
    assert cli("build", "--as-of", "2026-06-15")[0] == 0
    assert not (tmp_path / "_site/privacy/2026-07-01").exists()
    assert cli("build", "--as-of", "2026-06-15", "--drafts")[0] == 0
    page = (tmp_path / "_site/privacy/2026-07-01/index.html").read_text()
    assert "<strong>Draft.</strong>" in page
    assert '<meta name="robots" content="noindex">' in page


FRONT_MATTERS = [
    "title: Privacy Policy\neffective: 2026-01-01\nsummary: [oops\n",
    "title: Privacy Policy\neffective: 2026-02-30\n",
    "title: x\ntitle: y\neffective: 2026-01-01 10:00:00\n",
    "title: 'unclosed\n",
    "title: a: b\n",
    "- a list\n- not a mapping\n",
    "\t title: tab\n",
    "title: Privacy\nsummary: >\n  folded\n  text\ndraft: yes\n",
    "title: \"caf\\u00e9 \\x41\"\neffective: !!str 2026-01-01\n",
    "title: &a x\nsummary: *a\n",
    "? [complex]\n: key\n",
    "%YAML 1.1\n---\ntitle: x\n",
    "title: x\n---\nsecond: document\n",
    "title:\tPrivacy\n", "effective:\t2026-01-01\n", "summary: [a,\tb]\n", "title:\t'x'\n",
    "summary: >#note\n  Text\n", "title: !\n", "? a\ntitle: x\n",
    "",
]


@pytest.mark.parametrize("fm", FRONT_MATTERS)
def test_front_matter_reads_the_same_with_libyaml_as_without(fm, monkeypatch):
    """Where PyYAML has libyaml, its parser is used; values, lines and every error's wording
    must be what the pure-Python parser gives."""
    import yaml

    from legalsite import front_matter as content  # the front matter's reader, split from content.py

    if not getattr(yaml, "__with_libyaml__", False):
        pytest.skip("PyYAML without libyaml: only the pure-Python parser is there")

    def read():
        errors = []
        meta, lines = content.parse_front_matter(fm, lambda line, message: errors.append((line, message)))
        return meta, lines, errors

    assert content._FAST_LOADER is yaml.CSafeLoader
    fast = read()
    monkeypatch.setattr(content, "_FAST_LOADER", yaml.SafeLoader)
    assert fast == read()


def test_angle_brackets_in_an_attribute_are_refused_at_their_line(project, cli):
    """reading.py finds headings and tables in the page by their tags: an attribute holding
    '<table>' would be taken for one and the page's markup broken (found in review)."""
    body = "## 1. Data\n\nText.\n\n<p title=\"a <table> b </table> c\">Hover.</p>\n"
    project({"content/privacy/2026-01-01.md": version("2026-01-01", body=body)})
    path = "content/privacy/2026-01-01.md"
    line = 1 + version("2026-01-01", body=body).splitlines().index('<p title="a <table> b </table> c">Hover.</p>')
    assert errors_of(cli) == [
        f"{path}:{line}: attribute 'title' on <p> contains '<' or '>': a policy's attributes need no angle "
        "brackets; remove them"]
