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

pytestmark = pytest.mark.usefixtures("wall_clock")  # lock runs in the fixture's world

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


def imported_v2(cli) -> None:
    assert cli("lock", "--import", "privacy/2026-03-01", "--note", "Published before this site.", "--as-of", "2026-06-15")[0] == 0


def test_diff_defaults_to_newest_against_in_force_as_text(project, cli):
    project({"content/privacy/2026-01-01.md": V1, "content/privacy/2026-03-01.md": V2, "content/privacy/2026-09-01.md": V3})
    imported_v2(cli)
    code, out, err = cli("diff", "privacy", "--text", "--as-of", "2026-06-15")
    assert (code, err) == (0, "")
    assert out == ("Privacy Policy: content/privacy/2026-03-01.md -> content/privacy/2026-09-01.md\n"
                   "1 changed, 0 added, 0 removed, 0 moved sections; 1 word inserted, 1 deleted\n\n"
                   "= 1. Logs (changed)\n    We might keep logs for [-30-]{+7+} days.\n".replace("= 1. Logs", "~ 1. Logs"))


def test_diff_writes_a_standalone_html_file(project, cli, tmp_path):
    project({"content/privacy/2026-01-01.md": V1, "content/privacy/2026-03-01.md": V2})
    imported_v2(cli)
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


NOT_LOCKED = "(the day of this build: it is not in versions.lock yet)"
NON_MATERIAL_FIX = "; if readers lose nothing by the change, say why with 'non_material: <reason>'"


def import_fix(key: str) -> str:
    return (f"; if it was published before this site existed, record that: python build.py lock --import {key} "
            '--note "where and when it was published"')


@pytest.mark.parametrize("effective,ok", [("2026-07-15", True), ("2026-07-14", False), ("2026-06-16", False)])
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
            f"content/privacy/{effective}.md:3: privacy/{effective} takes effect on {effective}, {days} day{'s' if days != 1 else ''} "
            f"after it is announced on 2026-06-15 {NOT_LOCKED}, less than the notice period of 30 days: "
            f"choose 'effective: 2026-07-15' or later{NON_MATERIAL_FIX}")


@pytest.mark.parametrize("effective,late", [("2026-06-15", "0 days after"), ("2026-06-14", "1 day before"),
                                            ("2026-03-01", "106 days before")])
def test_a_backdated_version_is_not_published_without_notice(project, cli, tmp_path, effective, late):
    """Issue 15: a version dated today or earlier used to count as announced and went out at once."""
    project({"content/privacy/2026-01-01.md": V1, f"content/privacy/{effective}.md": upcoming(effective)})
    message = (f"content/privacy/{effective}.md:3: privacy/{effective} takes effect on {effective}, {late} it is "
               f"announced on 2026-06-15 {NOT_LOCKED}, less than the notice period of 30 days: choose "
               f"'effective: 2026-07-15' or later{NON_MATERIAL_FIX}{import_fix(f'privacy/{effective}')}")
    for command in ("build", "check", "lock"):
        code, out, err = cli(command, "--as-of", "2026-06-15")
        assert (code, err.splitlines()[0]) == (1, message), command
    assert not (tmp_path / "_site").exists(), "nothing is written"
    assert not (tmp_path / "versions.lock").exists(), "a version without notice is never locked"


def test_the_lock_counts_notice_from_the_day_a_version_was_first_published(project, cli, tmp_path):
    project({"content/privacy/2026-01-01.md": V1, "content/privacy/2026-08-01.md": upcoming("2026-08-01")})
    assert cli("lock", "--as-of", "2026-06-15") == (
        0, "locked privacy/2026-01-01\nlocked privacy/2026-08-01\nversions.lock: 2 versions locked; commit it\n", "")
    lock = json.loads((tmp_path / "versions.lock").read_text())
    assert lock["format"] == 2 and lock["versions"]["privacy/2026-08-01"]["published"] == "2026-06-15"
    # Six weeks later the build still accepts it: the notice ran from the first publication.
    assert cli("check", "--as-of", "2026-07-31")[0] == 0
    assert cli("build", "--as-of", "2026-08-02")[0] == 0
    # A lock that says it was published later (edited by hand) is held to that day.
    lock["versions"]["privacy/2026-08-01"]["published"] = "2026-07-10"
    (tmp_path / "versions.lock").write_text(json.dumps(lock))
    code, _, err = cli("check", "--as-of", "2026-08-02")
    assert (code, err.splitlines()[0]) == (1, (
        "content/privacy/2026-08-01.md:3: privacy/2026-08-01 takes effect on 2026-08-01, 22 days after it is announced "
        "on 2026-07-10 (first published, versions.lock), less than the notice period of 30 days: versions.lock was "
        "edited by hand; restore it from git (the day a version was first published is recorded by 'python build.py "
        "lock' and never changes)"))


