"""Issue 17: translations (content/<policy>/<date>.<lang>.md) that can never silently go stale.

Every fixture here is TEST TEXT, not a translation of any 1vy policy: the "German" and
"French" bodies say so in plain words. The sites are written into tmp_path.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from atomcheck import validate_atom
from conftest import FIXTURE, REPO

V1 = """\
---
title: Privacy Policy
effective: 2026-01-01
---

## 1. What we collect

We collect your email address.
"""
V2 = """\
---
title: Privacy Policy
effective: 2026-05-01
summary: Logs are kept for 30 days.
---

## 1. What we collect

We collect your email address. Logs are kept for 30 days.
"""
V3 = """\
---
title: Privacy Policy
effective: 2026-08-01
summary: We name our processors.
---

## 1. What we collect

We collect your email address. Logs are kept for 30 days. We name our processors.
"""
SITE = """\
[site]
name = "Example"
base_url = "https://legal.example.com"
contact_email = "privacy@example.com"
languages = ["de", "fr"]
"""
DAY = "2026-06-15"


@pytest.fixture(autouse=True)
def fixture_world(wall_clock):
    """``lock`` refuses a day before the real one: these tests lock in 2026-06-15's world."""


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def translation(source: str, lang: str, summary: str = "", title: str = "Testtitel") -> str:
    line = f"summary: {summary}\n" if summary else ""
    return (
        f"---\ntitle: {title}\n{line}translates: sha256:{sha(source)}\n---\n\n"
        f"## 1. Testabschnitt\n\nTEST TEXT ({lang}), not a translation of any policy.\n"
    )


def base(**extra: str) -> dict[str, str]:
    """The English versions, with a versions.lock as the notice rule wants it: the versions in
    force imported (test history), the upcoming one published on 2026-04-01; no translations."""
    files = {
        "site.toml": SITE,
        "content/privacy/2026-01-01.md": V1,
        "content/privacy/2026-05-01.md": V2,
        "content/privacy/2026-08-01.md": V3,
        **extra,
    }
    entries = {}
    for path, text in files.items():
        name = path.rsplit("/", 1)[-1]
        if path.startswith("content/") and name.count(".") == 1 and "draft: true" not in text:
            key = path.removeprefix("content/").removesuffix(".md")
            past = key.rsplit("/", 1)[1] <= "2026-05-01"
            entries[key] = {"sha256": sha(text), **({"imported": "Test history."} if past else {"published": "2026-04-01"})}
    return {"versions.lock": json.dumps({"format": 2, "versions": entries}, indent=2), **files}


def lock_all(cli) -> None:
    code, _, err = cli("lock", "--as-of", DAY)
    assert code == 0, err


# -- sources --------------------------------------------------------------------------------


def test_new_lang_starts_a_draft_from_the_version_in_force(project, cli, tmp_path, monkeypatch):
    project(base())
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1781481600")  # 2026-06-15
    code, out, err = cli("new", "privacy", "--lang", "de")
    assert (code, out, err) == (0, "content/privacy/2026-05-01.de.md\n", "")
    assert (tmp_path / "content/privacy/2026-05-01.de.md").read_text() == (
        "---\ntitle: Privacy Policy\nsummary: Logs are kept for 30 days.\n"
        f"translates: sha256:{sha(V2)}\ndraft: true\n---\n\n"
        "## 1. What we collect\n\nWe collect your email address. Logs are kept for 30 days.\n"
    )
    code, out, _ = cli("new", "privacy", "--lang", "fr", "--effective", "2026-01-01")
    assert (code, out) == (0, "content/privacy/2026-01-01.fr.md\n")
    assert "summary" not in (tmp_path / "content/privacy/2026-01-01.fr.md").read_text()
    assert cli("check", "--drafts", "--as-of", DAY)[0] == 0
    assert cli("new", "privacy", "--lang", "it") == (
        1, "", "error: 'it' is not one of the site's languages (de, fr): add it to [site] languages in site.toml first\n")
    assert cli("new", "privacy", "--lang", "de") == (
        1, "", "error: content/privacy/2026-05-01.de.md already exists: edit it\n")
    assert cli("new", "privacy", "--lang", "de", "--effective", "2026-02-02") == (
        1, "", "error: there is no version content/privacy/2026-02-02.md to translate\n")


