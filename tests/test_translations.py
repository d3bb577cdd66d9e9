"""Issue 17: translations (content/<policy>/<date>.<lang>.md) that can never silently go stale.

Every fixture here is TEST TEXT, not a translation of any 1vy policy: the "German" and
"French" bodies say so in plain words. The sites are written into tmp_path.
"""

from __future__ import annotations

import hashlib
import json

import pytest

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


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def translation(source: str, lang: str, summary: str = "", title: str = "Testtitel") -> str:
    line = f"summary: {summary}\n" if summary else ""
    return (
        f"---\ntitle: {title}\n{line}translates: sha256:{sha(source)}\n---\n\n"
        f"## 1. Testabschnitt\n\nTEST TEXT ({lang}), not a translation of any policy.\n"
    )


def base(**extra: str) -> dict[str, str]:
    return {
        "site.toml": SITE,
        "content/privacy/2026-01-01.md": V1,
        "content/privacy/2026-05-01.md": V2,
        "content/privacy/2026-08-01.md": V3,
        **extra,
    }


def lock_all(cli) -> None:
    code, _, err = cli("lock", "--as-of", "2026-04-01")
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