def test_a_non_material_change_needs_no_notice_and_says_so(project, cli, tmp_path):
    reason = "Corrected the spelling of our processor's name."
    project({"content/privacy/2026-01-01.md": V1,
             "content/privacy/2026-06-14.md": upcoming("2026-06-14", f"non_material: {reason}\n")})
    assert cli("build", "--as-of", "2026-06-15")[0] == 0
    assert cli("lock", "--as-of", "2026-06-15") == (
        0, f"locked privacy/2026-01-01\nlocked privacy/2026-06-14 (not material: {reason})\n"
           "versions.lock: 2 versions locked; commit it\n", "")
    entry = json.loads((tmp_path / "versions.lock").read_text())["versions"]["privacy/2026-06-14"]
    assert (entry["published"], entry["non_material"]) == ("2026-06-15", reason)
    assert cli("build", "--as-of", "2026-06-15")[0] == 0
    history = (tmp_path / "_site/privacy/history/index.html").read_text()
    assert ("<td>Changed.<br><strong>Not a material change</strong> (no notice period): "
            "Corrected the spelling of our processor&#39;s name.</td>") in history
    feed = (tmp_path / "_site/privacy/feed.xml").read_text()
    assert "<summary>Changed. (Not a material change: no notice period.)</summary>" in feed
    assert ("&lt;p&gt;Not a material change (no notice period): Corrected the spelling of our processor&amp;#39;s "
            "name.&lt;/p&gt;") in feed
    assert "Not a material change" not in (tmp_path / "_site/privacy/2026-01-01/index.html").read_text()


@pytest.mark.parametrize("value,line", [("''", 5), ("yes", 5), ("[a]", 5)])  # empty, a boolean, a list
def test_non_material_must_give_a_reason(project, cli, value, line):
    project({"content/privacy/2026-01-01.md": V1,
             "content/privacy/2026-06-14.md": upcoming("2026-06-14", f"non_material: {value}\n")})
    code, _, err = cli("check", "--as-of", "2026-06-15")
    assert (code, err.splitlines()[0]) == (1, (
        f"content/privacy/2026-06-14.md:{line}: non_material must say why readers lose nothing by this change (it then "
        "takes effect without the notice period), e.g. 'non_material: Corrected the spelling of our processor's name'"))


def test_the_old_waiver_is_gone(project, cli):
    project({"content/privacy/2026-01-01.md": V1,
             "content/privacy/2026-06-15.md": upcoming("2026-06-15", "notice_waived: Ordered by the regulator\n")})
    code, _, err = cli("check", "--as-of", "2026-06-15")
    assert (code, err.splitlines()[0]) == (1, (
        "content/privacy/2026-06-15.md:5: unknown field 'notice_waived': a version takes effect before the notice "
        "period only when its change is not material: write 'non_material: <why readers lose nothing>' instead"))


def test_versions_published_before_the_site_are_imported_with_a_reason(project, cli, tmp_path):
    project({"content/privacy/2026-01-01.md": V1, "content/privacy/2026-03-01.md": V2,
             "content/privacy/2026-09-01.md": upcoming("2026-09-01")})
    assert cli("lock", "--import", "privacy/2026-03-01", "--as-of", "2026-06-15") == (
        1, "", 'error: --import needs --note "where and when it was published before this site" (kept in versions.lock)\n')
    assert cli("lock", "--import", "privacy/2026-09-01", "--note", "x", "--as-of", "2026-06-15") == (
        1, "", "error: privacy/2026-09-01 takes effect on 2026-09-01, after 2026-06-15: only a version already in force "
               "can predate the site; announce it instead (python build.py lock)\n")
    assert cli("lock", "--import", "privacy/2026-04-01", "--note", "x", "--as-of", "2026-06-15") == (
        1, "", "error: privacy/2026-04-01 is not a version in content/: use POLICY/DATE, e.g. privacy/2026-04-01\n")
    note = "Published on the old site on 2026-02-01 (archived copy in the legal drive)."
    assert cli("lock", "--import", "privacy/2026-03-01", "--note", note, "--as-of", "2026-06-15") == (
        0, f"imported privacy/2026-03-01: {note}\nversions.lock: 1 version locked; commit it\n", "")
    assert json.loads((tmp_path / "versions.lock").read_text())["versions"]["privacy/2026-03-01"] == {
        "imported": note, "sha256": hashlib.sha256(V2.encode()).hexdigest()}
    assert cli("lock", "--import", "privacy/2026-03-01", "--note", note, "--as-of", "2026-06-15") == (
        1, "", "error: privacy/2026-03-01 is already in versions.lock: there is nothing to import\n")
    assert cli("lock", "--as-of", "2026-06-15")[0] == 0
    assert cli("build", "--as-of", "2026-06-15")[0] == 0
    assert "Published on the old site" not in (tmp_path / "_site/privacy/history/index.html").read_text()