def test_every_wrong_translation_is_a_file_line_error(project, cli):
    project(base(**{
        "content/privacy/2026-05-01.fr.md": translation(V2, "fr", "Test.").replace("title:", "colour: red\ntitle:"),
        "content/privacy/2026-03-01.de.md": translation(V2, "de", "Test."),
        "content/privacy/2026-05-01.it.md": translation(V2, "it", "Test."),
        "content/privacy/2026-05-01.de.md": translation(V1, "de", "Test."),
        "content/privacy/2026-08-01.de.md": translation(V3, "de", "Test.").replace(sha(V3), "0" * 64),
        "content/privacy/2026-01-01.fr.md": translation(V1, "fr").replace(f"sha256:{sha(V1)}", "sha1:abc"),
        "content/privacy/2026-08-01.fr.md": translation(V3, "fr"),
        "content/privacy/2026-01-01.de.md": translation(V1, "de", "Test."),
    }))
    code, out, err = cli("check", "--as-of", DAY)
    assert code == 1 and out == ""
    assert err.splitlines()[:-1] == [
        "content/privacy/2026-01-01.de.md:1: summary: privacy/2026-01-01 has no summary: remove it",
        "content/privacy/2026-01-01.fr.md:3: translates must name the English text translated, "
        "'translates: sha256:<64 hex digits>' (python build.py new privacy --lang fr --effective 2026-01-01 fills it in)",
        "content/privacy/2026-03-01.de.md:1: there is no version privacy/2026-03-01 to translate: a translation is "
        "named after the date of its English version, content/privacy/<date>.de.md",
        f"content/privacy/2026-05-01.de.md:4: translates sha256:{sha(V1)[:12]}… is not a text of privacy/2026-05-01 "
        f"(it is the text of privacy/2026-01-01: rename the file to 2026-01-01.de.md); the text now is sha256:{sha(V2)}",
        "content/privacy/2026-05-01.fr.md:2: unknown field 'colour': a translation has title, summary, translates, draft",
        "content/privacy/2026-05-01.it.md:1: language 'it' is not one of the site's languages (de, fr): "
        "add it to [site] languages in site.toml, or rename the file",
        "content/privacy/2026-08-01.de.md:4: translates sha256:000000000000… is not a text of privacy/2026-08-01 "
        f"(it matches no text of any version); the text now is sha256:{sha(V3)}",
        "content/privacy/2026-08-01.fr.md:1: summary: privacy/2026-08-01 has a summary: translate it as 'summary: …'",
    ]


def test_a_translations_body_is_checked_as_a_versions_is(project, cli):
    """The body of a translation goes through the same checks as an English version's
    (content.render_checked): the same messages, each at the line of what it names."""
    body = translation(V2, "de", "Test.") + (
        "\nWrite to {{ contact_mail }}.\n\n# Titel\n\nA [harmless link](https://example.org/) and\n"
        "![seal](https://example.org/seal.png \"https://example.org/seal.png\").\n\n"
        "Links starting javascript: are refused.\n\n[Run](javascript:alert(1))\n"
    )
    project(base(**{"content/privacy/2026-05-01.de.md": body}))
    code, out, err = cli("check", "--as-of", DAY)
    assert code == 1 and out == ""
    assert err.splitlines()[:-1] == [
        "content/privacy/2026-05-01.de.md:11: unknown setting {{ contact_mail }}: policy text can use "
        "{{ contact_email }}",
        "content/privacy/2026-05-01.de.md:13: a level-1 heading ('# …') is not allowed: the page title "
        "comes from 'title'; use '## ' for sections",
        "content/privacy/2026-05-01.de.md:16: img loads 'https://example.org/seal.png' from another site: "
        "copy the file into templates/assets/ (each file there, not in a subfolder, is published as "
        "/assets/<file name>) and use /assets/<file name>, e.g. ![what it shows](/assets/seal.png); "
        "or link to it instead",
        "content/privacy/2026-05-01.de.md:20: 'javascript:' URLs are not allowed in href=: link to a real "
        "page instead",  # the link's line, not line 18's words
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('["de", "de"]', "languages: 'de' is listed twice: keep one"),
        ('["en"]', "languages: 'en' is the site's own language ([site] language): remove it"),
        ('["german"]', "languages: 'german' is not a BCP 47 language tag as written on the web: use e.g. \"de\", \"fr\", \"pt-BR\" or \"zh-Hant\""),
        ('["xx"]', "languages: 'xx' is not a language Babel knows: check the tag"),
        ('"de"', 'languages must be a list of language tags, e.g. languages = ["de", "fr"]'),
    ],
)
def test_languages_are_bcp47_tags(project, cli, value, message):
    project(base(**{"site.toml": SITE.replace('["de", "fr"]', value)}))
    code, _, err = cli("check", "--as-of", DAY)
    assert code == 1
    assert err.splitlines()[0] == f"site.toml:5: {message}"


