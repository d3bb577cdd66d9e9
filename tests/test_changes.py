"""What changed: redline pages, the diff command, feeds, versions.json, notice period and the lock."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from conftest import FIXTURE, FIXTURE_DAY, REPO
from legalsite.pipeline import Project, render

ATOM = "{http://www.w3.org/2005/Atom}"


def fixture_files(day: str = FIXTURE_DAY, drafts: bool = False) -> dict[str, bytes]:
    project = Project.at(REPO, content=FIXTURE / "content", settings=FIXTURE / "site.toml", lock=FIXTURE / "versions.lock")
    return render(project, dt.date.fromisoformat(day), drafts).files


def test_a_redline_page_for_every_version_after_the_first_linked_from_history_and_changelog():
    files = {k: v.decode() for k, v in fixture_files().items() if k.endswith((".html", ".xml", ".json"))}
    assert sorted(k for k in files if "/changes/" in k) == [
        "privacy/2026-05-01/changes/index.html", "privacy/2026-08-01/changes/index.html"]
    page = files["privacy/2026-08-01/changes/index.html"]
    assert "<strong>Summary:</strong> We name the processors we use." in page
    assert '<a href="../../../privacy/2026-05-01/"><time datetime="2026-05-01">1 May 2026</time></a> (in force)' in page
    assert '<h2 class="rl-heading"><ins><span class="visually-hidden">inserted: </span>2. Who processes it</ins>' in page
    for listing in ("privacy/history/index.html", "changelog/index.html"):
        assert 'privacy/2026-08-01/changes/"' in files[listing]
        assert 'privacy/2026-05-01/changes/"' in files[listing]


def test_feeds_have_stable_ids_and_list_upcoming_versions():
    files = fixture_files()
    for path in ("feed.xml", "privacy/feed.xml", "terms/feed.xml"):
        ET.fromstring(files[path])  # well-formed
    feed = ET.fromstring(files["privacy/feed.xml"])
    ids = [e.findtext(f"{ATOM}id") for e in feed.iter(f"{ATOM}entry")]
    assert ids == ["tag:legal.example.com,2026:privacy/2026-08-01", "tag:legal.example.com,2026:privacy/2026-05-01",
                   "tag:legal.example.com,2026:privacy/2026-01-01"]
    # The same ids on another day and after the upcoming version took effect.
    later = ET.fromstring(fixture_files("2026-09-15")["privacy/feed.xml"])
    assert [e.findtext(f"{ATOM}id") for e in later.iter(f"{ATOM}entry")] == ids
    site_feed = ET.fromstring(files["feed.xml"])
    assert len(list(site_feed.iter(f"{ATOM}entry"))) == 4


def test_feeds_are_valid_atom():
    atomcheck = pytest.importorskip("atomcheck", reason="tests/atomcheck.py is the RFC 4287 validator")
    import tempfile
    from pathlib import Path
    files = fixture_files()
    with tempfile.TemporaryDirectory() as folder:
        for name in ("feed.xml", "privacy/feed.xml", "terms/feed.xml"):
            path = Path(folder) / name.replace("/", "-")
            path.write_bytes(files[name])
            assert atomcheck.validate_atom(path) == [], name


def test_versions_json_is_valid_and_hashes_are_right():
    files = fixture_files()
    data = json.loads(files["versions.json"])
    schema = json.loads(files["schemas/versions-1.schema.json"])
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(data)
    privacy = data["policies"][0]
    assert [(v["effective"], v["status"]) for v in privacy["versions"]] == [
        ("2026-01-01", "superseded"), ("2026-05-01", "in force"), ("2026-08-01", "upcoming")]
    assert privacy["in_force"] == "2026-05-01"
    for version in privacy["versions"]:
        source = (FIXTURE / "content/privacy" / f"{version['effective']}.md").read_bytes()
        assert version["source_sha256"] == hashlib.sha256(source).hexdigest()
        page = files[f"privacy/{version['effective']}/index.html"]
        assert version["page_sha256"] == hashlib.sha256(page).hexdigest()
    assert data["$schema"] == "https://legal.example.com/schemas/versions-1.schema.json"


def test_schema_rejects_a_broken_index():
    files = fixture_files()
    data = json.loads(files["versions.json"])
    schema = json.loads(files["schemas/versions-1.schema.json"])
    data["policies"][0]["versions"][0]["status"] = "in-force"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)


# --- diff ------------------------------------------------------------------------------

V1 = "---\ntitle: Privacy Policy\neffective: 2026-01-01\n---\n\n## 1. Logs\n\nWe may keep logs for 90 days.\n"
V2 = "---\ntitle: Privacy Policy\neffective: 2026-03-01\nsummary: Shorter logs.\n---\n\n## 1. Logs\n\nWe might keep logs for 30 days.\n"
V3 = "---\ntitle: Privacy Policy\neffective: 2026-09-01\nsummary: ''\ndraft: true\n---\n\n## 1. Logs\n\nWe might keep logs for 7 days.\n"


def test_diff_defaults_to_newest_against_in_force_as_text(project, cli):
    project({"content/privacy/2026-01-01.md": V1, "content/privacy/2026-03-01.md": V2, "content/privacy/2026-09-01.md": V3})
    code, out, err = cli("diff", "privacy", "--text", "--as-of", "2026-06-15")
    assert (code, err) == (0, "")
    assert out == ("Privacy Policy: content/privacy/2026-03-01.md -> content/privacy/2026-09-01.md\n"
                   "1 changed, 0 added, 0 removed, 0 moved sections; 1 word inserted, 1 deleted\n\n"
                   "= 1. Logs (changed)\n    We might keep logs for [-30-]{+7+} days.\n".replace("= 1. Logs", "~ 1. Logs"))


def test_diff_writes_a_standalone_html_file(project, cli, tmp_path):
    project({"content/privacy/2026-01-01.md": V1, "content/privacy/2026-03-01.md": V2})
    code, out, _ = cli("diff", "privacy", "2026-01-01", "2026-03-01", "--as-of", "2026-06-15")
    assert (code, out) == (0, "_diff/privacy-2026-01-01-to-2026-03-01.html\n")
    html = (tmp_path / "_diff/privacy-2026-01-01-to-2026-03-01.html").read_text()
    assert "<style>" in html and "<link" not in html, "must open from disk without the site"
    assert "<del><span class=\"visually-hidden\">deleted: </span>may</del>" in html
    assert "<ins><span class=\"visually-hidden\">inserted: </span>might</ins>" in html


def test_diff_errors(project, cli):
    project({"content/privacy/2026-01-01.md": V1})
    assert cli("diff", "terms", "--as-of", "2026-06-15") == (1, "", "error: no policy 'terms' in content/: known policies are privacy\n")
    assert cli("diff", "privacy", "2025-01-01", "--as-of", "2026-06-15") == (
        1, "", "error: privacy has no version of 2025-01-01: its versions are 2026-01-01\n")
    assert cli("diff", "privacy", "--as-of", "2026-06-15") == (
        1, "", "error: privacy has only one version before 2026-01-01: nothing to compare it with\n")


# --- notice period ------------------------------------------------------------------------

def upcoming(effective: str, extra: str = "") -> str:
    return f"---\ntitle: Privacy Policy\neffective: {effective}\nsummary: Changed.\n{extra}---\n\nText.\n"


@pytest.mark.parametrize("effective,ok", [("2026-07-15", True), ("2026-07-14", False), ("2026-06-15", False)])
def test_notice_period_at_the_day_boundary(project, cli, effective, ok):
    """notice_days = 30 (default) and the build day is 2026-06-15."""
    project({"content/privacy/2026-01-01.md": V1, f"content/privacy/{effective}.md": upcoming(effective)})
    code, _, err = cli("check", "--as-of", "2026-06-15")
    if ok:
        assert code == 0, err
    else:
        days = (dt.date.fromisoformat(effective) - dt.date(2026, 6, 15)).days
        assert code == 1
        assert err.splitlines()[0] == (
            f"content/privacy/{effective}.md:3: privacy/{effective} takes effect {days} day{'s' if days != 1 else ''} after "
            "it is announced on 2026-06-15, less than the notice period of 30 days: choose 'effective: 2026-07-15' "
            "or later, or say why with 'notice_waived: <reason>'")


def test_a_version_in_force_on_the_build_day_with_a_waiver(project, cli, tmp_path):
    project({"content/privacy/2026-01-01.md": V1,
             "content/privacy/2026-06-15.md": upcoming("2026-06-15", "notice_waived: Ordered by the regulator on 2026-06-14\n")})
    code, out, err = cli("build", "--as-of", "2026-06-15")
    assert code == 0, err
    assert 'Effective: <time datetime="2026-06-15">' in (tmp_path / "_site/privacy/index.html").read_text()


def test_notice_counts_from_the_announcement_recorded_in_the_lock(project, cli):
    project({"content/privacy/2026-01-01.md": V1, "content/privacy/2026-08-01.md": upcoming("2026-08-01")})
    assert cli("lock", "--as-of", "2026-06-15")[0] == 0  # announced 47 days ahead
    # Six weeks later the build still accepts it: the notice ran from the announcement.
    assert cli("check", "--as-of", "2026-07-31")[0] == 0


# --- the lock ------------------------------------------------------------------------------

def test_lock_records_published_versions_and_check_fails_until_it_does(project, cli, tmp_path):
    project({"content/privacy/2026-01-01.md": V1, "content/privacy/2026-03-01.md": V2,
             "content/privacy/2026-09-01.md": V3})
    assert cli("lock", "--check", "--as-of", "2026-06-15") == (
        1, "", "versions.lock is out of date: not yet locked: privacy/2026-01-01, privacy/2026-03-01. "
               "Run 'python build.py lock' and commit the file.\n")
    assert cli("lock", "--as-of", "2026-06-15") == (
        0, "locked privacy/2026-01-01\nlocked privacy/2026-03-01\nversions.lock: 2 versions locked; commit it\n", "")
    lock = json.loads((tmp_path / "versions.lock").read_text())
    assert lock == {"format": 1, "versions": {
        "privacy/2026-01-01": {"sha256": hashlib.sha256(V1.encode()).hexdigest()},
        "privacy/2026-03-01": {"sha256": hashlib.sha256(V2.encode()).hexdigest()}}}
    assert cli("lock", "--check", "--as-of", "2026-06-15") == (0, "versions.lock is up to date (2 versions locked)\n", "")


def test_tampering_fails_the_build_until_corrected(project, cli, tmp_path):
    project({"content/privacy/2026-01-01.md": V1, "content/privacy/2026-03-01.md": V2})
    assert cli("lock", "--as-of", "2026-06-15")[0] == 0
    assert cli("build", "--as-of", "2026-06-15")[0] == 0
    published = (tmp_path / "_site/privacy/2026-03-01/index.html").read_bytes()
    (tmp_path / "content/privacy/2026-03-01.md").write_text(V2.replace("30 days", "300 days"))

    code, _, err = cli("build", "--as-of", "2026-06-16")
    assert code == 1
    assert err.splitlines()[0] == (
        "content/privacy/2026-03-01.md:1: the published text of privacy/2026-03-01 changed after it was locked in "
        "versions.lock: undo the edit and publish it as a new version (python build.py new privacy), or record a "
        "correction: python build.py lock --correct privacy/2026-03-01 --note \"what was corrected and why\"")
    assert (tmp_path / "_site/privacy/2026-03-01/index.html").read_bytes() == published, "tampered text reached the site"
    assert cli("lock", "--as-of", "2026-06-16")[0] == 1, "plain lock must not bless a tampered text"

    assert cli("lock", "--correct", "privacy/2026-03-01", "--as-of", "2026-06-16") == (
        1, "", "error: --correct needs --note \"what was corrected and why\" (readers see it)\n")
    assert cli("lock", "--correct", "privacy/2026-03-01", "--note", "Fixed a typo in the retention period.",
               "--as-of", "2026-06-16") == (0, "versions.lock: recorded the correction of privacy/2026-03-01 on 2026-06-16\n", "")
    lock = json.loads((tmp_path / "versions.lock").read_text())
    entry = lock["versions"]["privacy/2026-03-01"]
    assert entry["sha256"] == hashlib.sha256(V2.encode()).hexdigest(), "the original hash is kept"
    assert entry["corrections"] == [{"date": "2026-06-16", "note": "Fixed a typo in the retention period.",
                                     "sha256": hashlib.sha256(V2.replace("30 days", "300 days").encode()).hexdigest()}]

    assert cli("build", "--as-of", "2026-06-16")[0] == 0
    page = (tmp_path / "_site/privacy/2026-03-01/index.html").read_text()
    assert '<strong>Corrected on <time datetime="2026-06-16">16 June 2026</time>:</strong> Fixed a typo in the retention period.' in page
    feed = (tmp_path / "_site/privacy/feed.xml").read_text()
    assert "Corrected on 16 June 2026: Fixed a typo in the retention period." in feed
    assert "<updated>2026-06-16T00:00:00Z</updated>" in feed


def test_a_locked_version_cannot_disappear(project, cli, tmp_path):
    project({"content/privacy/2026-01-01.md": V1, "content/privacy/2026-03-01.md": V2})
    assert cli("lock", "--as-of", "2026-06-15")[0] == 0
    (tmp_path / "content/privacy/2026-03-01.md").unlink()
    code, _, err = cli("check", "--as-of", "2026-06-15")
    assert code == 1
    assert err.splitlines()[0] == ("versions.lock:1: privacy/2026-03-01 is published but content/privacy/2026-03-01.md "
                                   "is missing: restore the file from git (a published version cannot be withdrawn silently)")