def test_a_format_1_lock_is_read_with_its_entries_locked_in_force_as_imported(project, cli, tmp_path):
    """The lock before issue 15 recorded no day for a version locked when in force: those entries
    count as imported, with a reason, and the next 'lock' writes it in format 2."""
    project({"content/privacy/2026-01-01.md": V1, "content/privacy/2026-03-01.md": V2,
             "content/privacy/2026-08-01.md": upcoming("2026-08-01"),
             "versions.lock": json.dumps({"format": 1, "versions": {
                 "privacy/2026-01-01": {"sha256": hashlib.sha256(V1.encode()).hexdigest()},
                 "privacy/2026-03-01": {"sha256": hashlib.sha256(V2.encode()).hexdigest()},
                 "privacy/2026-08-01": {"announced": "2026-06-15",
                                        "sha256": hashlib.sha256(upcoming("2026-08-01").encode()).hexdigest()}}})})
    assert cli("check", "--as-of", "2026-07-01")[0] == 0
    assert cli("lock", "--check", "--as-of", "2026-07-01")[0] == 0
    (tmp_path / "content/privacy/2026-09-01.md").write_text(upcoming("2026-09-01"))
    assert cli("lock", "--as-of", "2026-07-01")[0] == 0
    versions = json.loads((tmp_path / "versions.lock").read_text())["versions"]
    assert versions["privacy/2026-03-01"]["imported"] == (
        "in force when first locked, before versions.lock recorded announcements (format 1)")
    assert versions["privacy/2026-08-01"]["published"] == "2026-06-15"
    assert versions["privacy/2026-09-01"]["published"] == "2026-07-01"


def test_check_drafts_warns_when_a_draft_can_no_longer_get_its_notice(project, cli):
    project({"content/privacy/2026-01-01.md": V1, "content/privacy/2026-07-01.md": V3.replace("2026-09-01", "2026-07-01"),
             "content/privacy/2026-09-01.md": V3})
    code, _, err = cli("check", "--drafts", "--as-of", "2026-06-15")
    assert code == 0
    assert [line for line in err.splitlines() if "draft" in line] == [
        "warning: content/privacy/2026-07-01.md:3: the draft privacy/2026-07-01 can no longer meet the notice period "
        "of 30 days: published today (2026-06-15) it would take effect 16 days after it is announced; choose "
        "'effective: 2026-07-15' or later (rename the file to match)"]


# --- the lock ------------------------------------------------------------------------------

def test_lock_records_published_versions_and_check_fails_until_it_does(project, cli, tmp_path):
    published = V3.replace("draft: true\n", "").replace("summary: ''", "summary: Shorter logs.")
    project({"content/privacy/2026-01-01.md": V1, "content/privacy/2026-09-01.md": published,
             "content/privacy/2026-10-01.md": V3.replace("2026-09-01", "2026-10-01")})
    assert cli("lock", "--check", "--as-of", "2026-06-15") == (
        1, "", "versions.lock is out of date: not yet locked: privacy/2026-01-01, privacy/2026-09-01. "
               "Run 'python build.py lock' and commit the file.\n")
    assert cli("lock", "--as-of", "2026-06-15") == (
        0, "locked privacy/2026-01-01\nlocked privacy/2026-09-01\nversions.lock: 2 versions locked; commit it\n", "")
    lock = json.loads((tmp_path / "versions.lock").read_text())
    assert lock == {"format": 2, "versions": {
        "privacy/2026-01-01": {"notice_days": 30, "published": "2026-06-15",
                               "sha256": hashlib.sha256(V1.encode()).hexdigest()},
        "privacy/2026-09-01": {"notice_days": 30, "published": "2026-06-15",
                               "sha256": hashlib.sha256(published.encode()).hexdigest()}}}
    assert cli("lock", "--check", "--as-of", "2026-06-15") == (0, "versions.lock is up to date (2 versions locked)\n", "")