# -- staleness --------------------------------------------------------------------------------


def warnings_of(err: str) -> list[str]:
    return [
        line.removeprefix("warning: ")
        for line in err.splitlines()
        if line.startswith("warning: content/")
    ]


def test_check_lists_stale_missing_and_upcoming(project, cli):
    project(base(**{
        # de: current for the version in force; fr: only a translation of the superseded version
        "content/privacy/2026-05-01.de.md": translation(V2, "de", "Testzusammenfassung."),
        "content/privacy/2026-01-01.fr.md": translation(V1, "fr"),
    }))
    code, _, err = cli("check", "--as-of", DAY)
    assert code == 0, err
    assert warnings_of(err) == [
        "content/privacy/2026-08-01.md: privacy/2026-08-01 takes effect in 47 days and has no de translation: "
        "python build.py new privacy --lang de --effective 2026-08-01",
        "content/privacy/2026-01-01.fr.md: stale: translates privacy/2026-01-01, but privacy/2026-05-01 is in force "
        "since 2026-05-01: translate it (python build.py new privacy --lang fr --effective 2026-05-01)",
        "content/privacy/2026-08-01.md: privacy/2026-08-01 takes effect in 47 days and has no fr translation: "
        "python build.py new privacy --lang fr --effective 2026-08-01",
    ]


def test_a_missing_translation_is_a_warning(project, cli):
    project(base(**{"content/privacy/2026-05-01.de.md": translation(V2, "de", "Test.")}))
    _, _, err = cli("check", "--as-of", DAY)
    assert "content/privacy: missing: no fr translation of privacy/2026-05-01 (in force): python build.py new privacy --lang fr --effective 2026-05-01" in warnings_of(err)


def test_a_correction_in_the_lock_makes_translations_stale(project, cli, tmp_path):
    project(base(**{"content/privacy/2026-05-01.de.md": translation(V2, "de", "Test.")}))
    lock_all(cli)
    assert "privacy/2026-05-01.de" in json.loads((tmp_path / "versions.lock").read_text())["versions"]
    corrected = V2.replace("30 days.", "30 days (corrected).")
    (tmp_path / "content/privacy/2026-05-01.md").write_text(corrected)
    assert cli("lock", "--as-of", DAY, "--correct", "privacy/2026-05-01", "--note", "Fixed a typo.")[0] == 0
    code, _, err = cli("check", "--as-of", DAY)
    assert code == 0, err
    assert (
        "content/privacy/2026-05-01.de.md: stale: translates an earlier text of privacy/2026-05-01 "
        f"(corrected on {DAY}: Fixed a typo.): update the translation and set 'translates: sha256:{sha(corrected)}'"
    ) in warnings_of(err)