def test_tampering_fails_the_build_until_corrected(project, cli, tmp_path):
    project({"content/privacy/2026-01-01.md": V1, "content/privacy/2026-03-01.md": V2})
    assert cli("lock", "--import", "privacy/2026-03-01", "--note", "Published before this site.", "--as-of", "2026-06-15")[0] == 0
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
    assert cli("lock", "--import", "privacy/2026-03-01", "--note", "Published before this site.", "--as-of", "2026-06-15")[0] == 0
    assert cli("lock", "--as-of", "2026-06-15")[0] == 0
    (tmp_path / "content/privacy/2026-03-01.md").unlink()
    code, _, err = cli("check", "--as-of", "2026-06-15")
    assert code == 1
    assert err.splitlines()[0] == ("versions.lock:1: privacy/2026-03-01 is published but content/privacy/2026-03-01.md "
                                   "is missing: restore the file from git (a published version cannot be withdrawn silently)")


def test_a_version_newer_than_one_this_site_announced_cannot_be_imported(project, cli, tmp_path):
    """`lock --import` is for versions that predate the site: once the site has announced a
    version of a policy, a newer one cannot claim that, and the notice error no longer offers it."""
    project({"content/privacy/2026-01-01.md": V1})
    assert cli("lock", "--as-of", "2026-06-15")[0] == 0
    (tmp_path / "content/privacy/2026-06-20.md").write_text(upcoming("2026-06-20"))
    code, _, err = cli("check", "--as-of", "2026-07-01")
    assert code == 1 and "lock --import" not in err
    assert err.splitlines()[0].startswith(
        "content/privacy/2026-06-20.md:3: privacy/2026-06-20 takes effect on 2026-06-20, 11 days before it is announced")
    assert cli("lock", "--import", "privacy/2026-06-20", "--note", "x", "--as-of", "2026-07-01") == (
        1, "", "error: privacy/2026-06-20 cannot predate this site: privacy/2026-01-01, an older version of the same "
               "policy, was announced here on 2026-06-15; announce privacy/2026-06-20 with the notice period (python "
               "build.py lock), or mark it 'non_material: <reason>' if readers lose nothing by the change\n")
    assert "privacy/2026-06-20" not in json.loads((tmp_path / "versions.lock").read_text())["versions"]


def test_raising_notice_days_keeps_versions_announced_under_the_old_period(project, cli, tmp_path):
    """Each locked version keeps the notice period it was announced under: raising notice_days in
    site.toml applies to versions announced from then on, and never makes a published one late."""
    project({"content/privacy/2026-01-01.md": V1, "content/privacy/2026-08-01.md": upcoming("2026-08-01")})
    assert cli("lock", "--as-of", "2026-06-15")[0] == 0  # 47 days ahead of a 30-day period
    site_toml = (REPO / "tests/fixtures/site/site.toml").read_text()
    assert "notice_days = 30" in site_toml
    (tmp_path / "site.toml").write_text(site_toml.replace("notice_days = 30", "notice_days = 60"))
    assert cli("check", "--as-of", "2026-06-20")[0] == 0
    (tmp_path / "content/privacy/2026-09-01.md").write_text(upcoming("2026-09-01"))
    code, _, err = cli("check", "--as-of", "2026-06-20")  # 73 days ahead: enough for 60
    assert code == 0, err
    (tmp_path / "content/privacy/2026-08-10.md").write_text(upcoming("2026-08-10"))
    code, _, err = cli("check", "--as-of", "2026-06-20")  # 51 days: short of the new 60
    assert code == 1 and "less than the notice period of 60 days" in err


def test_lock_refuses_a_day_before_the_real_one(project, cli, tmp_path, monkeypatch):
    """The announcement day is the real one: `lock --as-of` (or SOURCE_DATE_EPOCH) in the past
    would record an earlier announcement and shorten the notice period (found in review)."""
    project({"content/privacy/2026-01-01.md": V1, "content/privacy/2026-07-01.md": upcoming("2026-07-01")})
    error = ("error: lock records today as the day versions are announced, so it cannot run as of 2026-05-01, "
             "before today (2026-06-15): drop --as-of and unset SOURCE_DATE_EPOCH\n")
    assert cli("lock", "--as-of", "2026-05-01") == (1, "", error)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1777593600")  # 2026-05-01 00:00 UTC
    assert cli("lock") == (1, "", error)
    assert not (tmp_path / "versions.lock").exists()
    assert cli("lock", "--check", "--as-of", "2026-05-01")[0] == 1  # checking is harmless: out of date