def test_the_lock_covers_translations(project, cli, tmp_path):
    project(base(**{"content/privacy/2026-05-01.de.md": translation(V2, "de", "Test.")}))
    lock_all(cli)
    path = tmp_path / "content/privacy/2026-05-01.de.md"
    path.write_text(path.read_text().replace("TEST TEXT", "EDITED TEST TEXT"))
    code, _, err = cli("check", "--as-of", DAY)
    assert code == 1
    assert err.splitlines()[0] == (
        "content/privacy/2026-05-01.de.md:1: the published text of privacy/2026-05-01.de changed after it was "
        'locked in versions.lock: record it: python build.py lock --correct privacy/2026-05-01.de --note "what changed and why"'
    )
    assert cli("lock", "--as-of", DAY, "--correct", "privacy/2026-05-01.de", "--note", "Wording.")[0] == 0
    assert cli("check", "--as-of", DAY)[0] == 0
    path.unlink()
    code, _, err = cli("check", "--as-of", DAY)
    assert err.splitlines()[0] == (
        "versions.lock:1: privacy/2026-05-01.de is published but content/privacy/2026-05-01.de.md is missing: "
        "restore the file from git (a published translation cannot be withdrawn silently)"
    )


# -- pages --------------------------------------------------------------------------------


def built(cli, tmp_path, *extra: str) -> dict[str, str]:
    code, _, err = cli("build", "--as-of", DAY, "--out", "_site", *extra)
    assert code == 0, err
    site = tmp_path / "_site"
    return {p.relative_to(site).as_posix(): p.read_text() for p in site.rglob("*") if p.is_file()}


def page(html: str):
    from lxml import html as lxml_html

    return lxml_html.fromstring(html)


def banner(tree) -> str:
    found = tree.xpath('//p[@id="stale-translation"]')
    return " ".join(found[0].text_content().split()) if found else ""


def robots(tree) -> list[str]:
    return tree.xpath('//meta[@name="robots"]/@content')


def hreflang(tree) -> dict[str, str]:
    links = {link.get("hreflang"): link.get("href") for link in tree.xpath("//link[@hreflang]")}
    if links:  # the site's own language is the default
        assert links.pop("x-default") == next(iter(links.values()))
    return links


def test_pages_of_current_and_stale_translations(project, cli, tmp_path):
    project(base(**{
        "content/privacy/2026-05-01.de.md": translation(V2, "de", "Testzusammenfassung."),  # current
        "content/privacy/2026-01-01.fr.md": translation(V1, "fr"),  # stale: a newer version in force
    }))
    files = built(cli, tmp_path)
    url = "https://legal.example.com/"
    de = page(files["de/privacy/index.html"])
    assert de.get("lang") == "de" and robots(de) == [] and banner(de) == ""
    assert de.xpath("//link[@rel='canonical']/@href") == [f"{url}de/privacy/"]
    assert " ".join(de.xpath('//p[@role="note"]')[0].text_content().split()) == (
        "Dies ist eine Übersetzung. Maßgeblich ist die englische Fassung: Privacy Policy.")
    assert de.xpath("//h1/text()") == ["Testtitel"]
    assert de.xpath('//p[@class="policy-meta"]/span')[0].text_content() == "Gültig seit: 1. Mai 2026"
    assert de.xpath('//a[@class="skip-link"]/text()') == ["Zum Inhalt springen"]
    # hreflang both ways, the site's own language first; the switcher is plain links
    assert hreflang(de) == {"en": f"{url}privacy/", "de": f"{url}de/privacy/", "fr": f"{url}fr/privacy/"}
    english = page(files["privacy/index.html"])
    assert english.get("lang") == "en" and hreflang(english) == hreflang(de)
    assert english.xpath('//details[summary="Language"]//a/@href') == ["../privacy/", "../de/privacy/", "../fr/privacy/"]
    assert hreflang(page(files["privacy/2026-05-01/index.html"])) == {
        "en": f"{url}privacy/2026-05-01/", "de": f"{url}de/privacy/2026-05-01/"}
    assert hreflang(page(files["privacy/2026-08-01/index.html"])) == {}
    # the French translation is of the superseded version: stale, noindex, a banner in French
    for path, root in (("fr/privacy/index.html", "../../"), ("fr/privacy/2026-01-01/index.html", "../../../")):
        fr = page(files[path])
        assert fr.get("lang") == "fr" and robots(fr) == ["noindex"]
        assert banner(fr) == (
            "Cette traduction est périmée. Elle traduit la version du 1 janvier 2026. La version qui fait foi "
            "est la version anglaise, en vigueur depuis le 1 mai 2026 : Privacy Policy.")
        assert fr.xpath('//p[@id="stale-translation"]/a/@href') == [f"{root}privacy/"]
    assert page(files["fr/privacy/history/index.html"]).xpath("//tbody//td[1]/text()") == ["Périmée"]
    assert "de/privacy/2026-01-01/index.html" not in files  # no translation, no page


def test_a_correction_makes_every_page_of_the_translation_stale(project, cli, tmp_path):
    project(base(**{"content/privacy/2026-05-01.de.md": translation(V2, "de", "Testzusammenfassung.")}))
    lock_all(cli)
    (tmp_path / "content/privacy/2026-05-01.md").write_text(V2.replace("30 days.", "30 days (corrected)."))
    assert cli("lock", "--as-of", DAY, "--correct", "privacy/2026-05-01", "--note", "Typo.")[0] == 0
    files = built(cli, tmp_path)
    for path in ("de/privacy/index.html", "de/privacy/2026-05-01/index.html"):
        tree = page(files[path])
        assert robots(tree) == ["noindex"]
        assert banner(tree) == (
            "Diese Übersetzung ist veraltet. Sie übersetzt die Fassung vom 1. Mai 2026 in ihrem Stand vor einer "
            "Korrektur des englischen Textes. Maßgeblich ist die englische Fassung, gültig seit 1. Mai 2026: "
            "Privacy Policy.")
    listed = json.loads(files["versions.json"])
    assert listed["schema_version"] == 2 and listed["$schema"].endswith("schemas/versions-2.schema.json")
    assert [(t["lang"], t["effective"], t["status"]) for t in listed["translations"]] == [("de", "2026-05-01", "stale")]


def test_versions_json_lists_translations_with_their_status(project, cli, tmp_path):
    import jsonschema

    project(base(**{
        "content/privacy/2026-05-01.de.md": translation(V2, "de", "Test."),
        "content/privacy/2026-08-01.de.md": translation(V3, "de", "Test."),
        "content/privacy/2026-01-01.fr.md": translation(V1, "fr"),
    }))
    files = built(cli, tmp_path)
    data = json.loads(files["versions.json"])
    jsonschema.validate(data, json.loads(files["schemas/versions-2.schema.json"]),
                        format_checker=jsonschema.FormatChecker())
    assert [(t["lang"], t["effective"], t["status"], t["translates_sha256"]) for t in data["translations"]] == [
        ("fr", "2026-01-01", "stale", sha(V1)),
        ("de", "2026-05-01", "current", sha(V2)),
        ("de", "2026-08-01", "upcoming", sha(V3)),
    ]
    upcoming = page(files["de/privacy/2026-08-01/index.html"])
    assert robots(upcoming) == ["noindex"] and banner(upcoming) == ""
    assert upcoming.xpath('//p[@role="note"]/strong/text()') == ["Noch nicht in Kraft."]


def test_without_translations_nothing_changes(project, cli, tmp_path):
    project(base(**{"site.toml": SITE.replace('languages = ["de", "fr"]\n', "")}))
    files = built(cli, tmp_path)
    assert not any(path.startswith(("de/", "fr/")) for path in files)
    assert json.loads(files["versions.json"])["schema_version"] == 1
    assert "schemas/versions-2.schema.json" not in files
    assert "hreflang" not in files["privacy/index.html"]


def test_a_missing_message_is_a_build_error(project, cli, tmp_path):
    project(base(**{"content/privacy/2026-05-01.de.md": translation(V2, "de", "Test.")}))
    templates = tmp_path / "templates"
    templates.unlink()
    import shutil

    shutil.copytree(REPO / "templates", templates)
    po = templates / "locale/de/LC_MESSAGES/messages.po"
    po.write_text(po.read_text().replace('msgstr "Zum Inhalt springen"', 'msgstr ""'))
    code, _, err = cli("build", "--as-of", DAY, "--out", "_site")
    assert code == 1 and not (tmp_path / "_site").exists()
    assert err.splitlines()[0] == (
        "templates/locale/de/LC_MESSAGES/messages.po:1: missing translation of 'Skip to main content' "
        "(used in templates/base.html:32): add it to the catalogue (msgid and msgstr), without a fuzzy flag")
    po.unlink()
    code, _, err = cli("build", "--as-of", DAY, "--out", "_site")
    assert err.splitlines()[0] == (
        "templates/locale/de/LC_MESSAGES/messages.po:1: no catalogue for de: create it with 'pybabel init -i "
        "templates/locale/messages.pot -d templates/locale -l de' and translate every message")


def test_the_translated_fixture_site(tmp_path):
    """tests/fixtures/translated (also built by the HTML checker and the browser suite):
    current, upcoming, stale-by-new-version, stale-by-correction and missing translations."""
    import datetime as dt

    from legalsite.pipeline import Project, build, warnings

    root = FIXTURE.with_name("translated")
    result = build(Project.at(REPO, content=root / "content", settings=root / "site.toml"), tmp_path / "out",
                   dt.date.fromisoformat(DAY))
    data = json.loads((tmp_path / "out/versions.json").read_text())
    assert [(t["policy"], t["effective"], t["lang"], t["status"]) for t in data["translations"]] == [
        ("privacy", "2026-01-01", "fr", "stale"),
        ("privacy", "2026-05-01", "de", "current"),
        ("privacy", "2026-08-01", "de", "upcoming"),
        ("terms", "2026-02-01", "de", "stale"),
    ]
    assert "vor einer Korrektur des englischen Textes" in (tmp_path / "out/de/terms/index.html").read_text()
    prefix = "tests/fixtures/translated/"
    found = [w.removeprefix(prefix) for w in warnings(result.site) if w.startswith(prefix)]
    assert [w.split(": ")[0] + ": " + w.split(": ")[1] for w in found] == [
        "content/privacy/2026-01-01.fr.md: stale",
        "content/privacy/2026-08-01.md: privacy/2026-08-01 takes effect in 47 days and has no fr translation",
        "content/terms/2026-02-01.de.md: stale",
        "content/terms: missing",
    ]
    for path in (root / "content").rglob("*.??.md"):
        assert "TEST TEXT" in path.read_text(), f"{path}: fixtures say plainly that they are test text"


def test_feeds_and_sitemap_per_language(project, cli, tmp_path):
    project(base(**{
        "content/privacy/2026-05-01.de.md": translation(V2, "de", "Testzusammenfassung."),
        "content/privacy/2026-01-01.fr.md": translation(V1, "fr"),
    }))
    files = built(cli, tmp_path)
    for name in ("de/privacy/feed.xml", "fr/privacy/feed.xml"):
        assert validate_atom(tmp_path / "_site" / name) == [], name
    feed = files["de/privacy/feed.xml"]
    assert '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="de">' in feed
    assert page(files["de/privacy/index.html"]).xpath("//link[@type='application/atom+xml']/@href")[-1] == (
        "../../de/privacy/feed.xml")
    assert "<id>tag:legal.example.com,2026:privacy/2026-05-01.de</id>" in feed
    assert "<title>Testtitel: Fassung vom 1. Mai 2026</title>" in feed
    assert "Diese Übersetzung ist aktuell." in feed
    assert "Cette traduction est périmée." in files["fr/privacy/feed.xml"]
    # only current translations are indexable: the French one is stale
    sitemap = files["sitemap.xml"]
    assert "https://legal.example.com/de/privacy/</loc>" in sitemap
    assert "https://legal.example.com/de/privacy/history/</loc>" in sitemap
    assert "/fr/" not in sitemap


def test_the_preview_shows_a_translations_errors_on_its_pages(project, tmp_path):
    """An error in a translation shows on its language's pages of that policy (and the
    English ones); other pages keep the last good build."""
    import io

    from legalsite.pipeline import Project
    from legalsite.preview import Preview

    project(base(**{"content/privacy/2026-05-01.de.md": translation(V2, "de", "Test."),
                    "content/terms/2026-01-01.md": V1.replace("Privacy Policy", "Terms")}))
    preview = Preview(Project.at(tmp_path), as_of=dt_day(), out=io.StringIO(), err=io.StringIO())
    assert preview.rebuild().files is not None
    path = tmp_path / "content/privacy/2026-05-01.de.md"
    path.write_text(path.read_text().replace("title:", "colour: red\ntitle:"))
    outcome = preview.rebuild()
    assert [str(e) for e in outcome.errors] == [
        "content/privacy/2026-05-01.de.md:2: unknown field 'colour': a translation has title, summary, translates, draft"]
    assert preview.state.error_scope == frozenset({"privacy/", "de/privacy/"})
    shown = preview.lookup("/de/privacy/")
    assert shown.status == 500 and b"colour" in shown.body  # the preview's error page
    assert preview.lookup("/terms/").status == 200  # another policy: the last good build


def dt_day():
    import datetime as dt

    return dt.date.fromisoformat(DAY)


def test_a_translation_of_an_english_draft_is_not_locked(project, cli, tmp_path):
    draft = V3.replace("summary:", "draft: true\nsummary:")
    project(base(**{"content/privacy/2026-08-01.md": draft,
                    "content/privacy/2026-08-01.de.md": translation(draft, "de", "Test.")}))
    lock_all(cli)
    locked = json.loads((tmp_path / "versions.lock").read_text())["versions"]
    assert "privacy/2026-08-01" not in locked and "privacy/2026-08-01.de" not in locked
    files = built(cli, tmp_path)
    assert "de/privacy/2026-08-01/index.html" not in files  # nor published


def test_a_catalogue_edit_rebuilds_through_the_store(project, cli, tmp_path):
    """The catalogues are part of the templates: a cached rebuild after an edit shows it."""
    import shutil

    project(base(**{"content/privacy/2026-05-01.de.md": translation(V2, "de", "Test.")}))
    (tmp_path / "templates").unlink()
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    args = ("build", "--as-of", DAY, "--out", "_site", "--cache", ".cache")
    assert cli(*args)[0] == 0
    assert cli(*args)[1].startswith("up to date")
    po = tmp_path / "templates/locale/de/LC_MESSAGES/messages.po"
    po.write_text(po.read_text().replace('msgstr "Zum Inhalt springen"', 'msgstr "Zum Inhalt"'))
    code, out, err = cli(*args)
    assert code == 0 and out.startswith("built"), err
    assert '<a class="skip-link" href="#main">Zum Inhalt</a>' in (tmp_path / "_site/de/privacy/index.html").read_text()


def test_redlines_per_language(project, cli, tmp_path):
    """A translation's redline against the previous translation into the same language, in
    that language: its labels and screen-reader words come from the catalogue too."""
    import shutil

    newer = translation(V3, "de", "Test.").replace("TEST TEXT (de)", "TEST TEXT (de), revised")
    project(base(**{"content/privacy/2026-05-01.de.md": translation(V2, "de", "Test."),
                    "content/privacy/2026-08-01.de.md": newer}))
    files = built(cli, tmp_path)
    tree = page(files["de/privacy/2026-08-01/changes/index.html"])
    assert tree.get("lang") == "de"
    assert tree.xpath('//span[@class="rl-label"]')[0].text_content() == "(geändert)"
    assert tree.xpath("//ins/span/text()") == ["eingefügt: "]
    assert " ".join(tree.xpath('//p[@class="rl-stats"]')[0].text_content().split()) == (
        "Abschnitte: 1 geändert, 0 hinzugefügt, 0 entfernt, 0 verschoben. Wörter: 1 eingefügt, 0 gelöscht.")
    assert "de/privacy/2026-05-01/changes/index.html" not in files  # the first translation
    assert page(files["de/privacy/2026-08-01/index.html"]).xpath('//p[@class="policy-summary"]/a/@href') == [
        "../../../de/privacy/2026-08-01/changes/"]
    # a redline word missing from the catalogue stops the build
    (tmp_path / "templates").unlink()
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    po = tmp_path / "templates/locale/de/LC_MESSAGES/messages.po"
    po.write_text(po.read_text().replace('msgstr "Fußnoten"', 'msgstr ""'))
    code, _, err = cli("build", "--as-of", DAY, "--out", "_site")
    assert code == 1
    assert err.splitlines()[0] == (
        "templates/locale/de/LC_MESSAGES/messages.po:1: missing translation of 'Footnotes' (a redline's words, "
        "legalsite/redline.py): add it to the catalogue (msgid and msgstr), without a fuzzy flag")
